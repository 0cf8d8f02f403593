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
//   6 out:   f32, in the output layout
//   7 state: [heads, seq_q, head_dim + 2] f32: acc, running max, running sum between dispatches
// Dispatch: (ceil(seq_q / BLOCK_Q), heads, 1); workgroup = BLOCK_Q invocations. The keys are
// walked in chunks of whole tiles, one dispatch per chunk [j_begin, j_end): a dispatch that is not
// the first resumes from `state`, one that is not the last saves to it, the last writes `out`.
// Chunks bound the work of one dispatch (GPU watchdogs; Mesa llvmpipe silently drops dispatches
// whose workgroups loop over more than ~50 barrier-separated tiles). The f32 state round-trips
// exactly, so the result does not depend on the chunking.
// One invocation owns one query row: its q, running max, running sum and accumulator live in
// private memory. The workgroup stages a tile of BK keys and values in workgroup memory
// (2 × TILE_FLOATS f32 = 8 KiB, inside WebGPU's default 16 KiB), then each invocation scores the
// tile, rescales its accumulator once per tile by exp(m_old − m_new), and adds p · v.

override BLOCK_Q: u32 = 64u;
override BK: u32 = 16u;           // keys per tile = min(32, TILE_FLOATS / head_dim)
const TILE_FLOATS: u32 = 1024u;
const MAX_HEAD_DIM: u32 = 128u;
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
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> rope: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> state: array<f32>;

var<workgroup> k_tile: array<f32, TILE_FLOATS>;   // [BK, head_dim]
var<workgroup> v_tile: array<f32, TILE_FLOATS>;   // [BK, head_dim]
var<workgroup> k_norm: array<f32, MAX_BK>;        // ‖k_j‖ for cosine

// This invocation's query row (rotated by RoPE when on).
var<private> qi: array<f32, MAX_HEAD_DIM>;

// One term of a reduction over c: 0: qi·qi, 1: qi·k_tile row, 2: k_tile row·itself, 3: (qi − k_tile row)².
fn term(kind: u32, row: u32, c: u32) -> f32 {
    if (kind == 0u) { return qi[c] * qi[c]; }
    if (kind == 1u) { return qi[c] * k_tile[row + c]; }
    if (kind == 2u) { return k_tile[row + c] * k_tile[row + c]; }
    let diff = qi[c] - k_tile[row + c];
    return diff * diff;
}

// Σ_c term(c) over c < d, summed in eight interleaved lanes and then a tail, exactly in the
// order of the CPU twin's `dot` (so long sums round alike on both backends).
fn reduce(kind: u32, row: u32, d: u32) -> f32 {
    var lanes = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let main = d - d % 8u;
    for (var c = 0u; c < main; c += 8u) {
        for (var l = 0u; l < 8u; l++) { lanes[l] += term(kind, row, c + l); }
    }
    var tail = 0.0;
    for (var c = main; c < d; c++) { tail += term(kind, row, c); }
    var sum = 0.0;
    for (var l = 0u; l < 8u; l++) { sum += lanes[l]; }
    return sum + tail;
}

// The position bias added to score (i, j) of head h.
fn position_bias(h: u32, i: u32, j: u32) -> f32 {
    if (p.positions == POS_ALIBI) { return -bias[h] * f32(max(i, j) - min(i, j)); }
    if (p.positions == POS_RELATIVE) { return bias[i + p.seq_k - 1u - j]; }
    return 0.0;
}

fn allowed(i: u32, j: u32) -> bool {
    if (p.mask == MASK_CAUSAL) { return j <= i; }
    if (p.mask == MASK_WINDOW) { return max(i, j) - min(i, j) <= p.window; }
    return true;
}

@compute @workgroup_size(BLOCK_Q)
fn flash(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let h = wg.y;
    let d = p.head_dim;
    let i0 = wg.x * BLOCK_Q;
    let i1 = min(i0 + BLOCK_Q, p.seq_q);
    let i = i0 + t;
    let live = i < p.seq_q;   // invocations past the end still help load tiles

    var acc: array<f32, MAX_HEAD_DIM>;
    var q_norm = 0.0;
    if (live) {
        let base = p.q_off + h * p.q_hs + i * p.q_rs;
        for (var c = 0u; c < d; c++) {
            qi[c] = q[base + c];
            acc[c] = 0.0;
        }
        if (p.positions == POS_ROPE) {
            let pairs = d / 2u;
            for (var t2 = 0u; t2 < pairs; t2++) {
                let cs = (i * pairs + t2) * 2u;
                let x0 = qi[2u * t2];
                let x1 = qi[2u * t2 + 1u];
                qi[2u * t2] = x0 * rope[cs] - x1 * rope[cs + 1u];
                qi[2u * t2 + 1u] = x0 * rope[cs + 1u] + x1 * rope[cs];
            }
        }
        q_norm = reduce(0u, 0u, d);
    }
    q_norm = sqrt(q_norm);
    var run_max = NEG_INF;
    var run_sum = 0.0;
    let state_base = ((h * p.seq_q) + i) * (d + 2u);
    if (live && p.first == 0u) {
        for (var c = 0u; c < d; c++) { acc[c] = state[state_base + c]; }
        run_max = state[state_base + d];
        run_sum = state[state_base + d + 1u];
    }

    // Keys that can be unmasked for some query of this block (attention::flash::key_range).
    var k_start = 0u;
    var k_end = p.seq_k;
    if (p.mask == MASK_CAUSAL) { k_end = min(i1, p.seq_k); }
    if (p.mask == MASK_WINDOW) {
        k_start = min(select(0u, i0 - p.window, i0 > p.window), p.seq_k);
        k_end = min(i1 + p.window, p.seq_k);   // the host clamps window to seq_q + seq_k
    }

    k_start = max(k_start, p.j_begin);
    k_end = min(k_end, p.j_end);

    var scores: array<f32, MAX_BK>;
    for (var j0 = k_start / BK * BK; j0 < k_end; j0 += BK) {
        let n = min(BK, p.seq_k - j0);
        workgroupBarrier();   // the previous tile is no longer read
        for (var e = t; e < n * d; e += BLOCK_Q) {
            let r = e / d;
            let c = e - r * d;
            k_tile[e] = k[p.k_off + h * p.k_hs + (j0 + r) * p.k_rs + c];
            v_tile[e] = v[p.v_off + h * p.v_hs + (j0 + r) * p.v_rs + c];
        }
        workgroupBarrier();
        if (p.positions == POS_ROPE) {
            // Rotate the staged keys in place: one invocation per (key, dimension pair).
            let pairs = d / 2u;
            for (var e = t; e < n * pairs; e += BLOCK_Q) {
                let r = e / pairs;
                let t2 = e - r * pairs;
                let cs = ((j0 + r) * pairs + t2) * 2u;
                let x0 = k_tile[r * d + 2u * t2];
                let x1 = k_tile[r * d + 2u * t2 + 1u];
                k_tile[r * d + 2u * t2] = x0 * rope[cs] - x1 * rope[cs + 1u];
                k_tile[r * d + 2u * t2 + 1u] = x0 * rope[cs + 1u] + x1 * rope[cs];
            }
            workgroupBarrier();
        }
        if (p.score == SCORE_COSINE && t < n) {
            k_norm[t] = sqrt(reduce(2u, t * d, d));
        }
        workgroupBarrier();
        // No `continue` on `live`: the next iteration's barriers must stay in uniform control flow.
        if (live) {
            var tile_max = NEG_INF;
            for (var r = 0u; r < n; r++) {
                var s = NEG_INF;
                if (allowed(i, j0 + r)) {
                    var acc_s: f32;
                    if (p.score == SCORE_NEG_SQ_DIST) {
                        acc_s = -reduce(3u, r * d, d);
                    } else {
                        acc_s = reduce(1u, r * d, d);
                        if (p.score == SCORE_SCALED_DOT) { acc_s = acc_s / sqrt(f32(d)); }
                        if (p.score == SCORE_COSINE) {
                            let norms = q_norm * k_norm[r];
                            acc_s = select(acc_s / norms, 0.0, norms == 0.0);
                        }
                    }
                    s = (acc_s + position_bias(h, i, j0 + r)) / p.temperature;
                }
                scores[r] = s;
                tile_max = max(tile_max, s);
            }
            // tile_max stays NEG_INF when the whole tile is masked for this query.
            if (tile_max > NEG_INF) {
                let new_max = max(run_max, tile_max);
                let correction = select(exp(run_max - new_max), 0.0, run_max == NEG_INF);
                run_sum *= correction;
                for (var c = 0u; c < d; c++) { acc[c] *= correction; }
                run_max = new_max;
                for (var r = 0u; r < n; r++) {
                    if (scores[r] > NEG_INF) {
                        let w = exp(scores[r] - new_max);
                        run_sum += w;
                        for (var c = 0u; c < d; c++) { acc[c] += w * v_tile[r * d + c]; }
                    }
                }
            }
        }
    }

    if (live && p.last == 0u) {
        for (var c = 0u; c < d; c++) { state[state_base + c] = acc[c]; }
        state[state_base + d] = run_max;
        state[state_base + d + 1u] = run_sum;
    }
    if (live && p.last == 1u) {
        // A row with every key masked gives a zero output, as on the unfused path.
        let inv = select(0.0, 1.0 / run_sum, run_sum > 0.0);
        let base = p.o_off + h * p.o_hs + i * p.o_rs;
        for (var c = 0u; c < d; c++) { out[base + c] = acc[c] * inv; }
    }
}
