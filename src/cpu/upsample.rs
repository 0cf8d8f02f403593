//! The saliency decoder's upsampling ops on the CPU, and the shape checks both backends share:
//! `col2im` (the rest of a 4×4 stride-2 transposed convolution, with BatchNorm and ReLU) and
//! `resize` (bilinear, optionally followed by a sigmoid). GPU twins: `shaders/upsample.wgsl`.

use crate::backend::{Col2Im, Resize};
use crate::ensure;
use crate::error::Result;
use crate::vision::resample;

/// Taps per input pixel of a 4×4 kernel.
const TAPS: usize = 16;

pub fn check_col2im<T>(op: &Col2Im<'_, T>, len: impl Fn(&T) -> usize) -> Result<()> {
    let (w, h, c) = (op.width, op.height, op.channels);
    ensure!(w > 0 && h > 0 && c > 0, "col2im: width, height and channels must be > 0 (got {w}, {h}, {c})");
    let rows = w.checked_mul(h).and_then(|p| p.checked_add(op.skip));
    let taps = rows.and_then(|r| r.checked_mul(TAPS * c));
    let out = w.checked_mul(h).and_then(|p| p.checked_mul(4 * c));
    ensure!(taps.is_some() && out.is_some() && c < usize::MAX / TAPS, "col2im: {w} × {h} × {c} is too large");
    ensure!(Some(len(op.taps)) == taps, "col2im: taps has {} values, expected (skip + height × width) × 16 × channels = ({} + {h} × {w}) × 16 × {c}", len(op.taps), op.skip);
    ensure!(len(op.scale) == c, "col2im: scale has {} values, expected {c}", len(op.scale));
    ensure!(len(op.shift) == c, "col2im: shift has {} values, expected {c}", len(op.shift));
    Ok(())
}

pub fn check_resize<T>(op: &Resize<'_, T>, len: impl Fn(&T) -> usize) -> Result<()> {
    let Resize { planes, width, height, out_width, out_height, .. } = *op;
    ensure!(
        planes > 0 && width > 0 && height > 0 && out_width > 0 && out_height > 0,
        "resize: planes and sizes must be > 0 (got {planes}, {width}×{height} → {out_width}×{out_height})"
    );
    let n_in = planes.checked_mul(width).and_then(|v| v.checked_mul(height));
    let n_out = planes.checked_mul(out_width).and_then(|v| v.checked_mul(out_height));
    ensure!(n_in.is_some() && n_out.is_some(), "resize: {planes} × {width}×{height} → {out_width}×{out_height} is too large");
    ensure!(Some(len(op.x)) == n_in, "resize: x has {} values, expected planes × height × width = {planes} × {height} × {width}", len(op.x));
    Ok(())
}

/// The input rows (or columns) `lo..=hi` that reach output row `o` of a stride-2 pad-1 4×4
/// transposed convolution over `n` inputs: those with `o = 2·i + k − 1`, k in 0..4.
pub fn reaching(o: usize, n: usize) -> std::ops::RangeInclusive<usize> {
    (o + 1).saturating_sub(3).div_ceil(2)..=((o + 1) / 2).min(n - 1)
}

/// Gathers, for each output pixel, the taps of the input pixels that reach it, in input-pixel
/// order (so the sums are those of scattering each input pixel's taps in turn).
pub fn col2im(op: &Col2Im<'_, Vec<f32>>) -> Vec<f32> {
    let (w, h, c) = (op.width, op.height, op.channels);
    let (ow, oh) = (2 * w, 2 * h);
    let taps = &op.taps[op.skip * TAPS * c..];
    let mut y = vec![0.0f32; oh * ow * c]; // [oh, ow, c]
    for oy in 0..oh {
        for ox in 0..ow {
            let dst = &mut y[(oy * ow + ox) * c..][..c];
            for iy in reaching(oy, h) {
                let ky = oy + 1 - 2 * iy;
                for ix in reaching(ox, w) {
                    let kx = ox + 1 - 2 * ix;
                    let src = &taps[(iy * w + ix) * TAPS * c + (ky * 4 + kx) * c..][..c];
                    dst.iter_mut().zip(src).for_each(|(o, v)| *o += v);
                }
            }
            for ((v, s), t) in dst.iter_mut().zip(op.scale).zip(op.shift) {
                *v = (*v * s + t).max(0.0);
            }
        }
    }
    y
}

pub fn resize(op: &Resize<'_, Vec<f32>>) -> Vec<f32> {
    let y = resample::bilinear_planes(op.x, op.planes, op.width, op.height, op.out_width, op.out_height);
    if op.sigmoid {
        y.into_iter().map(sigmoid).collect()
    } else {
        y
    }
}

pub fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}
