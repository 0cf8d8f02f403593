// Attention kernels, the GPU twin of src/cpu/attention.rs. One call is a chain of dispatches:
//
//   project (additive score only, once for q and once for k): x · Wᵀ → [heads, seq, hidden]
//   scores / scores_additive: s[h,i,j] = (score(q_i, k_j) + position bias) / temperature
//   normalize:  one workgroup per row: mask, softmax / sparsemax / 1.5-entmax, entropy
//   coverage:   column sums of the weights (stats only)
//   dropout:    in place on the weights, same hash as src/attention/dropout.rs
//   output:     weights · v, written in the output's layout
//
// Bindings (see src/gpu/kernel.rs): 0 = Params (uniform), then read-only inputs, then read-write
// outputs. Operands are addressed through (offset, head stride, row stride) layouts, so q, k and v
// may be views into one fused QKV tensor. `aux` packs the small per-call tables uploaded from the
// host (computed there in f64 so both backends use identical factors): ALiBi slopes [heads],
// RoPE (cos, sin) [seq, head_dim/2, 2], relative bias [seq_q + seq_k − 1], additive Wq, Wk
// [hidden, head_dim] and v [hidden]. Order of operations: src/attention/positions.rs.

struct Params {
    heads: u32, seq_q: u32, seq_k: u32, head_dim: u32,
    // layouts (offset, head stride, row stride) of q, k, v and the output
    q_off: u32, q_hs: u32, q_rs: u32,
    k_off: u32, k_hs: u32, k_rs: u32,
    v_off: u32, v_hs: u32, v_rs: u32,
    o_off: u32, o_hs: u32, o_rs: u32,
    score: u32,      // 0 dot, 1 scaled dot, 2 cosine, 3 negative squared distance, 4 additive
    mask: u32,       // 0 none, 1 causal, 2 window, 3 top-k
    mask_arg: u32,   // window w or k
    normalizer: u32, // 0 softmax, 1 sparsemax, 2 entmax15
    positions: u32,  // 0 none, 1 RoPE, 2 ALiBi, 3 relative bias
    hidden: u32,     // additive hidden size
    slopes_off: u32, rope_off: u32, rel_off: u32,
    w_off: u32,      // project: offset of the projection matrix in aux
    av_off: u32,     // offset of the additive v in aux
    seed_lo: u32,    // the dropout seed's low and high words
    seed_hi: u32,
    temperature: f32,
    scale: f32,      // 1/√head_dim, rounded on the host as the CPU does
    drop_p: f32,
    drop_scale: f32, // 1/(1−p), rounded on the host as the CPU does
    stats: u32,
    which: u32,      // project: 0 projects q, 1 projects k
    temp_exp: i32,   // temperature = temperature (in [1, 2)) · 2^temp_exp
    w_exp: i32,      // project: W in aux is W · 2^−w_exp
    av_exp: i32,     // additive v in aux is v · 2^−av_exp
}

const SCORE_DOT: u32 = 0u;
const SCORE_SCALED: u32 = 1u;
const SCORE_COSINE: u32 = 2u;
const SCORE_NEG_SQ: u32 = 3u;
const MASK_CAUSAL: u32 = 1u;
const MASK_WINDOW: u32 = 2u;
const MASK_TOPK: u32 = 3u;
const NORM_SOFTMAX: u32 = 0u;
const NORM_SPARSEMAX: u32 = 1u;
const POS_ROPE: u32 = 1u;
const POS_ALIBI: u32 = 2u;
const POS_REL: u32 = 3u;

// ---------------------------------------------------------------------------------------------
// Finite arithmetic (src/attention/finite.rs): q and k rows are scaled by 2^−e so their largest
// element lies in [½, 1) before any product (exact, so ordinary inputs give the same bits),
// scores saturate to ±SCORE_LIMIT = 2¹²⁶ and outputs to ±f32::MAX, and no step forms an infinity.
// The exponents: `ex` = [heads, seq_q] of q rows, [heads, seq_k] of k rows, [heads] of v (the
// amount v is scaled down before weights · v, 0 unless it exceeds 2⁶⁴), made by row_exponents
// and v_exponents.

// The helpers (exponent, scale_sat, score_sat, finish, rescale_factor) are in shaders/finite.wgsl,
// prepended to this file by src/gpu/attention.rs.

@group(0) @binding(0) var<uniform> p: Params;

// ---------------------------------------------------------------------------------------------
// The score family: scores, project and scores_additive share these bindings.

@group(0) @binding(1) var<storage, read> s_q: array<f32>;
@group(0) @binding(2) var<storage, read> s_k: array<f32>;
@group(0) @binding(3) var<storage, read> s_aux: array<f32>;
@group(0) @binding(4) var<storage, read> s_ex: array<i32>;
@group(0) @binding(5) var<storage, read_write> s_out: array<f32>;

// Element c of a row at position `pos` whose pair (x0, x1) = (x[2t], x[2t+1]) holds it, turned by
// RoPE: (x0 cos − x1 sin, x0 sin + x1 cos) with the host's (cos, sin) for (pos, t).
fn rope_element(x0: f32, x1: f32, pos: u32, c: u32) -> f32 {
    let cs = p.rope_off + (pos * (p.head_dim / 2u) + c / 2u) * 2u;
    let co = s_aux[cs];
    let si = s_aux[cs + 1u];
    return select(x0 * co - x1 * si, x0 * si + x1 * co, c % 2u == 1u);
}

// q[h, i, c]·2^−e and k[h, j, c]·2^−e through their layouts, then turned by RoPE when on.
fn load_q(h: u32, i: u32, c: u32, e: i32) -> f32 {
    let base = p.q_off + h * p.q_hs + i * p.q_rs;
    if (p.positions != POS_ROPE) {
        return ldexp(s_q[base + c], -e);
    }
    let c0 = c & ~1u;
    return rope_element(ldexp(s_q[base + c0], -e), ldexp(s_q[base + c0 + 1u], -e), i, c);
}

fn load_k(h: u32, j: u32, c: u32, e: i32) -> f32 {
    let base = p.k_off + h * p.k_hs + j * p.k_rs;
    if (p.positions != POS_ROPE) {
        return ldexp(s_k[base + c], -e);
    }
    let c0 = c & ~1u;
    return rope_element(ldexp(s_k[base + c0], -e), ldexp(s_k[base + c0 + 1u], -e), j, c);
}

// The exponents of q row i and k row j of head h (0 past the end).
fn q_exp(h: u32, i: u32) -> i32 {
    return select(0, s_ex[min(h * p.seq_q + i, p.heads * p.seq_q - 1u)], i < p.seq_q);
}

fn k_exp(h: u32, j: u32) -> i32 {
    return select(0, s_ex[p.heads * p.seq_q + min(h * p.seq_k + j, p.heads * p.seq_k - 1u)], j < p.seq_k);
}

// Position bias added to score (i, j) of head h, before ÷ temperature.
fn position_bias(h: u32, i: u32, j: u32) -> f32 {
    if (p.positions == POS_ALIBI) {
        let dist = select(j - i, i - j, i >= j);
        return -s_aux[p.slopes_off + h] * f32(dist);
    }
    if (p.positions == POS_REL) {
        return s_aux[p.rel_off + i + p.seq_k - 1u - j];
    }
    return 0.0;
}

// tanh that stays finite for large |x| (exp overflow makes the textbook form NaN on some drivers).
fn safe_tanh(x: f32) -> f32 {
    let e = exp(-2.0 * abs(x));
    return sign(x) * (1.0 - e) / (1.0 + e);
}

// scores: s[h, i, j] for the dot-product family. One invocation per (i, j); 16×16 tiles of q and
// k rows staged in workgroup memory, C = 64 dimensions per barrier round (barriers are what CPU
// emulations such as llvmpipe and SwiftShader pay for most). Dispatch (⌈seq_k/16⌉, ⌈seq_q/16⌉, heads).

const T: u32 = 16u;
const C: u32 = 64u;

var<workgroup> tq: array<array<f32, C>, T>; // [row i, dimension]
var<workgroup> tk: array<array<f32, C>, T>; // [row j, dimension]

@compute @workgroup_size(16, 16)
fn scores(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let h = wg.z;
    let i = wg.y * T + lid.y;
    let j = wg.x * T + lid.x;
    let kr = wg.x * T + lid.y; // the k row this invocation stages
    let eq = q_exp(h, i);
    let ek = k_exp(h, j);
    let ekr = k_exp(h, kr);
    // neg_sq_dist: both rows at the larger scale.
    let big = max(eq, ek);
    let fq = rescale_factor(eq, big);
    let fk = rescale_factor(ek, big);
    var qk = 0.0;
    var qq = 0.0;
    var kk = 0.0;
    var sq = 0.0;
    for (var c0 = 0u; c0 < p.head_dim; c0 += C) {
        for (var s = 0u; s < C; s += T) {
            let c = c0 + s + lid.x;
            var qv = 0.0;
            if (i < p.seq_q && c < p.head_dim) {
                qv = load_q(h, i, c, eq);
            }
            tq[lid.y][s + lid.x] = qv;
            var kv = 0.0;
            if (kr < p.seq_k && c < p.head_dim) {
                kv = load_k(h, kr, c, ekr);
            }
            tk[lid.y][s + lid.x] = kv;
        }
        workgroupBarrier();
        let n = min(C, p.head_dim - c0);
        for (var t = 0u; t < n; t++) {
            let a = tq[lid.y][t];
            let b = tk[lid.x][t];
            qk += a * b;
            qq += a * a;
            kk += b * b;
            let d = a * fq - b * fk;
            sq += d * d;
        }
        workgroupBarrier();
    }
    if (i >= p.seq_q || j >= p.seq_k) {
        return;
    }
    var s = score_sat(qk, eq + ek);
    if (p.score == SCORE_SCALED) {
        s = score_sat(qk * p.scale, eq + ek);
    } else if (p.score == SCORE_COSINE) {
        let n = sqrt(qq) * sqrt(kk);
        s = select(qk / n, 0.0, n == 0.0);
    } else if (p.score == SCORE_NEG_SQ) {
        s = -score_sat(sq, 2 * big);
    }
    s_out[(h * p.seq_q + i) * p.seq_k + j] = finish(s, position_bias(h, i, j));
}

// project: proj[h, r, u] = Σ_c W[u, c] · x[h, r, c] for the additive score, where x is q
// (p.which = 0, W = Wq) or k (p.which = 1, W = Wk), rotated by RoPE when on.
// One invocation per (r, u). Dispatch (⌈hidden/64⌉, rows, heads).

@compute @workgroup_size(64)
fn project(@builtin(global_invocation_id) gid: vec3<u32>) {
    let u = gid.x;
    let r = gid.y;
    let h = gid.z;
    let rows = select(p.seq_q, p.seq_k, p.which == 1u);
    if (u >= p.hidden || r >= rows) {
        return;
    }
    let e = select(q_exp(h, r), k_exp(h, r), p.which == 1u);
    var acc = 0.0;
    for (var c = 0u; c < p.head_dim; c++) {
        var x = 0.0;
        if (p.which == 1u) {
            x = load_k(h, r, c, e);
        } else {
            x = load_q(h, r, c, e);
        }
        acc += s_aux[p.w_off + u * p.head_dim + c] * x;
    }
    s_out[(h * rows + r) * p.hidden + u] = score_sat(acc, p.w_exp + e);
}

// scores_additive: s[h,i,j] = (Σ_u v[u] tanh(qp[h,i,u] + kp[h,j,u]) + bias) / temperature, with
// the projections qp, kp bound in place of q and k. Dispatch (⌈seq_k/16⌉, ⌈seq_q/16⌉, heads).

@compute @workgroup_size(16, 16)
fn scores_additive(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let i = gid.y;
    let h = gid.z;
    if (i >= p.seq_q || j >= p.seq_k) {
        return;
    }
    let qb = (h * p.seq_q + i) * p.hidden;
    let kb = (h * p.seq_k + j) * p.hidden;
    var s = 0.0;
    for (var u = 0u; u < p.hidden; u++) {
        s += s_aux[p.av_off + u] * safe_tanh(s_q[qb + u] + s_k[kb + u]);
    }
    s_out[(h * p.seq_q + i) * p.seq_k + j] = finish(score_sat(s, p.av_exp), position_bias(h, i, j));
}

// ---------------------------------------------------------------------------------------------
// normalize: one workgroup of 64 per row (i, h); the row is read from global memory on each
// pass. Masked entries become exactly 0; a row with nothing left becomes all zeros. Sparsemax and
// 1.5-entmax find their threshold τ without sorting: bisection on τ down to f32 resolution picks
// the support, then τ is computed exactly from the support as the sort-based algorithm does.
// Top-k finds the k-th largest (score, index) by building its sort key bit by bit.
// Dispatch (seq_q, heads).

const WG: u32 = 64u;
// Marks masked entries in place during normalize: the lowest finite f32, which later passes map to
// weight 0 (an infinity cannot be written as a WGSL constant). Written in hex, exactly: Chrome's
// Tint rejects the decimal -3.40282347e+38, which lies just beyond the f32 range before rounding.
const MASKED: f32 = -0x1.fffffep+127f;

@group(0) @binding(1) var<storage, read_write> n_w: array<f32>;       // [heads, seq_q, seq_k]
@group(0) @binding(2) var<storage, read_write> n_entropy: array<f32>; // [heads, seq_q]

var<workgroup> red: array<f32, WG>;
var<workgroup> red_u: array<u32, WG>;
var<private> lane: u32;

fn sum_f(x: f32) -> f32 {
    red[lane] = x;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lane < s) {
            red[lane] += red[lane + s];
        }
        workgroupBarrier();
    }
    let r = workgroupUniformLoad(&red[0]);
    workgroupBarrier(); // nobody may overwrite red[0] before everyone has read it
    return r;
}

fn max_f(x: f32) -> f32 {
    red[lane] = x;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lane < s) {
            red[lane] = max(red[lane], red[lane + s]);
        }
        workgroupBarrier();
    }
    let r = workgroupUniformLoad(&red[0]);
    workgroupBarrier();
    return r;
}

fn sum_u(x: u32) -> u32 {
    red_u[lane] = x;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lane < s) {
            red_u[lane] += red_u[lane + s];
        }
        workgroupBarrier();
    }
    let r = workgroupUniformLoad(&red_u[0]);
    workgroupBarrier();
    return r;
}

// z − zmax for a score z ≤ zmax, floored at −200 (e^−200 is 0 in f32, and −200 lies outside
// any sparsemax or entmax support): masked entries (MASKED) and scores far below the maximum get
// −200 without forming an infinity.
fn shifted(z: f32, zmax: f32) -> f32 {
    return select(z - zmax, -200.0, z < zmax - 200.0);
}

// A u32 whose unsigned order is the IEEE total order of the f32 (Rust's f32::total_cmp).
fn order_key(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

// Whether key j of query i survives a positional mask (top-k is decided separately).
fn allowed(i: u32, j: u32) -> bool {
    if (p.mask == MASK_CAUSAL) {
        return j <= i;
    }
    if (p.mask == MASK_WINDOW) {
        return select(j - i, i - j, i >= j) <= p.mask_arg;
    }
    return true;
}

@compute @workgroup_size(WG)
fn normalize(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    lane = li;
    let i = wg.x;
    let h = wg.y;
    let n = p.seq_k;
    let base = (h * p.seq_q + i) * n;

    // Top-k: the sort key K of the k-th largest score, then among entries with key K the highest
    // index J that is still kept (ties go to the lower index).
    let topk = p.mask == MASK_TOPK && p.mask_arg < n;
    var key_k = 0u;
    var last_j = 0xffffffffu;
    if (topk) {
        for (var bit = 31i; bit >= 0i; bit--) {
            let cand = key_k | (1u << u32(bit));
            var cnt = 0u;
            for (var j = lane; j < n; j += WG) {
                cnt += select(0u, 1u, order_key(n_w[base + j]) >= cand);
            }
            if (sum_u(cnt) >= p.mask_arg) {
                key_k = cand;
            }
        }
        var above = 0u;
        for (var j = lane; j < n; j += WG) {
            above += select(0u, 1u, order_key(n_w[base + j]) > key_k);
        }
        let need = p.mask_arg - sum_u(above); // entries with key K to keep, lowest index first
        // Largest J with #{j < J : key_j = K} < need: entry J is the need-th such entry.
        last_j = 0u;
        for (var bit = 31i; bit >= 0i; bit--) {
            let cand = last_j | (1u << u32(bit));
            var cnt = 0u;
            for (var j = lane; j < n; j += WG) {
                cnt += select(0u, 1u, order_key(n_w[base + j]) == key_k && j < cand);
            }
            if (sum_u(cnt) < need) {
                last_j = cand;
            }
        }
    }

    // Pass 1: mask in place (masked → MASKED), maximum and count of the survivors.
    var m = MASKED;
    var cnt = 0u;
    for (var j = lane; j < n; j += WG) {
        var keep = allowed(i, j);
        if (topk) {
            let key = order_key(n_w[base + j]);
            keep = key > key_k || (key == key_k && j <= last_j);
        }
        if (keep) {
            m = max(m, n_w[base + j]);
            cnt += 1u;
        } else {
            n_w[base + j] = MASKED;
        }
    }
    let zmax = max_f(m);
    let survivors = sum_u(cnt);
    if (survivors == 0u) {
        for (var j = lane; j < n; j += WG) {
            n_w[base + j] = 0.0;
        }
        if (p.stats != 0u && lane == 0u) {
            n_entropy[h * p.seq_q + i] = 0.0;
        }
        return;
    }

    var softmax_entropy = 0.0;
    if (p.normalizer == NORM_SOFTMAX) {
        var s = 0.0;
        for (var j = lane; j < n; j += WG) {
            s += exp(shifted(n_w[base + j], zmax));
        }
        let total = sum_f(s);
        var wz = 0.0; // Σ w (z − max), for the entropy
        for (var j = lane; j < n; j += WG) {
            let x = shifted(n_w[base + j], zmax);
            let w = exp(x) / total;
            wz += w * x;
            n_w[base + j] = w;
        }
        // ln w = (z − max) − ln Σ, so H = ln Σ − Σ w (z − max): one log instead of one per weight,
        // whose per-element error at seqK in the thousands would add up past 1e-5.
        softmax_entropy = log(total) - sum_f(wz);
    } else {
        // Sparsemax: Σ max(z − τ, 0) = 1. 1.5-entmax on x = z/2: Σ max(x − τ, 0)² = 1. Both on
        // scores shifted by their maximum, so the largest is 0 and τ ∈ [−1, 0): the largest
        // always stays in the support, whatever the magnitude of the scores (unshifted, top − 1
        // rounds to top above 2²⁴ and the support came out empty).
        let sparse = p.normalizer == NORM_SPARSEMAX;
        let half = select(0.5, 1.0, sparse);
        var lo = -1.0;
        var hi = 0.0;
        for (var it = 0u; it < 64u; it++) {
            let mid = 0.5 * (lo + hi);
            if (mid <= lo || mid >= hi) {
                break;
            }
            var f = 0.0;
            for (var j = lane; j < n; j += WG) {
                let d = max(shifted(n_w[base + j], zmax) * half - mid, 0.0);
                f += select(d * d, d, sparse);
            }
            if (sum_f(f) >= 1.0) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        // The support is {x > lo}; τ exactly from it.
        var s = 0.0;
        var c = 0u;
        for (var j = lane; j < n; j += WG) {
            let x = shifted(n_w[base + j], zmax) * half;
            if (x > lo) {
                s += x;
                c += 1u;
            }
        }
        let size = f32(sum_u(c));
        let mean = sum_f(s) / size;
        var tau = 0.0;
        if (sparse) {
            tau = (mean * size - 1.0) / size;
        } else {
            var ss = 0.0;
            for (var j = lane; j < n; j += WG) {
                let x = shifted(n_w[base + j], zmax) * half;
                if (x > lo) {
                    ss += (x - mean) * (x - mean);
                }
            }
            tau = mean - sqrt(max((1.0 - sum_f(ss)) / size, 0.0));
        }
        for (var j = lane; j < n; j += WG) {
            let d = max(shifted(n_w[base + j], zmax) * half - tau, 0.0);
            n_w[base + j] = select(d * d, d, sparse);
        }
    }

    if (p.stats != 0u && p.normalizer == NORM_SOFTMAX) {
        if (lane == 0u) {
            n_entropy[h * p.seq_q + i] = softmax_entropy;
        }
    } else if (p.stats != 0u) {
        var e = 0.0;
        for (var j = lane; j < n; j += WG) {
            let w = n_w[base + j];
            if (w > 0.0) {
                e -= w * log(w);
            }
        }
        let total = sum_f(e);
        if (lane == 0u) {
            n_entropy[h * p.seq_q + i] = total;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// coverage: c[h, j] = Σ_i w[h, i, j], summed in row order as the CPU does.
// Dispatch (⌈seq_k/64⌉, heads).

@group(0) @binding(1) var<storage, read> cv_w: array<f32>;
@group(0) @binding(2) var<storage, read_write> cv_out: array<f32>; // [heads, seq_k]

@compute @workgroup_size(64)
fn coverage(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let h = gid.y;
    if (j >= p.seq_k) {
        return;
    }
    var s = 0.0;
    for (var i = 0u; i < p.seq_q; i++) {
        s += cv_w[(h * p.seq_q + i) * p.seq_k + j];
    }
    cv_out[h * p.seq_k + j] = s;
}

// ---------------------------------------------------------------------------------------------
// dropout, in place: weight (h, i, j) is kept when its hash draws u ≥ p, and then scaled by
// 1/(1−p). The hash is PCG (Jarzynski & Olano 2020), nested as in src/attention/dropout.rs.
// Dispatch (⌈seq_k/64⌉, seq_q, heads).

@group(0) @binding(1) var<storage, read_write> dr_w: array<f32>;

fn pcg(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// dropout::seed_hash: pcg(low) below 2³², pcg(high + pcg(low)) above.
fn seed_hash(lo: u32, hi: u32) -> u32 {
    let l = pcg(lo);
    return select(pcg(hi + l), l, hi == 0u);
}

fn drop_uniform(h: u32, i: u32, j: u32) -> f32 {
    let x = pcg(j + pcg(i + pcg(h + seed_hash(p.seed_lo, p.seed_hi))));
    return f32(x >> 8u) * (1.0 / 16777216.0);
}

@compute @workgroup_size(64)
fn dropout(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let i = gid.y;
    let h = gid.z;
    if (j >= p.seq_k) {
        return;
    }
    let idx = (h * p.seq_q + i) * p.seq_k + j;
    let kept = drop_uniform(h, i, j) >= p.drop_p;
    dr_w[idx] = select(0.0, dr_w[idx] * p.drop_scale, kept);
}

// ---------------------------------------------------------------------------------------------
// output: o[h, i, c] = Σ_j w[h, i, j] · v[h, j, c], one invocation per (i, c), with tiles of
// 16 rows × C keys of weights and C keys × 16 columns of values in workgroup memory; j is summed
// in order, as on the CPU.
// Dispatch (⌈head_dim/16⌉, ⌈seq_q/16⌉, heads).

@group(0) @binding(1) var<storage, read> o_w: array<f32>;
@group(0) @binding(2) var<storage, read> o_v: array<f32>;
@group(0) @binding(3) var<storage, read> o_ex: array<i32>;
@group(0) @binding(4) var<storage, read_write> o_out: array<f32>;

var<workgroup> tw: array<array<f32, C>, T>; // [row i, key j]
var<workgroup> tv: array<array<f32, T>, C>; // [key j, dimension c]

@compute @workgroup_size(16, 16)
fn output(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let h = wg.z;
    let i = wg.y * T + lid.y;
    let c = wg.x * T + lid.x;
    let ev = o_ex[p.heads * (p.seq_q + p.seq_k) + h]; // v·2^−ev: no sum overflows
    var acc = 0.0;
    for (var j0 = 0u; j0 < p.seq_k; j0 += C) {
        for (var s = 0u; s < C; s += T) {
            let jw = j0 + s + lid.x;
            var w = 0.0;
            if (i < p.seq_q && jw < p.seq_k) {
                w = o_w[(h * p.seq_q + i) * p.seq_k + jw];
            }
            tw[lid.y][s + lid.x] = w;
            let jv = j0 + s + lid.y;
            var v = 0.0;
            if (jv < p.seq_k && c < p.head_dim) {
                v = ldexp(o_v[p.v_off + h * p.v_hs + jv * p.v_rs + c], -ev);
            }
            tv[s + lid.y][lid.x] = v;
        }
        workgroupBarrier();
        let n = min(C, p.seq_k - j0);
        for (var t = 0u; t < n; t++) {
            acc += tw[lid.y][t] * tv[t][lid.x];
        }
        workgroupBarrier();
    }
    if (i < p.seq_q && c < p.head_dim) {
        o_out[p.o_off + h * p.o_hs + i * p.o_rs + c] = scale_sat(acc, ev, 128, F32_MAX);
    }
}

// ---------------------------------------------------------------------------------------------
// row_exponents: ex[h, r] = exponent(max_c |x[h, r, c]|) for the q rows (z = 0) and k rows
// (z = 1). Dispatch (⌈max(seq_q, seq_k)/64⌉, heads, 2).
// v_exponents: ex[heads·(seq_q + seq_k) + h] = max(0, exponent(max |v[h]|) − 64), one workgroup
// per head. Dispatch (heads, 1, 1).

@group(0) @binding(1) var<storage, read> e_q: array<f32>;
@group(0) @binding(2) var<storage, read> e_k: array<f32>;
@group(0) @binding(3) var<storage, read> e_v: array<f32>;
@group(0) @binding(4) var<storage, read_write> e_out: array<i32>;

@compute @workgroup_size(64)
fn row_exponents(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.x;
    let h = gid.y;
    var m = 0.0;
    if (gid.z == 0u) {
        if (r >= p.seq_q) {
            return;
        }
        let base = p.q_off + h * p.q_hs + r * p.q_rs;
        for (var c = 0u; c < p.head_dim; c++) {
            m = max(m, abs(e_q[base + c]));
        }
        e_out[h * p.seq_q + r] = exponent(m);
    } else {
        if (r >= p.seq_k) {
            return;
        }
        let base = p.k_off + h * p.k_hs + r * p.k_rs;
        for (var c = 0u; c < p.head_dim; c++) {
            m = max(m, abs(e_k[base + c]));
        }
        e_out[p.heads * p.seq_q + h * p.seq_k + r] = exponent(m);
    }
}

@compute @workgroup_size(WG)
fn v_exponents(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    lane = li;
    let h = wg.x;
    var m = 0.0;
    for (var e = lane; e < p.seq_k * p.head_dim; e += WG) {
        let r = e / p.head_dim;
        let c = e - r * p.head_dim;
        m = max(m, abs(e_v[p.v_off + h * p.v_hs + r * p.v_rs + c]));
    }
    let top = max_f(m);
    if (lane == 0u) {
        e_out[p.heads * (p.seq_q + p.seq_k) + h] = max(exponent(top) - 64, 0);
    }
}
