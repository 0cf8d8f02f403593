//! Argument checks every backend runs before an attention call: the spec against the sizes,
//! and each operand's layout against the tensor it addresses.

use crate::backend::{AttentionArgs, HeadLayout};
use crate::ensure;
use crate::error::Result;

/// Validates `args`; `len` gives a tensor's number of f32 values.
pub fn check_args<T>(args: &AttentionArgs<'_, T>, len: impl Fn(&T) -> usize) -> Result<()> {
    let d = args.dims;
    args.spec.validate(&d)?;
    let operand = |name: &str, t: &T, layout: &HeadLayout, seq: usize| -> Result<()> {
        ensure!(
            layout.row_stride >= d.head_dim || seq == 1,
            "{name}: row stride {} is smaller than headDim {}",
            layout.row_stride,
            d.head_dim
        );
        let need = layout.required_len(d.heads, seq, d.head_dim);
        ensure!(
            len(t) >= need,
            "{name} has {} values, but heads × seq × headDim = {} × {} × {} in its layout needs {}",
            len(t),
            d.heads,
            seq,
            d.head_dim,
            need
        );
        Ok(())
    };
    operand("q", args.q, &args.q_layout, d.seq_q)?;
    operand("k", args.k, &args.k_layout, d.seq_k)?;
    operand("v", args.v, &args.v_layout, d.seq_k)?;
    let o = &args.out_layout;
    let dense = d.heads * d.seq_q * d.head_dim;
    ensure!(
        o.required_len(d.heads, d.seq_q, d.head_dim) <= dense && o.row_stride >= d.head_dim && o.head_stride >= d.head_dim,
        "the output layout {o:?} does not fit a dense tensor of heads × seqQ × headDim = {dense} values"
    );
    Ok(())
}
