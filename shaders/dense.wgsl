// Dense ops: `linear` (tiled matmul with a fused epilogue) and `layer_norm`.
//
// linear — y[rows, n] = epilogue(x[rows, k] · w[k, n])
//   bindings: 0 params (LinearParams), 1 x, 2 w, 3 bias[n], 4 residual[rows, n], 5 scale[n],
//             6 y (read_write). Unused optional inputs are bound to any buffer and never read.
//   One workgroup of 16×16 invocations computes a 64×64 tile of y; each invocation owns a 4×4
//   block in registers (rows ly + 16i, columns lx + 16j, so neighbouring invocations touch
//   neighbouring addresses). The k axis is walked in steps of 16 through workgroup memory.
//   Epilogue: v = acc + bias; v = gelu(v) or gelu_tanh(v); v = residual + scale ⊙ v (each step by flag).
//
// layer_norm — y[r, :] = (x[r, :] − mean) / sqrt(var + eps) · gamma + beta
//   bindings: 0 params (NormParams), 1 x, 2 gamma, 3 beta, 4 y (read_write).
//   One workgroup of 256 invocations per row; mean first, then the variance of the centred
//   values (two passes, as the CPU does), each reduced as a tree in workgroup memory.

// LinearParams, NormParams, LINEAR_TILE and the LINEAR_ flags are in the prelude generated from
// src/gpu/contract.rs.
const TK: u32 = 16u;
// x tile stored transposed, [TK][LINEAR_TILE + 1]: the +1 keeps the transposing stores off one bank.
const A_STRIDE: u32 = 65u;

@group(0) @binding(0) var<uniform> lp: LinearParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<storage, read> scale: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

var<workgroup> a_tile: array<f32, 1040>; // TK * A_STRIDE
var<workgroup> b_tile: array<f32, 1024>; // TK * LINEAR_TILE

// erfc(z) for z ≥ 0, Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7).
fn erfc_pos(z: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.3275911 * z);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return poly * exp(-z * z);
}

// Exact (erf) GELU: 0.5·v·(1 + erf(v/√2)), written through erfc so large negative v keeps its
// relative accuracy instead of cancelling in 1 + erf.
fn gelu(v: f32) -> f32 {
    let c = erfc_pos(abs(v) * 0.70710678118654752);
    if (v >= 0.0) {
        return 0.5 * v * (2.0 - c);
    }
    return 0.5 * v * c;
}

// tanh-approximated GELU (HF gelu_new): 0.5·v·(1 + tanh(√(2/π)·(v + 0.044715·v³))). The
// argument is clamped first: tanh is ±1 in f32 well before |u| = 10, and some implementations
// compute it through exp, which overflows to inf/inf = NaN for large |u|.
fn gelu_tanh(v: f32) -> f32 {
    let u = clamp(0.7978845608 * (v + 0.044715 * v * v * v), -10.0, 10.0);
    return 0.5 * v * (1.0 + tanh(u));
}

@compute @workgroup_size(16, 16)
fn linear(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row0 = wid.y * LINEAR_TILE;
    let col0 = wid.x * LINEAR_TILE;
    let li = lid.y * 16u + lid.x;
    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < lp.k; k0 += TK) {
        // Each invocation loads 4 elements of each tile; out-of-range ones are zero.
        for (var t = 0u; t < 4u; t++) {
            let e = li + 256u * t;
            let ar = e / TK;
            let ak = e % TK;
            var av = 0.0;
            if (row0 + ar < lp.rows && k0 + ak < lp.k) {
                av = x[(row0 + ar) * lp.k + k0 + ak];
            }
            a_tile[ak * A_STRIDE + ar] = av;
            let bk = e / LINEAR_TILE;
            let bc = e % LINEAR_TILE;
            var bv = 0.0;
            if (k0 + bk < lp.k && col0 + bc < lp.n) {
                bv = w[(k0 + bk) * lp.n + col0 + bc];
            }
            b_tile[bk * LINEAR_TILE + bc] = bv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let b = vec4<f32>(
                b_tile[kk * LINEAR_TILE + lid.x],
                b_tile[kk * LINEAR_TILE + lid.x + 16u],
                b_tile[kk * LINEAR_TILE + lid.x + 32u],
                b_tile[kk * LINEAR_TILE + lid.x + 48u],
            );
            for (var i = 0u; i < 4u; i++) {
                acc[i] += a_tile[kk * A_STRIDE + lid.y + 16u * i] * b;
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let r = row0 + lid.y + 16u * i;
        if (r >= lp.rows) {
            break;
        }
        for (var j = 0u; j < 4u; j++) {
            let c = col0 + lid.x + 16u * j;
            if (c >= lp.n) {
                break;
            }
            var v = acc[i][j];
            if ((lp.flags & LINEAR_HAS_BIAS) != 0u) {
                v += bias[c];
            }
            if ((lp.flags & LINEAR_GELU) != 0u) {
                v = gelu(v);
            }
            if ((lp.flags & LINEAR_GELU_TANH) != 0u) {
                v = gelu_tanh(v);
            }
            if ((lp.flags & LINEAR_HAS_RESIDUAL) != 0u) {
                var s = 1.0;
                if ((lp.flags & LINEAR_HAS_SCALE) != 0u) {
                    s = scale[c];
                }
                v = residual[r * lp.n + c] + s * v;
            }
            y[r * lp.n + c] = v;
        }
    }
}

@group(0) @binding(0) var<uniform> np: NormParams;
@group(0) @binding(1) var<storage, read> ln_x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> ln_y: array<f32>;

const NORM_WG: u32 = 256u;
var<workgroup> partial: array<f32, 256>;

// Sum of `v` over the workgroup (every invocation gets the result).
fn workgroup_sum(li: u32, v: f32) -> f32 {
    partial[li] = v;
    workgroupBarrier();
    for (var s = NORM_WG / 2u; s > 0u; s >>= 1u) {
        if (li < s) {
            partial[li] += partial[li + s];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}

@compute @workgroup_size(256)
fn layer_norm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let row = wid.y * np.groups_x + wid.x;
    // Uniform per workgroup, so the barriers below stay in uniform control flow.
    if (row >= np.rows) {
        return;
    }
    let base = row * np.dim;
    var s = 0.0;
    for (var j = li; j < np.dim; j += NORM_WG) {
        s += ln_x[base + j];
    }
    let mean = workgroup_sum(li, s) / f32(np.dim);
    var q = 0.0;
    for (var j = li; j < np.dim; j += NORM_WG) {
        let d = ln_x[base + j] - mean;
        q += d * d;
    }
    let inv = inverseSqrt(workgroup_sum(li, q) / f32(np.dim) + np.eps);
    for (var j = li; j < np.dim; j += NORM_WG) {
        ln_y[base + j] = (ln_x[base + j] - mean) * inv * gamma[j] + beta[j];
    }
}
