//! Building blocks both models are made of, each holding its weights on the backend: a linear
//! layer (weights in the backend's own layout) and a LayerNorm.

use crate::backend::{Backend, LayerNorm as LayerNormOp, Linear as LinearOp, WeightLayout};
use crate::error::Result;

/// `x · W + b` with W [in, out], uploaded by the backend's `upload_weight`.
pub struct Linear<T> {
    weight: T,
    /// [out]
    bias: Option<T>,
    layout: WeightLayout,
    inp: usize,
    out: usize,
}

impl<T> Linear<T> {
    pub fn load<B: Backend<Tensor = T>>(b: &mut B, weight: &[f32], bias: Option<&[f32]>, inp: usize, out: usize) -> Result<Self> {
        let (weight, layout) = b.upload_weight(weight, inp, out)?;
        let bias = bias.map(|v| b.upload(v)).transpose()?;
        Ok(Linear { weight, bias, layout, inp, out })
    }

    /// The op for `x` [rows, in]; callers add an activation or a residual with `..`.
    pub fn op<'a>(&'a self, x: &'a T, rows: usize) -> LinearOp<'a, T> {
        LinearOp { w_layout: self.layout, ..LinearOp::new(x, rows, &self.weight, self.inp, self.out, self.bias.as_ref()) }
    }
}

/// Row-wise LayerNorm over the last dimension.
pub struct LayerNorm<T> {
    weight: T,
    bias: T,
    dim: usize,
    eps: f32,
}

impl<T> LayerNorm<T> {
    pub fn load<B: Backend<Tensor = T>>(b: &mut B, weight: &[f32], bias: &[f32], eps: f32) -> Result<Self> {
        Ok(LayerNorm { weight: b.upload(weight)?, bias: b.upload(bias)?, dim: weight.len(), eps })
    }

    /// `x` [rows, dim] → [rows, dim].
    pub fn forward<B: Backend<Tensor = T>>(&self, b: &mut B, x: &T, rows: usize) -> Result<T> {
        b.layer_norm(&LayerNormOp { x, rows, dim: self.dim, gamma: &self.weight, beta: &self.bias, eps: self.eps })
    }
}
