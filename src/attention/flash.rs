//! Fused, tiled ("flash") softmax attention that never materializes the seqQ×seqK weights.
//!
//! Used when the caller does not ask for the weights. Queries are taken in blocks of `BLOCK_Q`
//! (one GPU workgroup, one invocation per query) and keys in tiles of `block_k(head_dim)` (what
//! one workgroup stages in workgroup memory). For each tile a query computes its scores, then
//! updates an online softmax (Milakov & Gimelshein 2018; Dao et al. 2022): a running max m, a
//! running sum l of exp(s − m) and an unnormalized output acc, rescaled by exp(m_old − m_new)
//! whenever the max grows. After the last tile the output is acc / l. Memory is O(seq·headDim).
//!
//! The CPU function below walks the same blocks and tiles in the same order as
//! `shaders/flash.wgsl`, so the two differ only in floating-point rounding.
//!
//! What fuses: softmax with mask none / causal / window (fully masked tiles are skipped), every
//! row-separable score (dot, scaled_dot, cosine, neg_sq_dist), any temperature, and every
//! position scheme: RoPE (q and k rotated as they are loaded, by the shared f32 `rope_table`),
//! ALiBi and relative bias (added to the score before ÷ temperature, as in
//! `attention::positions`). What does not,
//! and so runs on the unfused path (`supports` is false): top-k (a row's k-th largest score is
//! only known after a full pass), sparsemax and entmax15 (they need the whole sorted row),
//! stats (entropy needs the normalized weights), dropout (defined on the normalized weights),
//! the additive score (a hidden-size tanh per pair), and head_dim > `MAX_HEAD_DIM` (a query's
//! accumulator lives in registers).

use crate::attention::check::check_args;
use crate::attention::finite::{self, SCORE_LIMIT};
use crate::attention::positions::{alibi_bias, alibi_slopes, relative_index, rope_rotate, rope_table};
use crate::attention::{AttentionDims, AttentionSpec, Mask, Normalizer, Positions, Score};
use crate::backend::{AttentionArgs, HeadLayout};
use crate::ensure;
use crate::error::Result;

/// Queries per block: one GPU workgroup of this many invocations.
pub const BLOCK_Q: usize = 64;
/// Largest head_dim the fused kernel takes (the size of a query's private accumulator).
pub const MAX_HEAD_DIM: usize = 128;
/// f32 values of K (and as many of V) one tile stages: 2 × 4 KiB of workgroup memory, half of
/// WebGPU's default 16 KiB.
pub const TILE_FLOATS: usize = 1024;

/// Keys per tile for a head size: the largest of 32, 16, 8 whose tile of rows zero-padded to a
/// multiple of 8 values (as the GPU stages them, in vec4s) fits `TILE_FLOATS`.
pub const fn block_k(head_dim: usize) -> usize {
    let padded = head_dim.div_ceil(8) * 8;
    if 32 * padded <= TILE_FLOATS {
        32
    } else if 16 * padded <= TILE_FLOATS {
        16
    } else {
        8
    }
}

/// Key tiles one GPU dispatch walks (`CHUNK_TILES` in shaders/flash.wgsl, which calls them as
/// straight-line code). Also bounds one dispatch's run time: Mesa llvmpipe silently drops
/// dispatches whose workgroups loop over ~50 tiles, and real GPUs have watchdogs.
pub const GPU_CHUNK_TILES: usize = 4;

/// Keys per GPU dispatch; longer key ranges carry a state of heads × seq_q × (head_dim + 2) f32.
pub fn gpu_chunk_keys(head_dim: usize) -> usize {
    GPU_CHUNK_TILES * block_k(head_dim)
}

/// Whether the fused kernel computes `spec` (see the module docs for what falls back).
pub fn supports(spec: &AttentionSpec) -> bool {
    spec.normalizer == Normalizer::Softmax
        && matches!(spec.mask, Mask::None | Mask::Causal | Mask::Window(_))
        && !matches!(spec.score, Score::Additive(_))
        && spec.dropout.is_none()
        && !spec.stats
}

/// Whether the fused kernel takes these sizes.
pub fn supports_dims(dims: &AttentionDims) -> bool {
    dims.head_dim <= MAX_HEAD_DIM
}

/// The range of keys [start, end) that can be unmasked for some query in [i0, i1), and so the
/// tiles a block must visit; shared by both backends.
pub fn key_range(mask: Mask, i0: usize, i1: usize, seq_k: usize) -> (usize, usize) {
    match mask {
        Mask::Causal => (0, i1.min(seq_k)),
        Mask::Window(w) => (i0.saturating_sub(w).min(seq_k), i1.saturating_add(w).min(seq_k)),
        Mask::None | Mask::TopK(_) => (0, seq_k),
    }
}

fn allowed(mask: Mask, i: usize, j: usize) -> bool {
    match mask {
        Mask::Causal => j <= i,
        Mask::Window(w) => i.abs_diff(j) <= w,
        Mask::None | Mask::TopK(_) => true,
    }
}

/// Checks `args` for the fused path: a valid spec it supports and operands long enough.
pub fn check(args: &AttentionArgs<'_, Vec<f32>>) -> Result<()> {
    check_with(args, |t| t.len())
}

/// `check` for any tensor type, given its length in f32.
pub fn check_with<T>(args: &AttentionArgs<'_, T>, len: impl Fn(&T) -> usize) -> Result<()> {
    check_args(args, len)?;
    ensure!(supports(args.spec), "the fused attention kernel does not support this spec (see attention::flash::supports)");
    ensure!(
        supports_dims(&args.dims),
        "the fused attention kernel takes headDim ≤ {MAX_HEAD_DIM}, got {}",
        args.dims.head_dim
    );
    Ok(())
}

/// Row-separable score of the scaled rows q̂ = q·2^−eq and k̂ = k·2^−ek (raw: before bias and
/// temperature), saturated (`attention::finite`). `norms` = (‖q̂‖, ‖k̂‖), used by cosine.
#[inline]
fn score(kind: &Score, q: &[f32], k: &[f32], (eq, ek): (i32, i32), norms: (f32, f32)) -> f32 {
    match kind {
        Score::Dot => finite::scale_sat(dot(q, k), eq + ek, SCORE_LIMIT),
        Score::ScaledDot => finite::scale_sat(dot(q, k) / (q.len() as f32).sqrt(), eq + ek, SCORE_LIMIT),
        Score::Cosine => {
            let n = norms.0 * norms.1;
            if n == 0.0 {
                0.0
            } else {
                dot(q, k) / n
            }
        }
        Score::NegSqDist => {
            // Both rows at the larger of their scales (the GPU's factors: 2^(e − c), 0 below 2⁻¹²⁶).
            let c = eq.max(ek);
            let f = |e: i32| if e - c < -126 { 0.0 } else { finite::pow2(e - c) };
            let (fq, fk) = (f(eq), f(ek));
            -finite::scale_sat(lanes(q, k, |a, b| (a * fq - b * fk) * (a * fq - b * fk)), 2 * c, SCORE_LIMIT)
        }
        Score::Additive(_) => unreachable!("additive scores are rejected by flash::check"),
    }
}

/// Dot product with eight independent lanes, so it vectorizes.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    lanes(a, b, |x, y| x * y)
}

/// Σ_c f(a_c, b_c) with column c added into lane c mod 8 and the lanes summed in order, the
/// order of the GPU kernel (which zero-pads rows to a multiple of 8: the same sums).
#[inline]
fn lanes(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for l in 0..8 {
            acc[l] += f(x[l], y[l]);
        }
    }
    for (l, (x, y)) in ar.iter().zip(br).enumerate() {
        acc[l] += f(*x, *y);
    }
    acc.iter().sum::<f32>()
}

/// Copies head `h` of an operand into contiguous [seq, d] rows, each scaled by 2^−(its
/// exponent) when `exps` is given and then rotated by RoPE when `rope` is (so each key is
/// rotated once per head, not once per query block).
fn gather(x: &[f32], layout: &HeadLayout, h: usize, seq: usize, d: usize, rope: Option<&[f32]>, exps: Option<&mut Vec<i32>>) -> Vec<f32> {
    let mut out = Vec::with_capacity(seq * d);
    let mut exps = exps;
    for i in 0..seq {
        let at = layout.offset + h * layout.head_stride + i * layout.row_stride;
        out.extend_from_slice(&x[at..at + d]);
        let row = &mut out[i * d..];
        if let Some(exps) = exps.as_mut() {
            let e = finite::row_exponent(row);
            let f = finite::pow2(-e);
            row.iter_mut().for_each(|x| *x *= f);
            exps.push(e);
        }
        if let Some(table) = rope {
            rope_rotate(row, i, table);
        }
    }
    out
}

/// One query's online-softmax state.
struct Running {
    max: f32,
    sum: f32,
    acc: Vec<f32>,
}

/// Fused attention on the CPU, tiled like the GPU kernel. Returns the output in `out_layout`
/// (a dense tensor of heads × seq_q × head_dim values).
pub fn attention_cpu(args: &AttentionArgs<'_, Vec<f32>>) -> Result<Vec<f32>> {
    check(args)?;
    let AttentionDims { heads, seq_q, seq_k, head_dim: d } = args.dims;
    let spec = args.spec;
    let bk = block_k(d);
    let cosine = spec.score == Score::Cosine;
    let rope = (spec.positions == Positions::Rope).then(|| rope_table(seq_q.max(seq_k), d));
    let slopes = alibi_slopes(heads);
    let mut out = vec![0.0f32; heads * seq_q * d];
    let mut scores = vec![0.0f32; bk];
    let mut state: Vec<Running> = (0..BLOCK_Q).map(|_| Running { max: f32::NEG_INFINITY, sum: 0.0, acc: vec![0.0; d] }).collect();
    for h in 0..heads {
        // q and k rows scaled to their largest element (exact), v as a whole above 2⁶⁴, so no
        // product or sum overflows (`attention::finite`).
        let (mut q_exp, mut k_exp) = (Vec::with_capacity(seq_q), Vec::with_capacity(seq_k));
        let qh = gather(args.q, &args.q_layout, h, seq_q, d, rope.as_deref(), Some(&mut q_exp)); // [seq_q, d]
        let kh = gather(args.k, &args.k_layout, h, seq_k, d, rope.as_deref(), Some(&mut k_exp)); // [seq_k, d]
        let mut vh = gather(args.v, &args.v_layout, h, seq_k, d, None, None); // [seq_k, d]
        let v_exp = finite::v_exponent(vh.iter().fold(0.0f32, |m, &x| m.max(x.abs())));
        if v_exp > 0 {
            let f = finite::pow2(-v_exp);
            vh.iter_mut().for_each(|x| *x *= f);
        }
        let bias = |i: usize, j: usize| match &spec.positions {
            Positions::Alibi => alibi_bias(slopes[h], i, j),
            Positions::RelativeBias(b) => b[relative_index(i, j, seq_k)],
            Positions::None | Positions::Rope => 0.0,
        };
        let norm = |row: &[f32]| if cosine { dot(row, row).sqrt() } else { 0.0 };
        let k_norms: Vec<f32> = kh.chunks_exact(d).map(norm).collect();
        for i0 in (0..seq_q).step_by(BLOCK_Q) {
            let i1 = (i0 + BLOCK_Q).min(seq_q);
            for s in &mut state {
                s.max = f32::NEG_INFINITY;
                s.sum = 0.0;
                s.acc.fill(0.0);
            }
            let (k_start, k_end) = key_range(spec.mask, i0, i1, seq_k);
            // Tiles start at multiples of bk, as the GPU's do.
            let mut j0 = k_start / bk * bk;
            while j0 < k_end {
                let j1 = (j0 + bk).min(seq_k);
                for (i, st) in (i0..i1).zip(state.iter_mut()) {
                    let qi = &qh[i * d..(i + 1) * d];
                    let q_norm = norm(qi);
                    let mut tile_max = f32::NEG_INFINITY;
                    for (j, s) in (j0..j1).zip(scores.iter_mut()) {
                        *s = if allowed(spec.mask, i, j) {
                            let raw = score(&spec.score, qi, &kh[j * d..(j + 1) * d], (q_exp[i], k_exp[j]), (q_norm, k_norms[j]));
                            finite::finish(raw, bias(i, j), spec.temperature)
                        } else {
                            f32::NEG_INFINITY
                        };
                        tile_max = tile_max.max(*s);
                    }
                    if tile_max == f32::NEG_INFINITY {
                        continue; // every key of this tile is masked for this query
                    }
                    let new_max = st.max.max(tile_max);
                    let correction = (st.max - new_max).exp(); // exp(−∞) = 0 on the first tile
                    st.sum *= correction;
                    st.acc.iter_mut().for_each(|a| *a *= correction);
                    st.max = new_max;
                    for (j, &s) in (j0..j1).zip(scores.iter()) {
                        if s == f32::NEG_INFINITY {
                            continue;
                        }
                        let p = (s - new_max).exp();
                        st.sum += p;
                        for (a, &vv) in st.acc.iter_mut().zip(&vh[j * d..(j + 1) * d]) {
                            *a += p * vv;
                        }
                    }
                }
                j0 += bk;
            }
            let o = &args.out_layout;
            for (i, st) in (i0..i1).zip(state.iter()) {
                // A row with every key masked gives a zero output, as on the unfused path.
                let inv = if st.sum > 0.0 { 1.0 / st.sum } else { 0.0 };
                let at = o.offset + h * o.head_stride + i * o.row_stride;
                for (dst, &a) in out[at..at + d].iter_mut().zip(&st.acc) {
                    *dst = finite::scale_sat(a * inv, v_exp, f32::MAX);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(seed: usize, n: usize) -> Vec<f32> {
        (0..n).map(|i| ((i + 7 * seed) as f32 * 0.37).sin()).collect()
    }

    #[test]
    fn supports_only_what_one_pass_can_do() {
        let base = AttentionSpec { return_weights: false, ..Default::default() };
        assert!(supports(&base));
        assert!(supports(&AttentionSpec { mask: Mask::Window(3), score: Score::Cosine, ..base.clone() }));
        assert!(!supports(&AttentionSpec { mask: Mask::TopK(3), ..base.clone() }));
        assert!(!supports(&AttentionSpec { normalizer: Normalizer::Sparsemax, ..base.clone() }));
        assert!(!supports(&AttentionSpec { normalizer: Normalizer::Entmax15, ..base.clone() }));
        assert!(!supports(&AttentionSpec { stats: true, ..base.clone() }));
        assert!(!supports(&AttentionSpec { dropout: Some(crate::attention::Dropout { p: 0.1, seed: 1 }), ..base }));
    }

    #[test]
    fn key_ranges_cover_every_unmasked_key() {
        for mask in [Mask::None, Mask::Causal, Mask::Window(0), Mask::Window(5), Mask::Window(100)] {
            for (i0, i1, seq_k) in [(0, 7, 30), (64, 128, 70), (10, 12, 5), (100, 164, 40)] {
                let (s, e) = key_range(mask, i0, i1, seq_k);
                for i in i0..i1 {
                    for j in 0..seq_k {
                        if allowed(mask, i, j) {
                            assert!(s <= j && j < e, "{mask:?} i={i} j={j} outside [{s},{e})");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let dims = AttentionDims { heads: 2, seq_q: 3, seq_k: 4, head_dim: 8 };
        let spec = AttentionSpec { return_weights: false, ..Default::default() };
        let (q, k, v) = (values(1, 2 * 3 * 8), values(2, 2 * 4 * 8), values(3, 2 * 4 * 8 - 1));
        let args = AttentionArgs {
            dims,
            q: &q,
            q_layout: HeadLayout::head_major(3, 8),
            k: &k,
            k_layout: HeadLayout::head_major(4, 8),
            v: &v,
            v_layout: HeadLayout::head_major(4, 8),
            out_layout: HeadLayout::head_major(3, 8),
            spec: &spec,
        };
        let e = attention_cpu(&args).unwrap_err().to_string();
        assert!(e.contains("v has 63 values"), "{e}");
        let topk = AttentionSpec { mask: Mask::TopK(2), ..spec.clone() };
        let e = attention_cpu(&AttentionArgs { spec: &topk, v: &k, ..args }).unwrap_err().to_string();
        assert!(e.contains("does not support"), "{e}");
    }
}
