//! Full multi-head attention from inputs and projection matrices, on any backend.
//!
//!   Q = x·W_q + b_q,  K = c·W_k + b_k,  V = c·W_v + b_v        (c = x for self-attention)
//!   head_h = attention(Q_h, K_h, V_h)                           (per the spec: score, mask, …)
//!   out = concat_h(head_h)·W_o + b_o
//!
//! The projections are `[seq, heads·head_dim]` tensors whose head h occupies columns
//! h·head_dim .. (h+1)·head_dim; attention reads them in place through token-major layouts and
//! writes the concatenated heads the same way, so no head is ever transposed or copied.

use crate::attention::{AttentionDims, AttentionSpec};
use crate::backend::{AttentionArgs, AttentionOutput, Backend, HeadLayout, Linear};
use crate::ensure;
use crate::error::Result;

/// One multi-head attention call. Sequence lengths follow from the lengths of `x` and `context`.
pub struct MultiHeadArgs<'a, T> {
    /// [seq_q, d_model]
    pub x: &'a T,
    /// None: self-attention. Some([seq_k, d_model]): cross-attention to this sequence.
    pub context: Option<&'a T>,
    pub d_model: usize,
    pub heads: usize,
    pub head_dim: usize,
    /// [d_model, heads·head_dim] each (input-major: x·W).
    pub wq: &'a T,
    pub wk: &'a T,
    pub wv: &'a T,
    /// [heads·head_dim] each.
    pub bq: Option<&'a T>,
    pub bk: Option<&'a T>,
    pub bv: Option<&'a T>,
    /// [heads·head_dim, d_model]
    pub wo: &'a T,
    /// [d_model]
    pub bo: Option<&'a T>,
    pub spec: &'a AttentionSpec,
}

pub struct MultiHeadOutput<T> {
    /// [seq_q, d_model]: the output projection of the concatenated heads.
    pub output: T,
    /// The attention call itself: `output` is the concatenated heads [seq_q, heads·head_dim];
    /// `weights` [heads, seq_q, seq_k] when `spec.return_weights`; stats when `spec.stats`.
    pub attention: AttentionOutput<T>,
    pub seq_q: usize,
    pub seq_k: usize,
}

/// Checks every operand's length; returns (seq_q, seq_k).
pub fn check<B: Backend>(b: &B, args: &MultiHeadArgs<'_, B::Tensor>) -> Result<(usize, usize)> {
    let MultiHeadArgs { d_model, heads, head_dim, .. } = *args;
    ensure!(d_model > 0, "multiHead: dModel must be at least 1, got {d_model}");
    ensure!(heads > 0, "multiHead: heads must be at least 1, got {heads}");
    ensure!(head_dim > 0, "multiHead: headDim must be at least 1, got {head_dim}");
    // Checked: the sizes come from JS, and a wrapped product would pass the length checks below.
    let inner = heads.checked_mul(head_dim).filter(|n| n.checked_mul(d_model).is_some_and(|m| m < 1 << 31));
    let Some(inner) = inner else {
        return Err(crate::invalid!("multiHead: too large: dModel × heads × headDim = {d_model} × {heads} × {head_dim} must stay under 2³¹"));
    };
    let seq_of = |name: &str, t: &B::Tensor| -> Result<usize> {
        let n = b.len(t);
        ensure!(n > 0 && n % d_model == 0, "multiHead: {name} has {n} values, not a whole number (≥ 1) of rows of dModel = {d_model}");
        Ok(n / d_model)
    };
    let seq_q = seq_of("x", args.x)?;
    let seq_k = match args.context {
        Some(c) => seq_of("context", c)?,
        None => seq_q,
    };
    for (name, w, want) in [("wq", args.wq, d_model * inner), ("wk", args.wk, d_model * inner), ("wv", args.wv, d_model * inner), ("wo", args.wo, inner * d_model)] {
        ensure!(
            b.len(w) == want,
            "multiHead: {name} has {} values, expected {} (dModel = {d_model}, heads × headDim = {inner})",
            b.len(w),
            want
        );
    }
    for (name, bias, want) in [("bq", args.bq, inner), ("bk", args.bk, inner), ("bv", args.bv, inner), ("bo", args.bo, d_model)] {
        if let Some(t) = bias {
            ensure!(b.len(t) == want, "multiHead: {name} has {} values, expected {want}", b.len(t));
        }
    }
    Ok((seq_q, seq_k))
}

/// Multi-head self- or cross-attention on any backend.
pub fn multi_head<B: Backend>(b: &mut B, args: &MultiHeadArgs<'_, B::Tensor>) -> Result<MultiHeadOutput<B::Tensor>> {
    let (seq_q, seq_k) = check(b, args)?;
    let MultiHeadArgs { d_model, heads, head_dim, .. } = *args;
    let inner = heads * head_dim;
    let context = args.context.unwrap_or(args.x);
    let q = b.linear(&Linear::new(args.x, seq_q, args.wq, d_model, inner, args.bq))?; // [seq_q, inner]
    let k = b.linear(&Linear::new(context, seq_k, args.wk, d_model, inner, args.bk))?; // [seq_k, inner]
    let v = b.linear(&Linear::new(context, seq_k, args.wv, d_model, inner, args.bv))?; // [seq_k, inner]
    let heads_layout = HeadLayout::token_major(0, head_dim, inner);
    let attention = b.attention(&AttentionArgs {
        dims: AttentionDims { heads, seq_q, seq_k, head_dim },
        q: &q,
        q_layout: heads_layout,
        k: &k,
        k_layout: heads_layout,
        v: &v,
        v_layout: heads_layout,
        out_layout: heads_layout,
        spec: args.spec,
    })?;
    let output = b.linear(&Linear::new(&attention.output, seq_q, args.wo, inner, d_model, args.bo))?; // [seq_q, d_model]
    Ok(MultiHeadOutput { output, attention, seq_q, seq_k })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::CpuBackend;

    #[test]
    fn sizes_whose_product_overflows_are_refused() {
        let b = CpuBackend::new();
        let t = vec![0.0f32; 4];
        let spec = AttentionSpec::default();
        let args = MultiHeadArgs {
            x: &t,
            context: None,
            d_model: 2,
            heads: 1 << 40,
            head_dim: 1 << 40,
            wq: &t,
            wk: &t,
            wv: &t,
            bq: None,
            bk: None,
            bv: None,
            wo: &t,
            bo: None,
            spec: &spec,
        };
        let e = check(&b, &args).unwrap_err().to_string();
        assert!(e.contains("too large"), "{e}");
    }
}
