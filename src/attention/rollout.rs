//! Attention rollout (Abnar & Zuidema 2020) across layers.
//!
//! Per layer l the heads' maps are fused into one [seq, seq] map (mean, max or min over heads);
//! with `residual` the skip connection is accounted for as Ã = 0.5·A + 0.5·I; every row is then
//! renormalized to sum to 1 (max/min fusion and the identity change the sums). The rollout is
//! the product through the layers, R_l = Ã_l · R_{l−1} with R_1 = Ã_1, so R_L = Ã_L ⋯ Ã_1 and
//! row i of R_L says how much each input token flows into token i at the top.
//!
//! Both backends return every cumulative R_l, [layers, seq, seq]: they are computed anyway, and
//! pages show the rollout up to any layer. `last_layer` picks R_L out of them.

use crate::backend::Backend;
use crate::ensure;
use crate::error::Result;

/// How one layer's heads are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HeadFusion {
    #[default]
    Mean,
    Max,
    Min,
}

impl HeadFusion {
    /// Parses the JS names `'mean' | 'max' | 'min'`.
    pub fn parse(name: &str) -> Result<HeadFusion> {
        match name {
            "mean" => Ok(HeadFusion::Mean),
            "max" => Ok(HeadFusion::Max),
            "min" => Ok(HeadFusion::Min),
            other => Err(crate::invalid!("headFusion must be 'mean', 'max' or 'min', got '{other}'")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RolloutOptions {
    /// Add the identity for the residual connection (0.5·A + 0.5·I).
    pub residual: bool,
    pub head_fusion: HeadFusion,
}

impl Default for RolloutOptions {
    fn default() -> Self {
        RolloutOptions { residual: true, head_fusion: HeadFusion::Mean }
    }
}

/// One rollout call.
pub struct RolloutArgs<'a, T> {
    /// [layers, heads, seq, seq], each row a distribution over keys (attention weights).
    pub maps: &'a T,
    pub layers: usize,
    pub heads: usize,
    pub seq: usize,
    pub options: RolloutOptions,
}

/// Checks sizes; `len` gives a tensor's number of f32 values.
pub fn check<T>(args: &RolloutArgs<'_, T>, len: impl Fn(&T) -> usize) -> Result<()> {
    let RolloutArgs { layers, heads, seq, .. } = *args;
    ensure!(layers > 0, "rollout: layers must be at least 1, got {layers}");
    ensure!(heads > 0, "rollout: heads must be at least 1, got {heads}");
    ensure!(seq > 0, "rollout: seq must be at least 1, got {seq}");
    let n = layers.checked_mul(heads).and_then(|n| n.checked_mul(seq)).and_then(|n| n.checked_mul(seq));
    ensure!(n.is_some_and(|n| n < 1 << 31), "rollout: layers × heads × seq² = {layers} × {heads} × {seq}² is too large");
    let n = n.unwrap_or(0);
    ensure!(
        len(args.maps) == n,
        "rollout: maps has {} values, expected layers × heads × seq × seq = {layers} × {heads} × {seq} × {seq} = {n}",
        len(args.maps)
    );
    Ok(())
}

/// Rollout on any backend: cumulative maps [layers, seq, seq] (see the module docs).
pub fn rollout<B: Backend>(backend: &mut B, args: &RolloutArgs<'_, B::Tensor>) -> Result<B::Tensor> {
    backend.rollout(args)
}

/// The full rollout R_L [seq, seq] out of the cumulative maps a backend returned.
pub fn last_layer(cumulative: &[f32], seq: usize) -> &[f32] {
    &cumulative[cumulative.len() - seq * seq..]
}

/// Fuses one layer's heads, adds the residual and renormalizes rows: [heads, seq, seq] → [seq, seq].
/// Same arithmetic, in the same order, as `rollout_fuse` in shaders/rollout.wgsl.
fn fuse_layer(maps: &[f32], heads: usize, seq: usize, options: RolloutOptions, out: &mut [f32]) {
    let plane = seq * seq;
    for r in 0..seq {
        let row = &mut out[r * seq..(r + 1) * seq];
        let mut sum = 0.0f32;
        for (c, o) in row.iter_mut().enumerate() {
            let mut f = maps[r * seq + c];
            for h in 1..heads {
                let x = maps[h * plane + r * seq + c];
                f = match options.head_fusion {
                    HeadFusion::Mean => f + x,
                    HeadFusion::Max => f.max(x),
                    HeadFusion::Min => f.min(x),
                };
            }
            if options.head_fusion == HeadFusion::Mean {
                f /= heads as f32;
            }
            if options.residual {
                f = 0.5 * f + if r == c { 0.5 } else { 0.0 };
            }
            *o = f;
            sum += f;
        }
        // A row that fused to all zeros (possible without the residual) stays zero.
        let inv = if sum > 0.0 { 1.0 / sum } else { 0.0 };
        row.iter_mut().for_each(|x| *x *= inv);
    }
}

/// `out = a · b` for [seq, seq] matrices.
fn matmul(a: &[f32], b: &[f32], seq: usize, out: &mut [f32]) {
    out.fill(0.0);
    for r in 0..seq {
        let orow = &mut out[r * seq..(r + 1) * seq];
        for (k, &arc) in a[r * seq..(r + 1) * seq].iter().enumerate() {
            if arc != 0.0 {
                for (o, &bv) in orow.iter_mut().zip(&b[k * seq..(k + 1) * seq]) {
                    *o += arc * bv;
                }
            }
        }
    }
}

/// Rollout on the CPU: cumulative maps [layers, seq, seq].
pub fn rollout_cpu(args: &RolloutArgs<'_, Vec<f32>>) -> Result<Vec<f32>> {
    check(args, |t| t.len())?;
    let RolloutArgs { layers, heads, seq, options, .. } = *args;
    let plane = seq * seq;
    let mut cumulative = vec![0.0f32; layers * plane];
    let mut fused = vec![0.0f32; plane];
    for l in 0..layers {
        let maps = &args.maps[l * heads * plane..(l + 1) * heads * plane];
        if l == 0 {
            fuse_layer(maps, heads, seq, options, &mut cumulative[..plane]);
        } else {
            fuse_layer(maps, heads, seq, options, &mut fused);
            let (done, rest) = cumulative.split_at_mut(l * plane);
            matmul(&fused, &done[(l - 1) * plane..], seq, &mut rest[..plane]);
        }
    }
    Ok(cumulative)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(maps: &Vec<f32>, layers: usize, heads: usize, seq: usize, options: RolloutOptions) -> RolloutArgs<'_, Vec<f32>> {
        RolloutArgs { maps, layers, heads, seq, options }
    }

    #[test]
    fn one_layer_of_identity_maps_is_the_identity() {
        let seq = 5;
        let eye: Vec<f32> = (0..seq * seq).map(|i| if i / seq == i % seq { 1.0 } else { 0.0 }).collect();
        let maps: Vec<f32> = eye.iter().chain(&eye).chain(&eye).cloned().collect(); // 3 heads
        for residual in [false, true] {
            for head_fusion in [HeadFusion::Mean, HeadFusion::Max, HeadFusion::Min] {
                let out = rollout_cpu(&args(&maps, 1, 3, seq, RolloutOptions { residual, head_fusion })).unwrap();
                assert_eq!(out, eye, "{residual} {head_fusion:?}");
            }
        }
    }

    #[test]
    fn two_layers_by_hand() {
        // seq 2, one head. A1 = [[1, 0], [0.5, 0.5]], A2 = [[0.5, 0.5], [0, 1]].
        // Residual: Ã1 = [[1, 0], [0.25, 0.75]], Ã2 = [[0.75, 0.25], [0, 1]] (rows already sum to 1).
        // R2 = Ã2 · Ã1 = [[0.75 + 0.0625, 0.1875], [0.25, 0.75]] = [[0.8125, 0.1875], [0.25, 0.75]].
        let maps = vec![1.0, 0.0, 0.5, 0.5, 0.5, 0.5, 0.0, 1.0];
        let out = rollout_cpu(&args(&maps, 2, 1, 2, RolloutOptions::default())).unwrap();
        assert_eq!(&out[..4], &[1.0, 0.0, 0.25, 0.75]);
        assert_eq!(last_layer(&out, 2), &[0.8125, 0.1875, 0.25, 0.75]);
        // Without the residual: R2 = A2 · A1 = [[0.75, 0.25], [0.5, 0.5]].
        let out = rollout_cpu(&args(&maps, 2, 1, 2, RolloutOptions { residual: false, head_fusion: HeadFusion::Mean })).unwrap();
        assert_eq!(last_layer(&out, 2), &[0.75, 0.25, 0.5, 0.5]);
    }

    #[test]
    fn max_and_min_fusion_renormalize_rows() {
        // Two heads on seq 2: max = [[1, 0.5], [0.5, 1]] → rows / 1.5; min = [[0.5, 0], [0, 0.5]] → identity.
        let maps = vec![1.0, 0.0, 0.0, 1.0, 0.5, 0.5, 0.5, 0.5];
        let o = |head_fusion| rollout_cpu(&args(&maps, 1, 2, 2, RolloutOptions { residual: false, head_fusion })).unwrap();
        let max = o(HeadFusion::Max);
        for (a, b) in max.iter().zip([2.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 2.0 / 3.0]) {
            assert!((a - b).abs() < 1e-7);
        }
        assert_eq!(o(HeadFusion::Min), vec![1.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn bad_sizes_and_names_are_errors() {
        let maps = vec![0.0; 7];
        let e = rollout_cpu(&args(&maps, 1, 1, 2, RolloutOptions::default())).unwrap_err().to_string();
        assert!(e.contains("maps has 7 values"), "{e}");
        assert!(rollout_cpu(&args(&maps, 0, 1, 2, RolloutOptions::default())).is_err());
        assert!(HeadFusion::parse("median").unwrap_err().to_string().contains("headFusion"));
    }
}
