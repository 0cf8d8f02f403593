//! Dense ops on the CPU: linear (matmul + fused epilogue) and LayerNorm.
//!
//! `linear` is the fast path: weights are packed into column panels `NR` wide and `KC` deep
//! that stay in L1 while the rows of a block of `x` stream past them, and an `MR × NR`
//! register-blocked micro-kernel accumulates in registers (explicit SIMD128 on wasm,
//! auto-vectorized natively).
//! Every dot product is the same sequence of f32 operations as in [`reference::linear`]
//! (bias first, then `+ x·w` for k = 0, 1, …, no fused multiply-add), so without GELU the two
//! agree exactly; GELU uses a vectorizable erf ([`gelu_fast`]) instead of libm's.

use crate::backend::{Activation, LayerNorm, Linear, Weight};
use crate::cpu::pool::{self, Shared};
use crate::ensure;
use crate::error::Result;

/// Shape checks shared by both backends; `uploaded_is(w, in, out)` says whether a weight the
/// backend uploaded holds an [in, out] matrix.
pub fn check_linear<T, W>(op: &Linear<'_, T, W>, len: impl Fn(&T) -> usize, uploaded_is: impl Fn(&W, usize, usize) -> bool) -> Result<()> {
    let (r, i, o) = (op.rows, op.in_dim, op.out_dim);
    ensure!(r > 0 && i > 0 && o > 0, "linear: rows, in and out must be > 0 (got {r}, {i}, {o})");
    let (ri, io, ro) = (r.checked_mul(i), i.checked_mul(o), r.checked_mul(o));
    ensure!(ri.is_some() && io.is_some() && ro.is_some(), "linear: {r} × {i} × {o} is too large");
    ensure!(Some(len(op.x)) == ri, "linear: x has {} values, expected rows × in = {r} × {i}", len(op.x));
    match op.w {
        Weight::Tensor(w) => ensure!(Some(len(w)) == io, "linear: w has {} values, expected in × out = {i} × {o}", len(w)),
        Weight::Uploaded(w) => ensure!(uploaded_is(w, i, o), "linear: the uploaded weight is not {i} × {o}"),
    }
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

/// erf-based GELU, as `torch.nn.functional.gelu` (approximate='none'); the reference.
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// tanh-approximated GELU, as `torch.nn.functional.gelu(x, approximate='tanh')`:
/// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
pub fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    0.5 * x * (1.0 + libm::tanhf(SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x)))
}

/// erf(z) ≈ z·P(z²)/Q(z²) on [−4, 4]: the coefficients of P and of Q, highest power first.
const GELU_P: [f32; 7] = [-2.726_142_3e-10, 2.770_681_4e-8, -2.101_024e-6, -5.692_506_4e-5, -7.349_906_3e-4, -2.954_6e-3, -1.609_603_3e-2];
const GELU_Q: [f32; 5] = [-1.456_607_2e-5, -2.133_740_6e-4, -1.682_827e-3, -7.373_329e-3, -1.426_474e-2];

/// The same GELU with erf from a branch-free rational approximation (the one Eigen and XLA use;
/// |error| ≤ 7e-8 in erf before f32 rounding), so a row of it vectorizes; libm's `erff` is a
/// scalar call with branches and costs more than the matmul it follows. Differs from [`gelu`]
/// by ≤ 2e-6·(1 + |gelu(x)|).
#[inline(always)]
pub fn gelu_fast(x: f32) -> f32 {
    // Past |z| = 4, erf(z) is ±1 in f32; return exactly that (selects, not branches) so the
    // far negative tail gives 0 as libm does, not 0.5·x·(rounding error).
    let u = x * std::f32::consts::FRAC_1_SQRT_2;
    let z = u.clamp(-4.0, 4.0);
    let z2 = z * z;
    let mut p = GELU_P[0];
    for &a in &GELU_P[1..] {
        p = p * z2 + a;
    }
    let mut q = GELU_Q[0];
    for &b in &GELU_Q[1..] {
        q = q * z2 + b;
    }
    let erf = if u >= 4.0 {
        1.0
    } else if u <= -4.0 {
        -1.0
    } else {
        z * p / q
    };
    0.5 * x * (1.0 + erf)
}

/// [`gelu_fast`] over a slice.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn gelu_fast_slice(y: &mut [f32]) {
    y.iter_mut().for_each(|v| *v = gelu_fast(*v));
}

/// [`gelu_fast`] over a slice, four lanes at a time: the same operations, with the polynomials'
/// multiply-adds fused in the relaxed-SIMD build ([`madd`]), which LLVM cannot do for scalar code.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn gelu_fast_slice(y: &mut [f32]) {
    use core::arch::wasm32::*;
    let mut chunks = y.chunks_exact_mut(4);
    for c in &mut chunks {
        // SAFETY: a chunk holds four values; unaligned access is allowed.
        unsafe {
            let x = v128_load(c.as_ptr() as *const v128);
            let u = f32x4_mul(x, f32x4_splat(std::f32::consts::FRAC_1_SQRT_2));
            let z = f32x4_pmin(f32x4_pmax(u, f32x4_splat(-4.0)), f32x4_splat(4.0));
            let z2 = f32x4_mul(z, z);
            let mut p = f32x4_splat(GELU_P[0]);
            for &a in &GELU_P[1..] {
                p = madd(p, z2, f32x4_splat(a));
            }
            let mut q = f32x4_splat(GELU_Q[0]);
            for &b in &GELU_Q[1..] {
                q = madd(q, z2, f32x4_splat(b));
            }
            let erf = f32x4_div(f32x4_mul(z, p), q);
            let erf = v128_bitselect(f32x4_splat(-1.0), erf, f32x4_le(u, f32x4_splat(-4.0)));
            let erf = v128_bitselect(f32x4_splat(1.0), erf, f32x4_ge(u, f32x4_splat(4.0)));
            let g = f32x4_mul(f32x4_mul(f32x4_splat(0.5), x), f32x4_add(f32x4_splat(1.0), erf));
            v128_store(c.as_mut_ptr() as *mut v128, g);
        }
    }
    chunks.into_remainder().iter_mut().for_each(|v| *v = gelu_fast(*v));
}

/// The epilogue of one output row: activation, then the (scaled) residual add. The reference
/// uses libm's erf, the fast path [`gelu_fast`].
fn epilogue<W>(op: &Linear<'_, Vec<f32>, W>, row: usize, cols: std::ops::Range<usize>, y: &mut [f32], fast: bool) {
    match op.activation {
        Activation::Gelu if fast => gelu_fast_slice(y),
        Activation::Gelu => y.iter_mut().for_each(|v| *v = gelu(*v)),
        // Only the checkpoints trained with it use it: libm's tanh, reference and fast path alike.
        Activation::GeluTanh => y.iter_mut().for_each(|v| *v = gelu_tanh(*v)),
        Activation::None => {}
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

    pub fn linear<W>(op: &Linear<'_, Vec<f32>, W>) -> Vec<f32> {
        let Weight::Tensor(w) = op.w else { panic!("the reference reads row-major weights") };
        let (rows, k, n) = (op.rows, op.in_dim, op.out_dim);
        let mut y = vec![0.0f32; rows * n];
        for r in 0..rows {
            let yr = &mut y[r * n..(r + 1) * n];
            for (o, out) in yr.iter_mut().enumerate() {
                let mut acc = op.bias.map_or(0.0, |b| b[o]);
                for c in 0..k {
                    acc += op.x[r * k + c] * w[c * n + o];
                }
                *out = acc;
            }
            epilogue(op, r, 0..n, yr, false);
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
/// Depth of one k block: a packed [KC, NR] panel is 16 KiB and stays in L1 while the rows of
/// the [rows, KC] block of x (in L2) stream past it. 512 (not 256): ViT-S and MiniLM widths (384) then
/// take one pass, not two, over y; measured 5–10 % faster for the DINOv2 forward in wasm.
const KC: usize = 512;

/// `y = epilogue(x · w + bias)`, cache-blocked and register-blocked. Shapes must already have
/// been checked with [`check_linear`].
pub fn linear(op: &Linear<'_, Vec<f32>, PackedWeight>) -> Vec<f32> {
    let (rows, k, n) = (op.rows, op.in_dim, op.out_dim);
    let mut y = vec![0.0f32; rows * n];
    let w = match op.w {
        Weight::Tensor(w) => Panels::Pack(w),
        Weight::Uploaded(w) => Panels::Packed(&w.panels),
    };
    gemm(op.x, k, w, rows, k, n, &Shared::new(&mut y), 0, n, op.bias.map(|b| b.as_slice()), &|row, cols, yr| epilogue(op, row, cols, yr, true));
    y
}

/// The CPU backend's uploaded weight: an [in_dim, out_dim] matrix packed once by
/// [`pack_weight`], which otherwise costs half a 17-token forward.
#[derive(Debug)]
pub struct PackedWeight {
    panels: Vec<f32>,
    in_dim: usize,
    out_dim: usize,
}

impl PackedWeight {
    pub fn new(w: &[f32], in_dim: usize, out_dim: usize) -> Result<PackedWeight> {
        ensure!(in_dim.checked_mul(out_dim) == Some(w.len()), "weight has {} values, expected {in_dim} × {out_dim}", w.len());
        Ok(PackedWeight { panels: pack_weight(w, in_dim, out_dim), in_dim, out_dim })
    }

    pub fn is(&self, in_dim: usize, out_dim: usize) -> bool {
        (self.in_dim, self.out_dim) == (in_dim, out_dim)
    }
}

/// Length of an [in_dim, out_dim] weight packed by [`pack_weight`]: out_dim padded to whole panels.
pub fn packed_len(in_dim: usize, out_dim: usize) -> usize {
    in_dim * out_dim.div_ceil(NR) * NR
}

/// An [in_dim, out_dim] row-major weight rearranged into the panels [`linear`] multiplies
/// with, in the order it reads them: k blocks of `KC`, then column panels of `NR`, each
/// [kc][NR] (zero-padded past out_dim). Weights packed once at load time spare every forward
/// the copy.
pub fn pack_weight(w: &[f32], in_dim: usize, out_dim: usize) -> Vec<f32> {
    assert_eq!(w.len(), in_dim * out_dim, "pack_weight: w is not {in_dim} × {out_dim}");
    pack_weight_strided(w, out_dim, in_dim, out_dim)
}

/// [`pack_weight`] for a matrix whose rows lie `ld` values apart (a head's v inside a fused
/// QKV projection).
pub fn pack_weight_strided(w: &[f32], ld: usize, in_dim: usize, out_dim: usize) -> Vec<f32> {
    assert!(holds(w.len(), in_dim, out_dim, ld), "pack_weight_strided: w does not hold {in_dim} rows of {out_dim} values {ld} apart");
    pack_panels(in_dim, out_dim, |k0, kc, n0, nr, panel| pack(&w[k0 * ld..], ld, kc, n0, nr, panel))
}

/// [`pack_weight`] of the transpose of `m` [rows, cols] (rows `ld` values apart), i.e. of a
/// [cols, rows] matrix, without writing the transpose out: kᵀ for q · kᵀ.
pub fn pack_weight_transposed(m: &[f32], ld: usize, rows: usize, cols: usize) -> Vec<f32> {
    assert!(holds(m.len(), rows, cols, ld), "pack_weight_transposed: m does not hold {rows} rows of {cols} values {ld} apart");
    pack_panels(cols, rows, |k0, kc, n0, nr, panel| {
        for j in 0..nr {
            for (c, &v) in m[(n0 + j) * ld + k0..][..kc].iter().enumerate() {
                panel[c * NR + j] = v;
            }
        }
    })
}

/// A zeroed [in_dim, out_dim] weight in packed order (k blocks of `KC`, then column panels of
/// `NR`), each [kc][NR] panel filled by `fill(k0, kc, n0, nr, panel)`; columns past nr stay zero.
fn pack_panels(in_dim: usize, out_dim: usize, mut fill: impl FnMut(usize, usize, usize, usize, &mut [f32])) -> Vec<f32> {
    let mut packed = vec![0.0f32; packed_len(in_dim, out_dim)];
    let mut at = 0;
    for k0 in (0..in_dim).step_by(KC) {
        let kc = KC.min(in_dim - k0);
        for n0 in (0..out_dim).step_by(NR) {
            fill(k0, kc, n0, NR.min(out_dim - n0), &mut packed[at..at + kc * NR]);
            at += kc * NR;
        }
    }
    packed
}

/// Whether `len` values hold `rows` rows of `cols` values whose starts lie `ld` apart.
fn holds(len: usize, rows: usize, cols: usize, ld: usize) -> bool {
    rows == 0 || (ld >= cols && (rows - 1).checked_mul(ld).and_then(|v| v.checked_add(cols)).is_some_and(|need| len >= need))
}

/// Where `gemm` gets its weight panels: packed on the fly from a row-major [k, n] matrix, or
/// read from one packed by [`pack_weight`].
#[derive(Clone, Copy)]
enum Panels<'a> {
    Pack(&'a [f32]),
    Packed(&'a [f32]),
}

/// `y = x · w` for x [rows, k] (rows `ldx` apart) and w [k, n] packed by [`pack_weight`], into
/// a caller's buffer (rows `ldy` apart). Attention reads each head's q where the projection left
/// it, writes its scores straight into the weights it returns, and its output into place.
/// Panics if an operand does not fit its shape.
#[allow(clippy::too_many_arguments)]
pub fn matmul_packed_into(x: &[f32], ldx: usize, packed: &[f32], rows: usize, k: usize, n: usize, y: &mut [f32], ldy: usize) {
    matmul_packed_shared(x, ldx, packed, rows, k, n, &Shared::new(y), 0, ldy);
}

/// [`matmul_packed_into`] into rows of a buffer other pieces of a `pool::for_each` also write
/// (attention heads side by side in one output): y[at + r·ldy + c] for r < rows, c < n only.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_packed_shared(x: &[f32], ldx: usize, packed: &[f32], rows: usize, k: usize, n: usize, y: &Shared<'_>, at: usize, ldy: usize) {
    let fits = at.checked_add((rows.max(1) - 1).saturating_mul(ldy)).and_then(|v| v.checked_add(n)).is_some_and(|end| end <= y.len());
    assert!(holds(x.len(), rows, k, ldx) && packed.len() == packed_len(k, n) && ldy >= n && fits, "matmul_packed_into: operands do not fit {rows}×{k}·{k}×{n}");
    gemm(x, ldx, Panels::Packed(packed), rows, k, n, y, at, ldy, None, &|_, _, _| {});
}

/// Rows of one piece of a matrix product that `gemm` hands to the thread pool.
const MC: usize = 64;
/// Columns of one piece (a whole number of panels).
const NC: usize = 16 * NR;

/// `y = bias + x · w` (bias broadcast over rows; none: zero), then `finish(row, cols, y[row,
/// cols])` on each finished piece of a row. y is only written, so it need not be cleared. Rows
/// of x lie `ldx` values apart, rows of y `ldy`, from y[at].
///
/// The output is cut into `MC × NC` pieces, fixed by the shape, run on `pool::for_each`; every
/// output value is the same sequence of operations in any piece, on any thread.
#[allow(clippy::too_many_arguments)]
fn gemm(x: &[f32], ldx: usize, w: Panels<'_>, rows: usize, k: usize, n: usize, y: &Shared<'_>, at: usize, ldy: usize, bias: Option<&[f32]>, finish: &(dyn Fn(usize, std::ops::Range<usize>, &mut [f32]) + Sync)) {
    let (row_pieces, col_pieces) = (rows.div_ceil(MC), n.div_ceil(NC));
    pool::for_each(row_pieces * col_pieces, rows * k * n, |p| {
        let (r0, n0) = (p / col_pieces * MC, p % col_pieces * NC);
        let piece = Piece { rows: r0..(r0 + MC).min(rows), cols: n0..(n0 + NC).min(n) };
        gemm_piece(x, ldx, w, k, n, y, at, ldy, bias, finish, piece);
    });
}

/// Output rows and columns of one piece of [`gemm`].
struct Piece {
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
}

/// One piece of [`gemm`]. Loop nest: k blocks (outer, so one block of x is reused by every
/// panel) → column panels of w, packed → blocks of `MR` rows → the micro-kernel over the k
/// block. Partial sums wait in `y` between k blocks; reloading them keeps the summation order
/// of the reference.
#[allow(clippy::too_many_arguments)]
fn gemm_piece(x: &[f32], ldx: usize, w: Panels<'_>, k: usize, n: usize, y: &Shared<'_>, at: usize, ldy: usize, bias: Option<&[f32]>, finish: &(dyn Fn(usize, std::ops::Range<usize>, &mut [f32]) + Sync), piece: Piece) {
    let mut scratch = match w {
        Panels::Pack(_) => vec![0.0f32; KC.min(k) * NR],
        Panels::Packed(_) => Vec::new(),
    };
    let panels = n.div_ceil(NR);
    for k0 in (0..k).step_by(KC) {
        let kc = KC.min(k - k0);
        let last = k0 + kc == k;
        for n0 in piece.cols.clone().step_by(NR) {
            let nr = NR.min(n - n0);
            let panel: &[f32] = match w {
                Panels::Pack(w) => {
                    pack(&w[k0 * n..], n, kc, n0, nr, &mut scratch[..kc * NR]);
                    &scratch[..kc * NR]
                }
                // The k block starts after k0 full-depth rows of every panel.
                Panels::Packed(w) => &w[(k0 * panels + n0 / NR * kc) * NR..][..kc * NR],
            };
            let mut r0 = piece.rows.start;
            while r0 < piece.rows.end {
                let m = MR.min(piece.rows.end - r0);
                let x = &x[r0 * ldx + k0..];
                let tile = Tile { y, at, row0: r0, col0: n0, cols: nr, ld: ldy, start: (k0 == 0).then_some(bias) };
                match m {
                    MR => block::<MR>(x, ldx, kc, panel, tile),
                    3 => block::<3>(x, ldx, kc, panel, tile),
                    2 => block::<2>(x, ldx, kc, panel, tile),
                    _ => block::<1>(x, ldx, kc, panel, tile),
                }
                if last {
                    for row in r0..r0 + m {
                        let start = at + row * ldy + n0;
                        // SAFETY: this piece alone writes rows piece.rows × columns piece.cols.
                        finish(row, n0..n0 + nr, unsafe { y.slice(start..start + nr) });
                    }
                }
                r0 += m;
            }
        }
    }
}

/// Copies w[0..kc, n0..n0+nr] (row stride n) into `panel` as [kc][NR], zero-padding the columns
/// past nr. Full panels copy fixed-size arrays so no call to memcpy is emitted per row.
fn pack(w: &[f32], n: usize, kc: usize, n0: usize, nr: usize, panel: &mut [f32]) {
    for (c, dst) in panel.chunks_exact_mut(NR).take(kc).enumerate() {
        let src = &w[c * n + n0..c * n + n0 + nr];
        let dst: &mut [f32; NR] = dst.try_into().unwrap();
        if let Ok(full) = <&[f32; NR]>::try_from(src) {
            *dst = *full;
        } else {
            for (j, d) in dst.iter_mut().enumerate() {
                *d = src.get(j).copied().unwrap_or(0.0);
            }
        }
    }
}

/// Where an `M × NR` accumulator block lives in y: rows row0.. (`ld` apart, from y[at]),
/// columns col0..col0+cols.
struct Tile<'a> {
    y: &'a Shared<'a>,
    at: usize,
    row0: usize,
    col0: usize,
    cols: usize,
    ld: usize,
    /// In the first k block, where the sums start: the bias (or zero), not y.
    start: Option<Option<&'a [f32]>>,
}

impl Tile<'_> {
    /// Row i of the block in y.
    #[inline(always)]
    fn row(&self, i: usize) -> &mut [f32] {
        let at = self.at + (self.row0 + i) * self.ld + self.col0;
        // SAFETY: a tile lies inside the piece of y that only the running piece of gemm writes.
        unsafe { self.y.slice(at..at + self.cols) }
    }

    #[inline(always)]
    fn load<const M: usize>(&self) -> [[f32; NR]; M] {
        let mut acc = [[0.0f32; NR]; M];
        match self.start {
            Some(None) => return acc,
            Some(Some(bias)) => {
                let mut row = [0.0f32; NR];
                match <&[f32; NR]>::try_from(&bias[self.col0..self.col0 + self.cols]) {
                    Ok(full) => row = *full, // a fixed-size copy: no call to memcpy per tile
                    Err(_) => row[..self.cols].copy_from_slice(&bias[self.col0..self.col0 + self.cols]),
                }
                return [row; M];
            }
            None => {}
        }
        for (i, a) in acc.iter_mut().enumerate() {
            let y = self.row(i);
            match <&[f32; NR]>::try_from(&*y) {
                Ok(full) => *a = *full,
                Err(_) => a[..self.cols].copy_from_slice(y),
            }
        }
        acc
    }

    #[inline(always)]
    fn store<const M: usize>(&mut self, acc: &[[f32; NR]; M]) {
        for (i, a) in acc.iter().enumerate() {
            let y = self.row(i);
            match <&mut [f32; NR]>::try_from(&mut *y) {
                Ok(full) => *full = *a,
                Err(_) => y.copy_from_slice(&a[..self.cols]),
            }
        }
    }
}

/// y[tile] += x[0..M, 0..kc] · panel for `M` rows of x (`ldx` apart).
#[inline(always)]
fn block<const M: usize>(x: &[f32], ldx: usize, kc: usize, panel: &[f32], mut tile: Tile<'_>) {
    assert!(x.len() >= (M - 1) * ldx + kc && panel.len() >= kc * NR);
    let mut acc = tile.load::<M>();
    micro::<M>(x, ldx, kc, panel, &mut acc);
    tile.store(&acc);
}

/// `acc[i][j] += Σ_c x[i·ldx + c] · panel[c][j]` for c = 0, 1, …, kc − 1 in order. The caller has
/// checked `x.len() ≥ (M−1)·ldx + kc` and `panel.len() ≥ kc·NR`.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn micro<const M: usize>(x: &[f32], ldx: usize, kc: usize, panel: &[f32], acc: &mut [[f32; NR]; M]) {
    for c in 0..kc {
        // SAFETY: c < kc, so c·NR + NR ≤ kc·NR and i·ldx + c < (M−1)·ldx + kc (checked by the caller).
        let w: &[f32; NR] = unsafe { &*(panel.as_ptr().add(c * NR) as *const [f32; NR]) };
        for (i, a) in acc.iter_mut().enumerate() {
            let xv = unsafe { *x.get_unchecked(i * ldx + c) };
            for j in 0..NR {
                a[j] += xv * w[j];
            }
        }
    }
}

/// a·b + c. With `+relaxed-simd` in the build this is one fused multiply-add where the CPU has
/// one (twice the throughput; results then differ from the reference by rounding, not exactly).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub(crate) fn madd(a: core::arch::wasm32::v128, b: core::arch::wasm32::v128, c: core::arch::wasm32::v128) -> core::arch::wasm32::v128 {
    use core::arch::wasm32::*;
    #[cfg(target_feature = "relaxed-simd")]
    return f32x4_relaxed_madd(a, b, c);
    #[cfg(not(target_feature = "relaxed-simd"))]
    return f32x4_add(c, f32x4_mul(a, b));
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn micro<const M: usize>(x: &[f32], ldx: usize, kc: usize, panel: &[f32], acc: &mut [[f32; NR]; M]) {
    use core::arch::wasm32::*;
    // SAFETY: c < kc, so x[i·ldx + c] and panel[c·NR + 7] are in bounds (checked by the caller);
    // v128_load/store have no alignment requirement.
    unsafe {
        let mut acc0 = [f32x4_splat(0.0); M];
        let mut acc1 = [f32x4_splat(0.0); M];
        for i in 0..M {
            acc0[i] = v128_load(acc[i].as_ptr() as *const v128);
            acc1[i] = v128_load(acc[i].as_ptr().add(4) as *const v128);
        }
        let xp = x.as_ptr();
        let mut wp = panel.as_ptr();
        for c in 0..kc {
            let w0 = v128_load(wp as *const v128);
            let w1 = v128_load(wp.add(4) as *const v128);
            for i in 0..M {
                let xv = f32x4_splat(*xp.add(i * ldx + c));
                acc0[i] = madd(xv, w0, acc0[i]);
                acc1[i] = madd(xv, w1, acc1[i]);
            }
            wp = wp.add(NR);
        }
        for i in 0..M {
            v128_store(acc[i].as_mut_ptr() as *mut v128, acc0[i]);
            v128_store(acc[i].as_mut_ptr().add(4) as *mut v128, acc1[i]);
        }
    }
}

/// Row-wise LayerNorm, two-pass (mean, then variance of the centred values) in f32 with eight
/// partial sums per row so the loops vectorize.
pub fn layer_norm(op: &LayerNorm<'_, Vec<f32>>) -> Vec<f32> {
    let d = op.dim;
    let mut y = vec![0.0f32; op.rows * d];
    let out = Shared::new(&mut y);
    pool::for_each(op.rows.div_ceil(MC), op.rows * d * 4, |p| {
        let rows = p * MC..(p * MC + MC).min(op.rows);
        // SAFETY: piece p alone writes its rows.
        let y = unsafe { out.slice(rows.start * d..rows.end * d) };
        for (xr, yr) in op.x[rows.start * d..rows.end * d].chunks_exact(d).zip(y.chunks_exact_mut(d)) {
            let mean = sum8(xr, |v| v) / d as f32;
            let var = sum8(xr, |v| (v - mean) * (v - mean)) / d as f32;
            let inv = 1.0 / (var + op.eps).sqrt();
            for (((o, &v), &g), &b) in yr.iter_mut().zip(xr).zip(op.gamma).zip(op.beta) {
                *o = (v - mean) * inv * g + b;
            }
        }
    });
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
