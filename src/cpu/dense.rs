//! Dense ops on the CPU: linear (matmul + fused epilogue) and LayerNorm.
//!
//! `linear` is the fast path: weights are packed into column panels `NR` wide that stay in L1
//! while every row of `x` streams past them, and an `MR × NR` register-blocked micro-kernel
//! accumulates each output in registers (explicit SIMD128 on wasm, auto-vectorized natively).
//! Every output is the same sequence of f32 operations as in [`reference::linear`]
//! (bias first, then `+ x·w` for k = 0, 1, …, no fused multiply-add), so the two agree exactly.

use crate::backend::{Activation, LayerNorm, Linear};
use crate::ensure;
use crate::error::Result;

/// Shape checks shared by both backends.
pub fn check_linear<T>(op: &Linear<'_, T>, len: impl Fn(&T) -> usize) -> Result<()> {
    let (r, i, o) = (op.rows, op.in_dim, op.out_dim);
    ensure!(r > 0 && i > 0 && o > 0, "linear: rows, in and out must be > 0 (got {r}, {i}, {o})");
    let (ri, io, ro) = (r.checked_mul(i), i.checked_mul(o), r.checked_mul(o));
    ensure!(ri.is_some() && io.is_some() && ro.is_some(), "linear: {r} × {i} × {o} is too large");
    ensure!(Some(len(op.x)) == ri, "linear: x has {} values, expected rows × in = {r} × {i}", len(op.x));
    ensure!(Some(len(op.w)) == io, "linear: w has {} values, expected in × out = {i} × {o}", len(op.w));
    if let Some(b) = op.bias {
        ensure!(len(b) == o, "linear: bias has {} values, expected {o}", len(b));
    }
    if let Some(res) = op.residual {
        ensure!(Some(len(res)) == ro, "linear: residual has {} values, expected rows × out = {r} × {o}", len(res));
    }
    if let Some(s) = op.residual_scale {
        ensure!(op.residual.is_some(), "linear: residual_scale needs a residual");
        ensure!(len(s) == o, "linear: residual_scale has {} values, expected {o}", len(s));
    }
    Ok(())
}

pub fn check_layer_norm<T>(op: &LayerNorm<'_, T>, len: impl Fn(&T) -> usize) -> Result<()> {
    let (r, d) = (op.rows, op.dim);
    ensure!(r > 0 && d > 0, "layer_norm: rows and dim must be > 0 (got {r}, {d})");
    ensure!(Some(len(op.x)) == r.checked_mul(d), "layer_norm: x has {} values, expected rows × dim = {r} × {d}", len(op.x));
    ensure!(len(op.gamma) == d, "layer_norm: gamma has {} values, expected {d}", len(op.gamma));
    ensure!(len(op.beta) == d, "layer_norm: beta has {} values, expected {d}", len(op.beta));
    ensure!(op.eps.is_finite() && op.eps >= 0.0, "layer_norm: eps must be finite and ≥ 0, got {}", op.eps);
    Ok(())
}

/// erf-based GELU, as `torch.nn.functional.gelu` (approximate='none').
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// The epilogue of one output row: activation, then the (scaled) residual add.
fn epilogue(op: &Linear<'_, Vec<f32>>, row: usize, cols: std::ops::Range<usize>, y: &mut [f32]) {
    if op.activation == Activation::Gelu {
        y.iter_mut().for_each(|v| *v = gelu(*v));
    }
    if let Some(res) = op.residual {
        let n = op.out_dim;
        let rr = &res[row * n + cols.start..row * n + cols.end];
        match op.residual_scale {
            Some(s) => y.iter_mut().zip(rr).zip(&s[cols]).for_each(|((v, &a), &g)| *v = a + g * *v),
            None => y.iter_mut().zip(rr).for_each(|(v, &a)| *v += a),
        }
    }
}

/// Deterministic uniform values in [−scale, scale] (xorshift64): reproducible operands for the
/// dense tests and benches, natively and in wasm.
pub fn seeded_uniform(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

/// Plain implementations, kept as the ground truth the fast paths are tested against.
pub mod reference {
    use super::*;

    pub fn linear(op: &Linear<'_, Vec<f32>>) -> Vec<f32> {
        let (rows, k, n) = (op.rows, op.in_dim, op.out_dim);
        let mut y = vec![0.0f32; rows * n];
        for r in 0..rows {
            let yr = &mut y[r * n..(r + 1) * n];
            for (o, out) in yr.iter_mut().enumerate() {
                let mut acc = op.bias.map_or(0.0, |b| b[o]);
                for c in 0..k {
                    acc += op.x[r * k + c] * op.w[c * n + o];
                }
                *out = acc;
            }
            epilogue(op, r, 0..n, yr);
        }
        y
    }

    pub fn layer_norm(op: &LayerNorm<'_, Vec<f32>>) -> Vec<f32> {
        let d = op.dim;
        let mut y = vec![0.0f32; op.rows * d];
        for (xr, yr) in op.x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
            let mean = xr.iter().map(|&v| v as f64).sum::<f64>() / d as f64;
            let var = xr.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / d as f64;
            let inv = 1.0 / (var + op.eps as f64).sqrt();
            for (j, o) in yr.iter_mut().enumerate() {
                *o = ((xr[j] as f64 - mean) * inv) as f32 * op.gamma[j] + op.beta[j];
            }
        }
        y
    }
}

/// Rows per micro-kernel call.
const MR: usize = 4;
/// Columns per packed weight panel (two f32x4 vectors).
const NR: usize = 8;

/// `y = epilogue(x · w + bias)`, cache-blocked and register-blocked. Shapes must already have
/// been checked with [`check_linear`].
pub fn linear(op: &Linear<'_, Vec<f32>>) -> Vec<f32> {
    let (rows, k, n) = (op.rows, op.in_dim, op.out_dim);
    let mut y = vec![0.0f32; rows * n];
    let mut panel = vec![0.0f32; k * NR];
    let mut bias = [0.0f32; NR];
    for n0 in (0..n).step_by(NR) {
        let nr = NR.min(n - n0);
        // Pack w[:, n0..n0+nr] as [k][NR], zero-padded, so the kernel reads it contiguously.
        for (c, dst) in panel.chunks_exact_mut(NR).enumerate() {
            dst[..nr].copy_from_slice(&op.w[c * n + n0..c * n + n0 + nr]);
            dst[nr..].fill(0.0);
        }
        bias.fill(0.0);
        if let Some(b) = op.bias {
            bias[..nr].copy_from_slice(&b[n0..n0 + nr]);
        }
        let mut r0 = 0;
        while r0 + MR <= rows {
            let acc = micro::<MR>(&op.x[r0 * k..(r0 + MR) * k], k, &panel, &bias);
            store(op, &mut y, r0, n0, nr, &acc);
            r0 += MR;
        }
        for r in r0..rows {
            let acc = micro::<1>(&op.x[r * k..(r + 1) * k], k, &panel, &bias);
            store(op, &mut y, r, n0, nr, &acc);
        }
    }
    y
}

/// Writes the first `nr` columns of an `M × NR` block at (r0, n0) and applies the epilogue.
fn store<const M: usize>(op: &Linear<'_, Vec<f32>>, y: &mut [f32], r0: usize, n0: usize, nr: usize, acc: &[[f32; NR]; M]) {
    let n = op.out_dim;
    for (i, a) in acc.iter().enumerate() {
        let row = r0 + i;
        let dst = &mut y[row * n + n0..row * n + n0 + nr];
        dst.copy_from_slice(&a[..nr]);
        epilogue(op, row, n0..n0 + nr, dst);
    }
}

/// `acc[i][j] = bias[j] + Σ_c x[i][c] · panel[c][j]` for `M` rows of `x` ([M, k]) against one
/// packed panel ([k, NR]), summed in increasing c.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn micro<const M: usize>(x: &[f32], k: usize, panel: &[f32], bias: &[f32; NR]) -> [[f32; NR]; M] {
    assert!(x.len() >= M * k && panel.len() >= k * NR);
    let mut acc = [*bias; M];
    for c in 0..k {
        // SAFETY: c < k, so c*NR + NR <= k*NR and i*k + c < M*k, both checked above.
        let w: &[f32; NR] = unsafe { &*(panel.as_ptr().add(c * NR) as *const [f32; NR]) };
        for (i, a) in acc.iter_mut().enumerate() {
            let xv = unsafe { *x.get_unchecked(i * k + c) };
            for j in 0..NR {
                a[j] += xv * w[j];
            }
        }
    }
    acc
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn micro<const M: usize>(x: &[f32], k: usize, panel: &[f32], bias: &[f32; NR]) -> [[f32; NR]; M] {
    use core::arch::wasm32::*;
    assert!(x.len() >= M * k && panel.len() >= k * NR);
    // SAFETY: all loads are in bounds: c < k, so x[i*k + c] < M*k and panel[c*NR + 7] < k*NR,
    // both checked above; v128_load has no alignment requirement.
    unsafe {
        let b0 = v128_load(bias.as_ptr() as *const v128);
        let b1 = v128_load(bias.as_ptr().add(4) as *const v128);
        let mut acc0 = [b0; M];
        let mut acc1 = [b1; M];
        let xp = x.as_ptr();
        let mut wp = panel.as_ptr();
        for c in 0..k {
            let w0 = v128_load(wp as *const v128);
            let w1 = v128_load(wp.add(4) as *const v128);
            for i in 0..M {
                let xv = f32x4_splat(*xp.add(i * k + c));
                acc0[i] = f32x4_add(acc0[i], f32x4_mul(xv, w0));
                acc1[i] = f32x4_add(acc1[i], f32x4_mul(xv, w1));
            }
            wp = wp.add(NR);
        }
        let mut out = [[0.0f32; NR]; M];
        for i in 0..M {
            v128_store(out[i].as_mut_ptr() as *mut v128, acc0[i]);
            v128_store(out[i].as_mut_ptr().add(4) as *mut v128, acc1[i]);
        }
        out
    }
}

/// Row-wise LayerNorm, two-pass (mean, then variance of the centred values) in f32 with eight
/// partial sums per row so the loops vectorize.
pub fn layer_norm(op: &LayerNorm<'_, Vec<f32>>) -> Vec<f32> {
    let d = op.dim;
    let mut y = vec![0.0f32; op.rows * d];
    for (xr, yr) in op.x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
        let mean = sum8(xr, |v| v) / d as f32;
        let var = sum8(xr, |v| (v - mean) * (v - mean)) / d as f32;
        let inv = 1.0 / (var + op.eps).sqrt();
        for (((o, &v), &g), &b) in yr.iter_mut().zip(xr).zip(op.gamma).zip(op.beta) {
            *o = (v - mean) * inv * g + b;
        }
    }
    y
}

/// Σ f(v) with eight interleaved accumulators (vectorizable, and more accurate than one).
#[inline(always)]
fn sum8(xs: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = xs.chunks_exact(8);
    for (a, &v) in acc.iter_mut().zip(chunks.remainder()) {
        *a += f(v);
    }
    for c in chunks {
        for j in 0..8 {
            acc[j] += f(c[j]);
        }
    }
    acc.iter().sum()
}
