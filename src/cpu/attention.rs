//! Attention on the CPU: scores, positions, masks, normalizers, dropout and stats.
//!
//! Query rows are processed in blocks of `ROW_BLOCK`. For the dot-product scores and for
//! weights · v a block is one matrix product through the cache- and register-blocked
//! `dense::matmul_packed_into` (SIMD128 in wasm), which reads q, k and v of any `HeadLayout` where
//! they lie; other scores, and RoPE, first gather a head into contiguous rows and take one
//! (query, key) pair at a time. Softmax exponentials go through the vectorizable [`exp_fast`].
//! The order of operations is the one documented in `attention::positions` and followed by
//! `attention::reference`.

use crate::attention::finite::{self, finish, SCORE_LIMIT};
use crate::attention::positions::{alibi_bias, alibi_slopes, relative_index, rope_rotate, rope_table};
use crate::attention::{dropout, size, AttentionDims, AttentionSpec, Mask, Normalizer, Positions, Score};
use crate::backend::{AttentionArgs, AttentionOutput, HeadLayout};
use crate::cpu::dense;
use crate::cpu::pool::{self, Shared};
use crate::error::Result;
use std::borrow::Cow;

/// Query rows sharing one pass over the keys and values: enough that packing k and v for the
/// matrix products costs little beside them.
const ROW_BLOCK: usize = 64;

/// Computes one attention call. `args` must have passed `attention::check::check_args`.
pub fn attention(args: &AttentionArgs<'_, Vec<f32>>) -> Result<AttentionOutput<Vec<f32>>> {
    let AttentionDims { heads, seq_q, seq_k, head_dim: d } = args.dims;
    let spec = args.spec;
    let rope = (spec.positions == Positions::Rope).then(|| rope_table(seq_q.max(seq_k), d));
    let slopes = alibi_slopes(heads);
    let mut output = zeros(heads * seq_q * d)?;
    // The weights (12 MB a layer for MiniLM at 512 tokens) are zeroed by the head pieces, in
    // parallel, not here.
    let mut weights = if spec.return_weights { Some(reserve(heads * seq_q * seq_k)?) } else { None };
    let mut entropy = spec.stats.then(|| vec![0.0f32; heads * seq_q]);
    let mut coverage = spec.stats.then(|| vec![0.0f32; heads * seq_k]);

    // [ROW_BLOCK, seq_k] per head: scores, then weights. When the weights are returned, a block
    // is computed in place in them (their rows for one head and block are contiguous).
    let mut scratch_blocks = if weights.is_some() { Vec::new() } else { zeros(heads * ROW_BLOCK * seq_k)? };
    let contiguous_softmax = spec.normalizer == Normalizer::Softmax && !matches!(spec.mask, Mask::TopK(_));
    let scale = 1.0 / (d as f32).sqrt();
    // Kept weights sum to at most 1/(1−p) (1 without dropout; a little more in rounding).
    let weight_sum = 1.001 * spec.dropout.map_or(1.0, |dr| dropout::rescale(dr.p)) as f64;
    let o = &args.out_layout;
    let out = Shared::new(&mut output);
    let (weights_out, blocks_out) = (weights.as_mut().map(Shared::spare), Shared::new(&mut scratch_blocks));
    let (entropy_out, coverage_out) = (entropy.as_deref_mut().map(Shared::new), coverage.as_deref_mut().map(Shared::new));
    // One piece per head: every head is computed by the same code on whichever thread. Work: two
    // products of d multiply-adds per (query, key) pair, and the softmax.
    pool::for_each(heads, heads * seq_q * seq_k * (2 * d + 16), |h| {
        let mut scratch = Scratch::default();
        // SAFETY (every `slice` below): piece h alone writes head h's weights, scratch block,
        // entropy, coverage and output rows.
        if let Some(w) = weights_out.as_ref() {
            unsafe { w.zeroed(h * seq_q * seq_k..(h + 1) * seq_q * seq_k) };
        }
        let (mut entropy, mut coverage) = unsafe {
            (entropy_out.as_ref().map(|e| e.slice(h * seq_q..(h + 1) * seq_q)), coverage_out.as_ref().map(|c| c.slice(h * seq_k..(h + 1) * seq_k)))
        };
        // Dot-product scores of a block are one matrix product q_block · kᵀ, and weights · v
        // another; kᵀ [d, seq_k] and v [seq_k, d] are packed once for all blocks of the head,
        // straight from where the projection left them — unless their magnitudes could
        // overflow a product, when they go the way of the other scores: pairwise, on rows
        // scaled by powers of two (`attention::finite`).
        let dot = matches!(spec.score, Score::Dot | Score::ScaledDot)
            && dot_stays_finite(head_max(args.q, &args.q_layout, h, seq_q, d), head_max(args.k, &args.k_layout, h, seq_k, d), d);
        let in_place = dot && rope.is_none();
        let v = &args.v[args.v_layout.offset + h * args.v_layout.head_stride..];
        let v_max = head_max(args.v, &args.v_layout, h, seq_k, d);
        let v_packed = dense::pack_weight_strided(v, args.v_layout.row_stride, seq_k, d);
        let (q, ldq, scores) = match dot {
            true => {
                let (q, ldq) = head(args.q, &args.q_layout, h, seq_q, d, in_place, rope.as_deref());
                let (k, ldk) = head(args.k, &args.k_layout, h, seq_k, d, in_place, rope.as_deref());
                let k_t = dense::pack_weight_transposed(&k, ldk, seq_k, d);
                (q, ldq, HeadScores::Product { k_t })
            }
            false => {
                let q = gather(args.q, &args.q_layout, h, seq_q, d, None);
                let k = gather(args.k, &args.k_layout, h, seq_k, d, None);
                (Cow::Owned(Vec::new()), d, HeadScores::Pairwise(Scorer::new(spec, q, k, d, rope.as_deref())))
            }
        };
        for i0 in (0..seq_q).step_by(ROW_BLOCK) {
            let rows = ROW_BLOCK.min(seq_q - i0);
            let block = unsafe {
                match weights_out.as_ref() {
                    Some(w) => w.slice((h * seq_q + i0) * seq_k..(h * seq_q + i0 + rows) * seq_k),
                    None => blocks_out.slice(h * ROW_BLOCK * seq_k..(h * ROW_BLOCK + rows) * seq_k),
                }
            };
            // The 1/√d of a scaled dot product waits for the softmax pass where nothing comes
            // between them (one pass less over the block; the same numbers).
            let mut pending_scale = 1.0;
            match &scores {
                HeadScores::Product { k_t } => {
                    dense::matmul_packed_into(&q[i0 * ldq..], ldq, k_t, rows, d, seq_k, block, seq_k);
                    if spec.score == Score::ScaledDot {
                        if contiguous_softmax && !has_bias_or_temperature(spec) {
                            pending_scale = scale;
                        } else {
                            block.iter_mut().for_each(|x| *x *= scale);
                        }
                    }
                }
                HeadScores::Pairwise(scorer) => scorer.block(i0, rows, block),
            }
            for r in 0..rows {
                let i = i0 + r;
                let row = &mut block[r * seq_k..(r + 1) * seq_k];
                add_bias_and_temperature(spec, slopes[h], i, row);
                match (contiguous_softmax, live_keys(spec.mask, i, seq_k)) {
                    (true, Some(live)) => softmax_range(row, live, pending_scale),
                    _ => normalize_row(spec.normalizer, spec.mask, i, row, &mut scratch),
                }
                if let (Some(e), Some(c)) = (entropy.as_mut(), coverage.as_mut()) {
                    e[i] = row_entropy(row);
                    for (cj, &w) in c.iter_mut().zip(row.iter()) {
                        *cj += w;
                    }
                }
                if let Some(dr) = spec.dropout {
                    let scale = dropout::rescale(dr.p);
                    for (j, w) in row.iter_mut().enumerate() {
                        let kept = dropout::keep(dr.seed, h as u32, i as u32, j as u32, dr.p);
                        *w = if kept { *w * scale } else { 0.0 };
                    }
                }
            }
            // [rows, d] = [rows, seq_k] · [seq_k, d], into its place in the output.
            let at = o.offset + h * o.head_stride + i0 * o.row_stride;
            if v_max as f64 * weight_sum <= f32::MAX as f64 / 2.0 {
                dense::matmul_packed_shared(block, seq_k, &v_packed, rows, seq_k, d, &out, at, o.row_stride);
            } else {
                saturating_output(block, rows, seq_k, v, args.v_layout.row_stride, d, &out, at, o.row_stride);
            }
        }
    });
    drop(weights_out);
    if let Some(w) = weights.as_mut() {
        // SAFETY: every head zeroed its part, heads · seq_q · seq_k values in all (capacity ≥ that).
        unsafe { w.set_len(heads * seq_q * seq_k) };
    }
    Ok(AttentionOutput { output, weights, entropy, coverage })
}

/// A zeroed buffer, or an error where the memory cannot be had (in wasm a failed allocation
/// would abort the module).
fn zeros(n: usize) -> Result<Vec<f32>> {
    let mut v = reserve(n)?;
    v.resize(n, 0.0);
    Ok(v)
}

/// An empty buffer with room for n values, or the error of [`zeros`].
fn reserve(n: usize) -> Result<Vec<f32>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| crate::invalid!("too large: could not allocate {} for attention", size::bytes(n as u64 * 4)))?;
    Ok(v)
}

/// Largest |value| of head h of an operand.
fn head_max(x: &[f32], layout: &HeadLayout, h: usize, seq: usize, d: usize) -> f32 {
    let mut m = 0.0f32;
    for i in 0..seq {
        let at = layout.offset + h * layout.head_stride + i * layout.row_stride;
        m = x[at..at + d].iter().fold(m, |m, &x| if x.abs() > m { x.abs() } else { m });
    }
    m
}

/// Whether every dot product of rows bounded by `q_max` and `k_max` (also after RoPE, which can
/// grow an element by √2) stays within the score range, so the plain matrix product is exact
/// to rounding.
fn dot_stays_finite(q_max: f32, k_max: f32, d: usize) -> bool {
    2.0 * q_max as f64 * k_max as f64 * d as f64 <= SCORE_LIMIT as f64 && q_max < 1e30 && k_max < 1e30
}

/// weights · v in f64, saturated to ±f32::MAX: for values so large the f32 product could
/// overflow (and +∞ − ∞ give NaN).
#[allow(clippy::too_many_arguments)]
fn saturating_output(w: &[f32], rows: usize, seq_k: usize, v: &[f32], ldv: usize, d: usize, out: &Shared<'_>, at: usize, ldo: usize) {
    for r in 0..rows {
        // SAFETY: the calling piece alone writes these rows of its head.
        let out = unsafe { out.slice(at + r * ldo..at + r * ldo + d) };
        for (c, o) in out.iter_mut().enumerate() {
            let sum: f64 = (0..seq_k).map(|j| w[r * seq_k + j] as f64 * v[j * ldv + c] as f64).sum();
            *o = sum.clamp(-f32::MAX as f64, f32::MAX as f64) as f32;
        }
    }
}

/// Whether [`add_bias_and_temperature`] changes a row.
fn has_bias_or_temperature(spec: &AttentionSpec) -> bool {
    spec.temperature != 1.0 || matches!(spec.positions, Positions::Alibi | Positions::RelativeBias(_))
}

/// score ← (score + position bias) / temperature over one row, skipped when it is the identity.
/// (`finite::finish`: saturating, never ∞.)
fn add_bias_and_temperature(spec: &AttentionSpec, slope: f32, i: usize, row: &mut [f32]) {
    let t = spec.temperature;
    match &spec.positions {
        Positions::Alibi => row.iter_mut().enumerate().for_each(|(j, s)| *s = finish(*s, alibi_bias(slope, i, j), t)),
        Positions::RelativeBias(b) => {
            let seq_k = row.len();
            row.iter_mut().enumerate().for_each(|(j, s)| *s = finish(*s, b[relative_index(i, j, seq_k)], t));
        }
        Positions::None | Positions::Rope if t != 1.0 => row.iter_mut().for_each(|s| *s = finish(*s, 0.0, t)),
        Positions::None | Positions::Rope => {}
    }
}

/// The keys of query row i a mask leaves, when they are one run (every mask but top-k).
fn live_keys(mask: Mask, i: usize, seq_k: usize) -> Option<std::ops::Range<usize>> {
    (!matches!(mask, Mask::TopK(_))).then(|| mask.key_range(i, i + 1, seq_k))
}

/// Softmax of `scale`·row[live] in place, zeros elsewhere (all zeros when `live` is empty): the
/// common case of [`normalize_row`], in vectorized passes (explicit SIMD128 in wasm). `scale` > 0,
/// so the largest scaled value is the largest value scaled: the numbers are those of scaling
/// first.
fn softmax_range(row: &mut [f32], live: std::ops::Range<usize>, scale: f32) {
    if live.is_empty() {
        row.fill(0.0);
        return;
    }
    row[..live.start].fill(0.0);
    row[live.end..].fill(0.0);
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    simd::softmax(&mut row[live], scale);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    softmax_scalar(&mut row[live], scale);
}

/// The largest value (NaNs ignored), z ← exp_fast(z − max), then z / Σz with the sum in f64: an
/// f32 sum over thousands of keys drifts by ~1e-6, which shows in every weight (and ×ln seqK in
/// the entropy). Comparisons rather than `f32::max`, which wasm lowers to a call.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn softmax_scalar(z: &mut [f32], scale: f32) {
    let pick = |a: f32, b: f32| if b > a { b } else { a };
    let mut lanes = [f32::NEG_INFINITY; 8];
    let chunks = z.chunks_exact(8);
    let mut m = chunks.remainder().iter().fold(f32::NEG_INFINITY, |a, &b| pick(a, b));
    for c in chunks {
        for l in 0..8 {
            lanes[l] = pick(lanes[l], c[l]);
        }
    }
    m = lanes.into_iter().fold(m, pick) * scale;
    let mut acc = [0.0f64; 4];
    let mut chunks = z.chunks_exact_mut(4);
    for c in &mut chunks {
        for l in 0..4 {
            c[l] = exp_fast(c[l] * scale - m);
            acc[l] += c[l] as f64;
        }
    }
    let mut sum = acc.iter().sum::<f64>();
    for v in chunks.into_remainder() {
        *v = exp_fast(*v * scale - m);
        sum += *v as f64;
    }
    let inv = (1.0 / sum) as f32;
    z.iter_mut().for_each(|s| *s *= inv);
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::exp_fast;
    use crate::cpu::dense::madd;
    use core::arch::wasm32::*;

    /// [`super::softmax_scalar`] on f32x4 lanes: the same max, the same exponentials
    /// ([`exp_fast_x4`] is bit-identical to `exp_fast` but for fused multiply-adds in the
    /// relaxed-SIMD build), the f64 sum in four partial sums.
    pub fn softmax(z: &mut [f32], scale: f32) {
        let n4 = z.len() / 4 * 4;
        let p = z.as_mut_ptr();
        // SAFETY: every vector access is at i + 4 ≤ n4 ≤ z.len(); unaligned access is allowed.
        unsafe {
            // Four running maxima: one is a chain of dependent maxps, a latency per vector. The
            // largest value does not depend on the order (NaN lanes of z are skipped; a ±0 maximum
            // gives the same exponentials either way).
            let n16 = z.len() / 16 * 16;
            let mut mx = [f32x4_splat(f32::NEG_INFINITY); 4];
            for i in (0..n16).step_by(16) {
                for (l, m) in mx.iter_mut().enumerate() {
                    *m = f32x4_pmax(*m, v128_load(p.add(i + 4 * l) as *const v128));
                }
            }
            for i in (n16..n4).step_by(4) {
                mx[0] = f32x4_pmax(mx[0], v128_load(p.add(i) as *const v128));
            }
            let mv = f32x4_pmax(f32x4_pmax(mx[0], mx[1]), f32x4_pmax(mx[2], mx[3]));
            let pick = |a: f32, b: f32| if b > a { b } else { a };
            let lanes = [f32x4_extract_lane::<0>(mv), f32x4_extract_lane::<1>(mv), f32x4_extract_lane::<2>(mv), f32x4_extract_lane::<3>(mv)];
            let m = z[n4..].iter().copied().chain(lanes).fold(f32::NEG_INFINITY, pick) * scale;
            let (scale4, m4) = (f32x4_splat(scale), f32x4_splat(m));
            // The sum in its own pass: inside the exponential loop V8 runs out of registers and
            // keeps the f64 accumulators on the stack, a store-to-load chain per iteration.
            for i in (0..n4).step_by(4) {
                let e = exp_fast_x4(madd(v128_load(p.add(i) as *const v128), scale4, f32x4_neg(m4)));
                v128_store(p.add(i) as *mut v128, e);
            }
            let (mut lo, mut hi) = (f64x2_splat(0.0), f64x2_splat(0.0));
            for i in (0..n4).step_by(4) {
                let e = v128_load(p.add(i) as *const v128);
                lo = f64x2_add(lo, f64x2_promote_low_f32x4(e));
                hi = f64x2_add(hi, f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 0, 1>(e, e)));
            }
            let mut sum = f64x2_extract_lane::<0>(lo) + f64x2_extract_lane::<1>(lo) + f64x2_extract_lane::<0>(hi) + f64x2_extract_lane::<1>(hi);
            for v in &mut z[n4..] {
                *v = exp_fast(*v * scale - m);
                sum += *v as f64;
            }
            let inv = f32x4_splat((1.0 / sum) as f32);
            for i in (0..n4).step_by(4) {
                v128_store(p.add(i) as *mut v128, f32x4_mul(v128_load(p.add(i) as *const v128), inv));
            }
            let inv = (1.0 / sum) as f32;
            z[n4..].iter_mut().for_each(|s| *s *= inv);
        }
    }

    /// [`exp_fast`] on four lanes: the same operations in the same order, so bit-identical,
    /// except that its multiply-adds fuse in the relaxed-SIMD build ([`madd`]).
    #[inline(always)]
    fn exp_fast_x4(x: v128) -> v128 {
        let lo = f32x4_splat(-87.0);
        let x = f32x4_pmin(f32x4_pmax(x, lo), f32x4_splat(0.0)); // x.clamp(−87, 0)
        let n = f32x4_floor(madd(x, f32x4_splat(std::f32::consts::LOG2_E), f32x4_splat(0.5)));
        let r = madd(n, f32x4_splat(2.121_944_4e-4), madd(n, f32x4_splat(-0.693_359_4), x));
        let mut p = f32x4_splat(1.987_569_1e-4);
        for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5.000_000_1e-1] {
            p = madd(p, r, f32x4_splat(c));
        }
        let er = f32x4_add(madd(f32x4_mul(p, r), r, r), f32x4_splat(1.0));
        // 2^n from the exponent bits. n is a whole number in [−126, 0], so in n + 2^23 + 127
        // the low mantissa bits hold n + 127 exactly; shifting them into the exponent field gives
        // what `(n as i32 + 127) << 23` does, without the saturating conversion (several
        // instructions on x86).
        let e = i32x4_shl(f32x4_add(n, f32x4_splat(8_388_608.0 + 127.0)), 23);
        v128_andnot(f32x4_mul(er, e), f32x4_le(x, lo))
    }
}

/// e^x for x ≤ 0 (softmax arguments), branch-free so a row of it vectorizes: x = n·ln 2 + r with
/// |r| ≤ ln2/2, e^r by the Cephes `expf` polynomial (relative error ≈ 1e-7), times 2^n built in
/// the exponent bits. Below −87 (where e^x is under f32's normal range) it returns 0.
#[inline(always)]
pub fn exp_fast(x: f32) -> f32 {
    let x = x.clamp(-87.0, 0.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4; // ln 2 = 0.693359375 − 2.12194440e-4
    let mut p = 1.987_569_1e-4f32;
    for c in [1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5.000_000_1e-1] {
        p = p * r + c;
    }
    let er = p * r * r + r + 1.0;
    let e = f32::from_bits((((n as i32) + 127) as u32) << 23);
    if x <= -87.0 {
        0.0
    } else {
        er * e
    }
}

/// Head `h` of an operand as rows `ld` values apart: where it lies when `in_place`, otherwise
/// copied into contiguous rows (`ld` = d) and rotated by RoPE when a table is given.
fn head<'a>(x: &'a [f32], layout: &HeadLayout, h: usize, seq: usize, d: usize, in_place: bool, rope: Option<&[f32]>) -> (Cow<'a, [f32]>, usize) {
    match in_place {
        true => (Cow::Borrowed(&x[layout.offset + h * layout.head_stride..]), layout.row_stride),
        false => (Cow::Owned(gather(x, layout, h, seq, d, rope)), d),
    }
}

/// Head `h` of an operand as contiguous [seq, d] rows, rotated by RoPE when a table is given.
fn gather(x: &[f32], layout: &HeadLayout, h: usize, seq: usize, d: usize, rope: Option<&[f32]>) -> Vec<f32> {
    let mut out = Vec::with_capacity(seq * d);
    for i in 0..seq {
        let start = layout.offset + h * layout.head_stride + i * layout.row_stride;
        out.extend_from_slice(&x[start..start + d]);
        if let Some(table) = rope {
            rope_rotate(&mut out[i * d..], i, table);
        }
    }
    out
}

/// Dot product with eight partial sums, which the compiler turns into SIMD lanes.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| (x - y) * (x - y)).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += (x[l] - y[l]) * (x[l] - y[l]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// How a head's scores are made: dot products as one matrix product per block of queries with
/// kᵀ packed once, any other score (or dot products of huge rows) one (query, key) pair at a time.
enum HeadScores<'a> {
    Product { k_t: Vec<f32> },
    Pairwise(Scorer<'a>),
}

/// Raw scores of one head, one (query, key) pair at a time, on rows scaled by powers of two so
/// that no product overflows (`attention::finite`), with whatever per-row data the score
/// function needs precomputed.
struct Scorer<'a> {
    kind: &'a Score,
    /// [seq_q, width] and [seq_k, width]: the scaled (then rotated) q and k rows, or for the
    /// additive score their projections W_q q and W_k k (width = hidden).
    q: Vec<f32>,
    k: Vec<f32>,
    width: usize,
    /// Each row's scale: row = scaled row · 2^exp.
    q_exp: Vec<i32>,
    k_exp: Vec<i32>,
    /// √‖row‖² of each scaled q and k row (cosine only).
    q_norm: Vec<f32>,
    k_norm: Vec<f32>,
    scale: f32,
}

/// Scales each row of `x` ([n, d]) by 2^−exponent (exact), then rotates it by RoPE when a table
/// is given; returns the exponents.
fn scale_rows(x: &mut [f32], d: usize, rope: Option<&[f32]>) -> Vec<i32> {
    x.chunks_exact_mut(d)
        .enumerate()
        .map(|(i, row)| {
            let e = finite::row_exponent(row);
            let f = finite::pow2(-e);
            row.iter_mut().for_each(|x| *x *= f);
            if let Some(table) = rope {
                rope_rotate(row, i, table);
            }
            e
        })
        .collect()
}

impl<'a> Scorer<'a> {
    fn new(spec: &'a AttentionSpec, mut q: Vec<f32>, mut k: Vec<f32>, d: usize, rope: Option<&[f32]>) -> Self {
        let q_exp = scale_rows(&mut q, d, rope);
        let k_exp = scale_rows(&mut k, d, rope);
        let norms = |x: &[f32]| x.chunks_exact(d).map(|r| dot(r, r).sqrt()).collect::<Vec<f32>>();
        let (q_norm, k_norm) = match spec.score {
            Score::Cosine => (norms(&q), norms(&k)),
            _ => (Vec::new(), Vec::new()),
        };
        let (q, k, width) = match &spec.score {
            Score::Additive(a) => {
                // W x = 2^e · W x̂, exact in f64, saturated.
                let project = |x: &[f32], exps: &[i32], w: &[f32]| -> Vec<f32> {
                    x.chunks_exact(d)
                        .zip(exps)
                        .flat_map(|(row, &e)| {
                            w.chunks_exact(d).map(move |wu| {
                                let p: f64 = wu.iter().zip(row).map(|(&a, &b)| a as f64 * b as f64).sum();
                                (p * 2f64.powi(e)).clamp(-SCORE_LIMIT as f64, SCORE_LIMIT as f64) as f32
                            })
                        })
                        .collect()
                };
                (project(&q, &q_exp, &a.wq), project(&k, &k_exp, &a.wk), a.hidden)
            }
            _ => (q, k, d),
        };
        Scorer { kind: &spec.score, q, k, width, q_exp, k_exp, q_norm, k_norm, scale: 1.0 / (d as f32).sqrt() }
    }

    /// Raw scores of query rows i0 .. i0+rows against every key, into out[r * seq_k + j].
    fn block(&self, i0: usize, rows: usize, out: &mut [f32]) {
        let w = self.width;
        let seq_k = self.k.len() / w;
        for (j, kj) in self.k.chunks_exact(w).enumerate() {
            for r in 0..rows {
                let i = i0 + r;
                let qi = &self.q[i * w..(i + 1) * w];
                let e = self.q_exp[i] + self.k_exp[j];
                out[r * seq_k + j] = match self.kind {
                    Score::Dot => finite::scale_sat(dot(qi, kj), e, SCORE_LIMIT),
                    Score::ScaledDot => finite::scale_sat(dot(qi, kj) * self.scale, e, SCORE_LIMIT),
                    Score::Cosine => {
                        let n = self.q_norm[i] * self.k_norm[j];
                        if n == 0.0 {
                            0.0
                        } else {
                            dot(qi, kj) / n
                        }
                    }
                    Score::NegSqDist => {
                        // Both rows at the larger of their scales.
                        let c = self.q_exp[i].max(self.k_exp[j]);
                        let f = |e: i32| if e - c < -126 { 0.0 } else { finite::pow2(e - c) };
                        let dist = match self.q_exp[i] == self.k_exp[j] {
                            true => sq_dist(qi, kj),
                            false => sq_dist_scaled(qi, f(self.q_exp[i]), kj, f(self.k_exp[j])),
                        };
                        -finite::scale_sat(dist, 2 * c, SCORE_LIMIT)
                    }
                    Score::Additive(a) => {
                        let s: f64 = qi.iter().zip(kj).zip(&a.v).map(|((x, y), vu)| *vu as f64 * (x + y).tanh() as f64).sum();
                        s.clamp(-SCORE_LIMIT as f64, SCORE_LIMIT as f64) as f32
                    }
                };
            }
        }
    }
}

/// ‖a·fa − b·fb‖².
fn sq_dist_scaled(a: &[f32], fa: f32, b: &[f32], fb: f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| (x * fa - y * fb) * (x * fa - y * fb)).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            let t = x[l] * fa - y[l] * fb;
            acc[l] += t * t;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Per-row buffers, reused across rows.
#[derive(Default)]
struct Scratch {
    keep: Vec<bool>,
    order: Vec<usize>,
    values: Vec<f64>,
}

/// Masks and normalizes one row of scores in place; masked entries become exactly 0 and a row
/// with nothing left becomes all zeros.
fn normalize_row(normalizer: Normalizer, mask: Mask, i: usize, row: &mut [f32], ws: &mut Scratch) {
    mask_row(mask, i, row, ws);
    let keep = &ws.keep;
    ws.values.clear();
    ws.values.extend(row.iter().zip(keep).filter(|(_, &k)| k).map(|(&s, _)| s as f64));
    if ws.values.is_empty() {
        row.fill(0.0);
        return;
    }
    match normalizer {
        Normalizer::Softmax => {
            let m = ws.values.iter().cloned().fold(f64::NEG_INFINITY, f64::max) as f32;
            // The sum in f64: a sequential f32 sum over thousands of keys drifts by ~1e-6, which
            // shows in every weight (and ×ln seqK in the entropy).
            let mut sum = 0.0f64;
            for (s, &k) in row.iter_mut().zip(keep) {
                *s = if k { exp_fast(*s - m) } else { 0.0 };
                sum += *s as f64;
            }
            let inv = (1.0 / sum) as f32;
            for s in row.iter_mut() {
                *s *= inv;
            }
        }
        // Both on the scores shifted by their maximum (exact in f64), so that the largest is 0
        // and always in the support: unshifted, τ = (Σz − 1)/k loses the 1 once z is large, and
        // the row came out all zeros.
        Normalizer::Sparsemax => {
            let m = shift_by_max(&mut ws.values);
            let tau = sparsemax_threshold(&mut ws.values);
            for (s, &k) in row.iter_mut().zip(keep) {
                *s = if k { (*s as f64 - m - tau).max(0.0) as f32 } else { 0.0 };
            }
        }
        Normalizer::Entmax15 => {
            let m = shift_by_max(&mut ws.values);
            let tau = entmax15_threshold(&mut ws.values);
            for (s, &k) in row.iter_mut().zip(keep) {
                *s = if k { ((*s as f64 - m) / 2.0 - tau).max(0.0).powi(2) as f32 } else { 0.0 };
            }
        }
    }
}

/// Which keys of query row i survive the mask, into `ws.keep`. For top-k: the k-th largest
/// (score, index) in the order "score descending (IEEE total order), then index ascending" is
/// found by selection, and an entry survives when it does not come after it.
fn mask_row(mask: Mask, i: usize, row: &[f32], ws: &mut Scratch) {
    let n = row.len();
    ws.keep.clear();
    match mask {
        Mask::None => ws.keep.resize(n, true),
        Mask::Causal | Mask::Window(_) => ws.keep.extend((0..n).map(|j| mask.allows(i, j))),
        Mask::TopK(k) if k >= n => ws.keep.resize(n, true),
        Mask::TopK(k) => {
            let order = |a: &usize, b: &usize| row[*b].total_cmp(&row[*a]).then(a.cmp(b));
            ws.order.clear();
            ws.order.extend(0..n);
            let (_, &mut kth, _) = ws.order.select_nth_unstable_by(k - 1, order);
            ws.keep.extend((0..n).map(|j| order(&j, &kth) != std::cmp::Ordering::Greater));
        }
    }
}

/// Subtracts the largest value from every value; returns it.
fn shift_by_max(z: &mut [f64]) -> f64 {
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    z.iter_mut().for_each(|x| *x -= m);
    m
}

/// τ of sparsemax by sorting (sorts `z` in place, descending).
fn sparsemax_threshold(z: &mut [f64]) -> f64 {
    z.sort_unstable_by(|a, b| b.total_cmp(a));
    let (mut cum, mut support_sum, mut support) = (0.0, z[0], 1usize);
    for (r, &x) in z.iter().enumerate() {
        cum += x;
        if 1.0 + (r + 1) as f64 * x > cum {
            support = r + 1;
            support_sum = cum;
        }
    }
    (support_sum - 1.0) / support as f64
}

/// τ of 1.5-entmax on x = z/2 by sorting (sorts `z` in place, descending); prefix mean and
/// squared deviations are updated with Welford's recurrence to avoid cancellation.
fn entmax15_threshold(z: &mut [f64]) -> f64 {
    z.sort_unstable_by(|a, b| b.total_cmp(a));
    let (mut mean, mut m2, mut tau_star) = (0.0f64, 0.0f64, z[0] / 2.0 - 1.0);
    for (r, &zr) in z.iter().enumerate() {
        let x = zr / 2.0;
        let rho = (r + 1) as f64;
        let delta = x - mean;
        mean += delta / rho;
        m2 += delta * (x - mean);
        let tau = mean - ((1.0 - m2) / rho).max(0.0).sqrt();
        if tau <= x {
            tau_star = tau;
        }
    }
    tau_star
}

/// −Σ w ln w over the positive weights (nats).
fn row_entropy(row: &[f32]) -> f32 {
    row.iter().filter(|&&w| w > 0.0).map(|&w| -(w as f64) * (w as f64).ln()).sum::<f64>() as f32
}

#[cfg(test)]
mod tests {
    use super::exp_fast;

    #[test]
    fn exp_fast_matches_libm() {
        // Relative error over the softmax range down to −87 (below it exp_fast returns 0), vs f64 exp.
        let mut worst = 0.0f64;
        for i in 0..870_000 {
            let x = -(i as f32) * 1e-4;
            let want = (x as f64).exp();
            worst = worst.max((exp_fast(x) as f64 - want).abs() / want);
        }
        assert!(worst < 5e-7, "relative error {worst}");
        assert_eq!(exp_fast(0.0), 1.0);
        assert_eq!(exp_fast(-100.0), 0.0);
        assert_eq!(exp_fast(f32::NEG_INFINITY), 0.0);
    }
}
