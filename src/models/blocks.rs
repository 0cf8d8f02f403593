//! Building blocks both models are made of, each holding its weights on the backend: a linear
//! layer (weights in the backend's own form), a LayerNorm, the feed-forward MLP and the
//! self-attention block.

use crate::attention::{AttentionDims, AttentionSpec};
use crate::backend::{Activation, AttentionArgs, Backend, LayerNorm as LayerNormOp, Linear as LinearOp, Weight};
use crate::error::{Error, Result};

/// `x · W + b` with W [in, out], kept as the backend's `upload_weight` makes it.
pub struct Linear<B: Backend> {
    weight: B::Weight,
    /// [out]
    bias: Option<B::Tensor>,
    inp: usize,
    out: usize,
}

impl<B: Backend> Linear<B> {
    pub fn load(b: &mut B, weight: &[f32], bias: Option<&[f32]>, inp: usize, out: usize) -> Result<Self> {
        let weight = b.upload_weight(weight, inp, out)?;
        let bias = bias.map(|v| b.upload(v)).transpose()?;
        Ok(Linear { weight, bias, inp, out })
    }

    /// The op for `x` [rows, in]; callers add an activation or a residual with `..`.
    pub fn op<'a>(&'a self, x: &'a B::Tensor, rows: usize) -> LinearOp<'a, B::Tensor, B::Weight> {
        LinearOp::with_weight(x, rows, Weight::Uploaded(&self.weight), self.inp, self.out, self.bias.as_ref())
    }
}

/// Row-wise LayerNorm over the last dimension.
pub struct LayerNorm<B: Backend> {
    weight: B::Tensor,
    bias: B::Tensor,
    dim: usize,
    eps: f32,
}

impl<B: Backend> LayerNorm<B> {
    pub fn load(b: &mut B, weight: &[f32], bias: &[f32], eps: f32) -> Result<Self> {
        Ok(LayerNorm { weight: b.upload(weight)?, bias: b.upload(bias)?, dim: weight.len(), eps })
    }

    /// `x` [rows, dim] → [rows, dim].
    pub fn forward(&self, b: &mut B, x: &B::Tensor, rows: usize) -> Result<B::Tensor> {
        b.layer_norm(&LayerNormOp { x, rows, dim: self.dim, gamma: &self.weight, beta: &self.bias, eps: self.eps })
    }
}

/// A residual branch's end: `residual + scale ⊙ y`, the scale being a per-channel layer scale
/// (DINOv2) or none (BERT).
#[derive(Clone, Copy)]
pub struct Residual<'a, T> {
    pub x: &'a T,
    pub scale: Option<&'a T>,
}

/// The feed-forward block: `residual + scale ⊙ (act(h · W1 + b1) · W2 + b2)`, act a GELU.
pub struct Mlp<B: Backend> {
    /// [hidden] → [inner] (BERT intermediate.dense, ViT mlp.fc1)
    fc1: Linear<B>,
    /// [inner] → [hidden] (BERT output.dense, ViT mlp.fc2)
    fc2: Linear<B>,
    /// After fc1: erf GELU unless the checkpoint was trained with another.
    activation: Activation,
}

impl<B: Backend> Mlp<B> {
    /// (weight, bias) of each linear.
    pub fn load(b: &mut B, fc1: (&[f32], &[f32]), fc2: (&[f32], &[f32]), hidden: usize, inner: usize) -> Result<Self> {
        Ok(Mlp { fc1: Linear::load(b, fc1.0, Some(fc1.1), hidden, inner)?, fc2: Linear::load(b, fc2.0, Some(fc2.1), inner, hidden)?, activation: Activation::Gelu })
    }

    pub fn with_activation(self, activation: Activation) -> Self {
        Mlp { activation, ..self }
    }

    /// `h` [rows, hidden] → [rows, hidden].
    pub fn forward(&self, b: &mut B, h: &B::Tensor, rows: usize, residual: Residual<'_, B::Tensor>) -> Result<B::Tensor> {
        let m = b.linear(&LinearOp { activation: self.activation, ..self.fc1.op(h, rows) })?; // [rows, inner]
        b.linear(&LinearOp { residual: Some(residual.x), residual_scale: residual.scale, ..self.fc2.op(&m, rows) })
    }
}

/// Multi-head self-attention over one fused q | k | v projection, then the output projection
/// into a residual: `residual + scale ⊙ (attention(h · Wqkv + bqkv) · Wo + bo)`.
pub struct SelfAttention<B: Backend> {
    /// [hidden] → [3·hidden]: q | k | v, heads side by side in each
    qkv: Linear<B>,
    /// [hidden] → [hidden]
    out: Linear<B>,
    heads: usize,
    head_dim: usize,
}

impl<B: Backend> SelfAttention<B> {
    /// (weight, bias) of the fused projection and of the output projection.
    pub fn load(b: &mut B, qkv: (&[f32], &[f32]), out: (&[f32], &[f32]), hidden: usize, heads: usize) -> Result<Self> {
        Ok(SelfAttention {
            qkv: Linear::load(b, qkv.0, Some(qkv.1), hidden, 3 * hidden)?,
            out: Linear::load(b, out.0, Some(out.1), hidden, hidden)?,
            heads,
            head_dim: hidden / heads,
        })
    }

    /// `h` [rows, hidden] → (output [rows, hidden], attention weights [heads, rows, rows]):
    /// scaled dot product, softmax, weights returned.
    pub fn forward(&self, b: &mut B, h: &B::Tensor, rows: usize, residual: Residual<'_, B::Tensor>) -> Result<(B::Tensor, B::Tensor)> {
        self.forward_keeping_qkv(b, h, rows, residual).map(|(y, weights, _)| (y, weights))
    }

    /// [`Self::forward`], also returning the fused projection [rows, 3·hidden] (q | k | v, biases
    /// added, before any scaling), for views that show a head's q, k and v.
    pub fn forward_keeping_qkv(&self, b: &mut B, h: &B::Tensor, rows: usize, residual: Residual<'_, B::Tensor>) -> Result<(B::Tensor, B::Tensor, B::Tensor)> {
        self.forward_with_stats(b, h, rows, residual, false).map(|(y, weights, qkv, _)| (y, weights, qkv))
    }

    /// [`Self::forward_keeping_qkv`], also returning, when `stats`, the entropy (nats) of each
    /// weight row [heads, rows], computed by the attention kernel as it normalizes the row.
    pub fn forward_with_stats(
        &self,
        b: &mut B,
        h: &B::Tensor,
        rows: usize,
        residual: Residual<'_, B::Tensor>,
        stats: bool,
    ) -> Result<(B::Tensor, B::Tensor, B::Tensor, Option<B::Tensor>)> {
        let qkv = b.linear(&self.qkv.op(h, rows))?; // [rows, 3·hidden]
        let dims = AttentionDims { heads: self.heads, seq_q: rows, seq_k: rows, head_dim: self.head_dim };
        let spec = AttentionSpec { stats, ..AttentionSpec::default() };
        let att = b.attention(&AttentionArgs::fused_qkv(dims, &qkv, &spec))?;
        let weights = att.weights.ok_or_else(|| Error::Invalid("the backend returned no attention weights".into()))?;
        let entropy = match (stats, att.entropy) {
            (true, None) => return Err(Error::Invalid("the backend returned no attention entropy".into())),
            (_, e) => e,
        };
        let y = b.linear(&LinearOp { residual: Some(residual.x), residual_scale: residual.scale, ..self.out.op(&att.output, rows) })?;
        Ok((y, weights, qkv, entropy))
    }
}
