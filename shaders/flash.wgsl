// Fused ("flash") softmax attention: out = softmax(mask((score(q', k') + bias) / T)) · v without
// ever storing the seq_q × seq_k weights (q', k' = q, k rotated by RoPE when it is on). The CPU
// twin is `attention::flash::attention_cpu`.
//
// Bindings (see src/gpu/kernel.rs):
//   0 p:     Params (uniform)
//   1 q:     f32, element (h, i, c) at q_off + h*q_hs + i*q_rs + c        (k, v alike)
//   2 k, 3 v
//   4 rope:  [max(seq_q, seq_k), head_dim/2, 2] (cos, sin) from positions::rope_table (RoPE only)
//   5 bias:  ALiBi: slopes [heads]; relative: b [seq_q + seq_k − 1] indexed by i − j + seq_k − 1
//   6 ex:    i32 scale exponents of q rows, k rows and v heads (row_exponents / v_exponents in
//            shaders/attention.wgsl): rows are loaded as x·2^−e so no product overflows, scores
//            and outputs saturate (shaders/finite.wgsl, prepended to this file)
//   7 out:   f32, in the output layout
//   8 state: [heads, seq_q, head_dim + 2] f32: acc, running max, running sum between dispatches
// Dispatch: (query blocks, heads, 1); workgroup = BLOCK_Q invocations. The keys are walked in
// chunks of CHUNK_TILES tiles, one dispatch per chunk [j_begin, j_end): a dispatch that is not the
// first resumes from `state`, one that is not the last saves to it, the last writes `out`. The
// first and last dispatches take every query block; the others only the blocks whose key range
// (attention::flash::key_range) meets the chunk, so masks skip work. Chunks bound the work of one dispatch (GPU watchdogs; Mesa llvmpipe silently drops
// dispatches whose workgroups loop over more than ~50 barrier-separated tiles). The f32 state
// round-trips exactly, so the result does not depend on the chunking.
// One invocation owns one query row: its q, running max, running sum and accumulator live in
// private memory. The workgroup stages a tile of BK keys and values in workgroup memory
// (2 × TILE_FLOATS f32 = 8 KiB, inside WebGPU's default 16 KiB), then each invocation scores the
// tile, rescales its accumulator once per tile by exp(m_old − m_new), and adds p · v.
//
// Written for compilers as much as for GPUs (measured on Mesa llvmpipe, where this shape made the
// kernel ~15× faster; it costs a real GPU nothing):
// - Rows are vec4s, zero-padded to D8 · 8 values (D8 = ceil(head_dim / 8), one pipeline per D8),
//   so every loop over a row has a constant trip count and unrolls; q and the accumulator stay in
//   registers. Zero padding changes no sum: a dot product adds the products of column c into lane
//   c mod 8, then the eight lanes in order, as the CPU twin does.
// - The tiles of a chunk and the keys of a tile are straight-line calls (tile(0u) …, score(r) for
//   constant r), not loops, and the hot path has no branches (masks, score kinds and positions
//   are selects): every workgroup-memory read then has a constant address outside control flow,
//   which llvmpipe turns into one scalar load and a broadcast; inside a loop or branch it loads
//   lane by lane (~30× the cost). A tile whose keys are all masked for a query, or that lies past
//   the block's key range, leaves that query's state bit-for-bit unchanged (correction 1,
//   weights 0), as the CPU twin skipping it does.

override BLOCK_Q: u32 = 64u;
override D8: u32 = 8u;            // ceil(head_dim / 8): a row is 2·D8 vec4s
override BK: u32 = 16u;           // keys per tile = attention::flash::block_k(head_dim)
const CHUNK_TILES: u32 = 4u;      // tiles per dispatch = attention::flash::GPU_CHUNK_TILES
const TILE_VEC4: u32 = 256u;      // TILE_FLOATS / 4
const MAX_ROW_VEC4: u32 = 32u;    // MAX_HEAD_DIM / 4
const MAX_BK: u32 = 32u;
const NEG_INF: f32 = -3.402823e38;

// Score kinds and mask kinds, as in src/gpu/flash.rs.
const SCORE_DOT: u32 = 0u;
const SCORE_SCALED_DOT: u32 = 1u;
const SCORE_COSINE: u32 = 2u;
const SCORE_NEG_SQ_DIST: u32 = 3u;
const MASK_NONE: u32 = 0u;
const MASK_CAUSAL: u32 = 1u;
const MASK_WINDOW: u32 = 2u;
const POS_NONE: u32 = 0u;
const POS_ROPE: u32 = 1u;
const POS_ALIBI: u32 = 2u;
const POS_RELATIVE: u32 = 3u;

struct Params {
    heads: u32, seq_q: u32, seq_k: u32, head_dim: u32,
    q_off: u32, q_hs: u32, q_rs: u32,
    k_off: u32, k_hs: u32, k_rs: u32,
    v_off: u32, v_hs: u32, v_rs: u32,
    o_off: u32, o_hs: u32, o_rs: u32,
    score: u32, mask: u32, window: u32,
    temperature: f32,
    positions: u32,
    j_begin: u32, j_end: u32,   // this dispatch's keys (multiples of BK, or seq_k)
    first: u32, last: u32,      // 1 when this dispatch starts / ends the walk over the keys
    block_begin: u32,           // the query block of workgroup 0
    temp_exp: i32,              // temperature = temperature (in [1, 2)) · 2^temp_exp
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> rope: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read> ex: array<i32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
@group(0) @binding(8) var<storage, read_write> state: array<f32>;

var<workgroup> k_tile: array<vec4<f32>, TILE_VEC4>;   // [BK, 2·D8] vec4
var<workgroup> v_tile: array<vec4<f32>, TILE_VEC4>;   // [BK, 2·D8] vec4
var<workgroup> k_norm: array<f32, MAX_BK>;            // ‖k_j‖ for cosine
var<workgroup> k_exp: array<i32, MAX_BK>;             // k row j is staged as k_j·2^−k_exp

// Columns 4·c4 … 4·c4 + 3 of a row starting at `at` in q, k, v or state, zero past head_dim (the
// reads past it stay inside the buffer or are clamped by WebGPU's bounds checks; select drops them).
fn pad(x: vec4<f32>, c4: u32) -> vec4<f32> {
    return select(vec4<f32>(0.0), x, 4u * c4 + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.head_dim));
}
fn load_q(at: u32, c4: u32) -> vec4<f32> { let e = at + 4u * c4; return pad(vec4<f32>(q[e], q[e + 1u], q[e + 2u], q[e + 3u]), c4); }
fn load_k(at: u32, c4: u32) -> vec4<f32> { let e = at + 4u * c4; return pad(vec4<f32>(k[e], k[e + 1u], k[e + 2u], k[e + 3u]), c4); }
fn load_v(at: u32, c4: u32) -> vec4<f32> { let e = at + 4u * c4; return pad(vec4<f32>(v[e], v[e + 1u], v[e + 2u], v[e + 3u]), c4); }
fn load_state(at: u32, c4: u32) -> vec4<f32> {
    let e = at + 4u * c4;
    return pad(vec4<f32>(state[e], state[e + 1u], state[e + 2u], state[e + 3u]), c4);
}

// x (columns 4·c4 … 4·c4 + 3 of position `pos`) rotated by RoPE: two (even, odd) pairs.
fn rotate(x: vec4<f32>, pos: u32, c4: u32) -> vec4<f32> {
    let pairs = p.head_dim / 2u;
    let t2 = 2u * c4;   // the first pair in x
    if (t2 >= pairs) { return x; }   // padding
    let cs = (pos * pairs + t2) * 2u;
    let c0 = rope[cs];
    let s0 = rope[cs + 1u];
    var r = vec4<f32>(x.x * c0 - x.y * s0, x.x * s0 + x.y * c0, x.z, x.w);
    if (t2 + 1u < pairs) {
        let c1 = rope[cs + 2u];
        let s1 = rope[cs + 3u];
        r.z = x.z * c1 - x.w * s1;
        r.w = x.z * s1 + x.w * c1;
    }
    return r;
}

// The eight lanes of a dot product (lane l = Σ over columns c ≡ l mod 8), summed in order.
fn lane_sum(a: vec4<f32>, b: vec4<f32>) -> f32 {
    return a.x + a.y + a.z + a.w + b.x + b.y + b.z + b.w;
}

// Whether key j may be seen by query i (attention::flash::allowed), without branches.
fn allowed(i: u32, j: u32) -> bool {
    let dist = max(i, j) - min(i, j);
    return (p.mask != MASK_CAUSAL || j <= i) && (p.mask != MASK_WINDOW || dist <= p.window);
}

// This invocation's state (private, so the straight-line helpers below can reach it).
var<private> qi: array<vec4<f32>, MAX_ROW_VEC4>;    // its query row (rotated by RoPE when on)
var<private> acc: array<vec4<f32>, MAX_ROW_VEC4>;   // unnormalized output
var<private> scores: array<f32, MAX_BK>;            // the current tile's scores
var<private> run_max: f32;
var<private> run_sum: f32;
var<private> tile_max: f32;
var<private> q_norm: f32;
var<private> q_e: i32;                              // the query row is held as q·2^−q_e
var<private> v_e: i32;                              // values are staged as v·2^−v_e
var<private> slope: f32;                            // ALiBi slope of this head
var<private> inv: u32;                              // local invocation index
var<private> head: u32;
var<private> query: u32;

// Score of key r of the tile starting at j0 (NEG_INF when masked or past the chunk).
fn score(j0: u32, r: u32) {
    if (r < BK) {   // constant once inlined
        let row = r * 2u * D8;
        let nsq = p.score == SCORE_NEG_SQ_DIST;
        let ek = k_exp[r];
        let big = max(q_e, ek);   // neg_sq_dist: both rows at the larger scale
        let fq = rescale_factor(q_e, big);
        let fk = rescale_factor(ek, big);
        var sa = vec4<f32>(0.0);
        var sb = vec4<f32>(0.0);
        for (var c8 = 0u; c8 < D8; c8++) {
            let ka = k_tile[row + 2u * c8];
            let kb = k_tile[row + 2u * c8 + 1u];
            let qa = qi[2u * c8];
            let qb = qi[2u * c8 + 1u];
            // dot: q · k; neg_sq_dist: (q − k) · (q − k), the CPU twin's products.
            let da = qa * fq - ka * fk;
            let db = qb * fq - kb * fk;
            sa += select(qa, da, nsq) * select(ka, da, nsq);
            sb += select(qb, db, nsq) * select(kb, db, nsq);
        }
        let raw = lane_sum(sa, sb);
        var s = score_sat(select(raw, raw / sqrt(f32(p.head_dim)), p.score == SCORE_SCALED_DOT), q_e + ek);
        s = select(s, -score_sat(raw, 2 * big), nsq);
        let norms = q_norm * k_norm[r];
        s = select(s, select(raw / norms, 0.0, norms == 0.0), p.score == SCORE_COSINE);
        let j = j0 + r;
        var b = 0.0;
        if (p.positions == POS_RELATIVE) { b = bias[query + p.seq_k - 1u - j]; }
        b = select(b, -slope * f32(max(query, j) - min(query, j)), p.positions == POS_ALIBI);
        let valid = j < p.j_end && allowed(query, j);
        let sc = select(NEG_INF, finish(s, b), valid);
        scores[r] = sc;
        tile_max = max(tile_max, sc);
    }
}

fn score4(j0: u32, r: u32) { score(j0, r); score(j0, r + 1u); score(j0, r + 2u); score(j0, r + 3u); }

// Adds key r's weighted value (weight 0 when masked: the CPU twin skips it, the same sums).
fn accumulate(r: u32, new_max: f32) {
    if (r < BK) {
        let w = select(0.0, exp(scores[r] - new_max), scores[r] > NEG_INF);
        run_sum += w;
        for (var c4 = 0u; c4 < 2u * D8; c4++) { acc[c4] += w * v_tile[r * 2u * D8 + c4]; }
    }
}

fn accumulate4(r: u32, new_max: f32) {
    accumulate(r, new_max); accumulate(r + 1u, new_max); accumulate(r + 2u, new_max); accumulate(r + 3u, new_max);
}

// Tile number `n` of this dispatch's chunk: stage it, score it, update the online softmax.
fn tile(n: u32) {
    let w4 = 2u * D8;
    let j0 = p.j_begin + n * BK;
    workgroupBarrier();   // the previous tile is no longer read
    // Keys past the chunk are staged as zeros: finite values that weigh 0.
    for (var e = inv; e < BK * w4; e += BLOCK_Q) {
        let r = e / w4;
        let c4 = e - r * w4;
        let j = j0 + r;
        var kx = vec4<f32>(0.0);
        var vx = vec4<f32>(0.0);
        var ek = 0;
        if (j < p.j_end) {
            ek = ex[p.heads * p.seq_q + head * p.seq_k + j];
            kx = ldexp(load_k(p.k_off + head * p.k_hs + j * p.k_rs, c4), vec4<i32>(-ek));
            // RoPE rotates each key as it is loaded (a vec4 holds whole pairs), after scaling.
            if (p.positions == POS_ROPE) { kx = rotate(kx, j, c4); }
            vx = ldexp(load_v(p.v_off + head * p.v_hs + j * p.v_rs, c4), vec4<i32>(-v_e));
        }
        k_tile[e] = kx;
        v_tile[e] = vx;
        if (c4 == 0u) { k_exp[r] = ek; }
    }
    workgroupBarrier();
    if (p.score == SCORE_COSINE) {   // uniform: the barrier stays in uniform control flow
        if (inv < BK) {
            var na = vec4<f32>(0.0);
            var nb = vec4<f32>(0.0);
            for (var c8 = 0u; c8 < D8; c8++) {
                let a = k_tile[inv * w4 + 2u * c8];
                let b = k_tile[inv * w4 + 2u * c8 + 1u];
                na += a * a;
                nb += b * b;
            }
            k_norm[inv] = sqrt(lane_sum(na, nb));
        }
        workgroupBarrier();
    }
    tile_max = NEG_INF;
    score4(j0, 0u); score4(j0, 4u); score4(j0, 8u); score4(j0, 12u);
    score4(j0, 16u); score4(j0, 20u); score4(j0, 24u); score4(j0, 28u);
    // tile_max stays NEG_INF when the whole tile is masked for this query: nothing changes.
    let new_max = max(run_max, tile_max);
    let correction = select(select(exp(run_max - new_max), 0.0, run_max == NEG_INF), 1.0, new_max == run_max);
    run_sum *= correction;
    for (var c4 = 0u; c4 < w4; c4++) { acc[c4] *= correction; }
    run_max = new_max;
    accumulate4(0u, new_max); accumulate4(4u, new_max); accumulate4(8u, new_max); accumulate4(12u, new_max);
    accumulate4(16u, new_max); accumulate4(20u, new_max); accumulate4(24u, new_max); accumulate4(28u, new_max);
}

@compute @workgroup_size(BLOCK_Q)
fn flash(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let d = p.head_dim;
    let w4 = 2u * D8;
    inv = t;
    head = wg.y;
    query = (wg.x + p.block_begin) * BLOCK_Q + t;
    // Invocations past the last query compute on clamped reads and write nothing; they still
    // help stage the tiles.
    let live = query < p.seq_q;
    let base = p.q_off + head * p.q_hs + query * p.q_rs;
    q_e = ex[head * p.seq_q + min(query, p.seq_q - 1u)];
    v_e = ex[p.heads * (p.seq_q + p.seq_k) + head];
    for (var c4 = 0u; c4 < w4; c4++) { qi[c4] = ldexp(load_q(base, c4), vec4<i32>(-q_e)); }
    if (p.positions == POS_ROPE) {
        for (var c4 = 0u; c4 < w4; c4++) { qi[c4] = rotate(qi[c4], query, c4); }
    }
    var na = vec4<f32>(0.0);
    var nb = vec4<f32>(0.0);
    for (var c8 = 0u; c8 < D8; c8++) {
        na += qi[2u * c8] * qi[2u * c8];
        nb += qi[2u * c8 + 1u] * qi[2u * c8 + 1u];
    }
    q_norm = sqrt(lane_sum(na, nb));
    slope = 0.0;
    if (p.positions == POS_ALIBI) { slope = bias[head]; }
    run_max = NEG_INF;
    run_sum = 0.0;
    for (var c4 = 0u; c4 < w4; c4++) { acc[c4] = vec4<f32>(0.0); }
    let state_base = ((head * p.seq_q) + query) * (d + 2u);
    if (live && p.first == 0u) {
        for (var c4 = 0u; c4 < w4; c4++) { acc[c4] = load_state(state_base, c4); }
        run_max = state[state_base + d];
        run_sum = state[state_base + d + 1u];
    }

    tile(0u); tile(1u); tile(2u); tile(3u);   // CHUNK_TILES

    // Rows are written column by column with constant indices into acc (a dynamic index would
    // push acc out of registers for the whole kernel).
    if (live && p.last == 0u) {
        for (var c4 = 0u; c4 < w4; c4++) {
            let c = state_base + 4u * c4;
            let a = acc[c4];
            if (4u * c4 < d) { state[c] = a.x; }
            if (4u * c4 + 1u < d) { state[c + 1u] = a.y; }
            if (4u * c4 + 2u < d) { state[c + 2u] = a.z; }
            if (4u * c4 + 3u < d) { state[c + 3u] = a.w; }
        }
        state[state_base + d] = run_max;
        state[state_base + d + 1u] = run_sum;
    }
    if (live && p.last == 1u) {
        // A row with every key masked gives a zero output, as on the unfused path.
        let scale = select(0.0, 1.0 / run_sum, run_sum > 0.0);
        let base = p.o_off + head * p.o_hs + query * p.o_rs;
        for (var c4 = 0u; c4 < w4; c4++) {
            let c = base + 4u * c4;
            let m = acc[c4] * scale;
            // Values were staged as v·2^−v_e: scale back, saturating.
            let a = vec4<f32>(scale_sat(m.x, v_e, 128, F32_MAX), scale_sat(m.y, v_e, 128, F32_MAX),
                              scale_sat(m.z, v_e, 128, F32_MAX), scale_sat(m.w, v_e, 128, F32_MAX));
            if (4u * c4 < d) { out[c] = a.x; }
            if (4u * c4 + 1u < d) { out[c + 1u] = a.y; }
            if (4u * c4 + 2u < d) { out[c + 2u] = a.z; }
            if (4u * c4 + 3u < d) { out[c + 3u] = a.w; }
        }
    }
}
