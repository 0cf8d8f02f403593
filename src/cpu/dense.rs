//! Dense ops on the CPU: linear (matmul + epilogue) and LayerNorm.

use crate::backend::{Activation, LayerNorm, Linear};
use crate::ensure;
use crate::error::Result;

/// Shape checks shared by both backends.
pub fn check_linear<T>(op: &Linear<'_, T>, len: impl Fn(&T) -> usize) -> Result<()> {
    let (r, i, o) = (op.rows, op.in_dim, op.out_dim);
    ensure!(r > 0 && i > 0 && o > 0, "linear: rows, in and out must be > 0 (got {r}, {i}, {o})");
    ensure!(len(op.x) == r * i, "linear: x has {} values, expected rows × in = {}", len(op.x), r * i);
    ensure!(len(op.w) == i * o, "linear: w has {} values, expected in × out = {}", len(op.w), i * o);
    if let Some(b) = op.bias {
        ensure!(len(b) == o, "linear: bias has {} values, expected {o}", len(b));
    }
    if let Some(res) = op.residual {
        ensure!(len(res) == r * o, "linear: residual has {} values, expected {}", len(res), r * o);
    }
    if let Some(s) = op.residual_scale {
        ensure!(op.residual.is_some(), "linear: residual_scale needs a residual");
        ensure!(len(s) == o, "linear: residual_scale has {} values, expected {o}", len(s));
    }
    Ok(())
}

pub fn check_layer_norm<T>(op: &LayerNorm<'_, T>, len: impl Fn(&T) -> usize) -> Result<()> {
    ensure!(op.rows > 0 && op.dim > 0, "layer_norm: rows and dim must be > 0");
    ensure!(len(op.x) == op.rows * op.dim, "layer_norm: x has {} values, expected {}", len(op.x), op.rows * op.dim);
    ensure!(len(op.gamma) == op.dim && len(op.beta) == op.dim, "layer_norm: gamma and beta must have {} values", op.dim);
    Ok(())
}

/// erf-based GELU, as `torch.nn.functional.gelu` (approximate='none').
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2))
}

pub fn linear(op: &Linear<'_, Vec<f32>>) -> Vec<f32> {
    let (rows, k, n) = (op.rows, op.in_dim, op.out_dim);
    let mut y = vec![0.0f32; rows * n];
    for r in 0..rows {
        let yr = &mut y[r * n..(r + 1) * n];
        if let Some(b) = op.bias {
            yr.copy_from_slice(b);
        }
        let xr = &op.x[r * k..(r + 1) * k];
        for (c, &xv) in xr.iter().enumerate() {
            let wr = &op.w[c * n..(c + 1) * n];
            for (o, &wv) in yr.iter_mut().zip(wr) {
                *o += xv * wv;
            }
        }
        if op.activation == Activation::Gelu {
            yr.iter_mut().for_each(|v| *v = gelu(*v));
        }
        if let Some(res) = op.residual {
            let rr = &res[r * n..(r + 1) * n];
            match op.residual_scale {
                Some(s) => yr.iter_mut().zip(rr).zip(s).for_each(|((v, &a), &g)| *v = a + g * *v),
                None => yr.iter_mut().zip(rr).for_each(|(v, &a)| *v += a),
            }
        }
    }
    y
}

pub fn layer_norm(op: &LayerNorm<'_, Vec<f32>>) -> Vec<f32> {
    let d = op.dim;
    let mut y = vec![0.0f32; op.rows * d];
    for (xr, yr) in op.x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
        let mean = xr.iter().sum::<f32>() / d as f32;
        let var = xr.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
        let inv = 1.0 / (var + op.eps).sqrt();
        for (j, o) in yr.iter_mut().enumerate() {
            *o = (xr[j] - mean) * inv * op.gamma[j] + op.beta[j];
        }
    }
    y
}
