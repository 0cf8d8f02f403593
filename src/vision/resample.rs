//! Separable resampling of planar images ([channels, h, w] f32), with half-pixel centres:
//! output pixel i samples input coordinate (i + 0.5)·in/out − 0.5.
//!
//! Each method only differs in its taps (which input pixels, with which weights, make one output
//! pixel along one axis); `separable` applies them along x, then along y.

/// For each output index: (first input index, weights of consecutive inputs).
type Taps = Vec<(usize, Vec<f32>)>;

fn separable(src: &[f32], channels: usize, w: usize, h: usize, nw: usize, nh: usize, tx: &Taps, ty: &Taps) -> Vec<f32> {
    let mut mid = vec![0.0f32; channels * h * nw];
    for (row_in, row_out) in src.chunks_exact(w).zip(mid.chunks_exact_mut(nw)) {
        for (o, (start, wts)) in row_out.iter_mut().zip(tx) {
            *o = wts.iter().zip(&row_in[*start..]).map(|(a, b)| a * b).sum();
        }
    }
    let mut out = vec![0.0f32; channels * nh * nw];
    for c in 0..channels {
        let plane = &mid[c * h * nw..(c + 1) * h * nw];
        for (y, (start, wts)) in ty.iter().enumerate() {
            let dst = &mut out[c * nh * nw + y * nw..][..nw];
            for (k, wt) in wts.iter().enumerate() {
                let src_row = &plane[(start + k) * nw..][..nw];
                for (d, s) in dst.iter_mut().zip(src_row) {
                    *d += wt * s;
                }
            }
        }
    }
    out
}

/// Triangle-filter taps whose support widens with the shrink factor (antialiasing, as PIL's
/// BILINEAR resize); for enlarging this is plain bilinear interpolation with clamped edges.
fn triangle_taps(n_in: usize, n_out: usize) -> Taps {
    let scale = n_in as f64 / n_out as f64;
    let support = scale.max(1.0);
    (0..n_out)
        .map(|i| {
            let centre = (i as f64 + 0.5) * scale;
            let lo = (centre - support).floor().max(0.0) as usize;
            let hi = ((centre + support).ceil() as usize).min(n_in);
            let mut wts: Vec<f64> = (lo..hi).map(|j| (1.0 - ((j as f64 + 0.5 - centre) / support).abs()).max(0.0)).collect();
            let sum: f64 = wts.iter().sum();
            if sum > 0.0 {
                wts.iter_mut().for_each(|v| *v /= sum);
            } else {
                // The centre falls outside every pixel's reach only at the very edge: nearest.
                wts.iter_mut().for_each(|v| *v = 0.0);
                wts[((centre - lo as f64).floor() as usize).min(hi - lo - 1)] = 1.0;
            }
            (lo, wts.into_iter().map(|v| v as f32).collect())
        })
        .collect()
}

/// Taps gathering `offsets.len()` neighbours from `base`, with clamped indices merged.
fn clamped(n_in: usize, base: i64, weights: &[f32]) -> (usize, Vec<f32>) {
    let idx = |k: usize| (base + k as i64).clamp(0, n_in as i64 - 1) as usize;
    let first = idx(0);
    let last = idx(weights.len() - 1);
    let mut wts = vec![0.0f32; last - first + 1];
    for (k, w) in weights.iter().enumerate() {
        wts[idx(k) - first] += w;
    }
    (first, wts)
}

/// Cubic convolution taps (Keys, coefficient `a`; −0.75 as PyTorch and ONNX), edges clamped.
fn cubic_taps(n_in: usize, n_out: usize, a: f32) -> Taps {
    let scale = n_in as f32 / n_out as f32;
    let near = |t: f32| ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0;
    let far = |t: f32| ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a;
    (0..n_out)
        .map(|i| {
            let x = (i as f32 + 0.5) * scale - 0.5;
            let x0 = x.floor();
            let t = x - x0;
            clamped(n_in, x0 as i64 - 1, &[far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)])
        })
        .collect()
}

/// PyTorch's antialiased bicubic taps (`interpolate(mode="bicubic", antialias=True)`, as PIL):
/// Keys' kernel with a = −0.5, widened by the shrink factor, cut at the edges and renormalized.
fn cubic_aa_taps(n_in: usize, n_out: usize) -> Taps {
    let cubic = |x: f64| {
        let (x, a) = (x.abs(), -0.5);
        if x < 1.0 {
            ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
        } else if x < 2.0 {
            ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
        } else {
            0.0
        }
    };
    let scale = n_in as f64 / n_out as f64;
    let (support, invscale) = if scale >= 1.0 { (2.0 * scale, 1.0 / scale) } else { (2.0, 1.0) };
    (0..n_out)
        .map(|i| {
            let centre = scale * (i as f64 + 0.5);
            // As ATen: truncating casts, then clamped to the input.
            let lo = ((centre - support + 0.5) as i64).max(0) as usize;
            let hi = ((centre + support + 0.5) as i64).clamp(lo as i64 + 1, n_in as i64) as usize;
            let mut wts: Vec<f64> = (lo..hi).map(|j| cubic((j as f64 - centre + 0.5) * invscale)).collect();
            let total: f64 = wts.iter().sum();
            if total != 0.0 {
                wts.iter_mut().for_each(|v| *v /= total);
            }
            (lo, wts.into_iter().map(|v| v as f32).collect())
        })
        .collect()
}

/// Linear taps with the sample coordinate clamped to the image (ONNX Resize `linear`,
/// half_pixel, as onnxruntime computes it; no antialiasing).
fn linear_taps(n_in: usize, n_out: usize) -> Taps {
    let scale = n_in as f32 / n_out as f32;
    (0..n_out)
        .map(|i| {
            let x = ((i as f32 + 0.5) * scale - 0.5).clamp(0.0, (n_in - 1) as f32);
            let x0 = x.floor();
            let t = x - x0;
            clamped(n_in, x0 as i64, &[1.0 - t, t])
        })
        .collect()
}

/// Antialiased resize (triangle filter) of [channels, h, w] planes to [channels, nh, nw].
pub fn resize_planes(src: &[f32], channels: usize, w: usize, h: usize, nw: usize, nh: usize) -> Vec<f32> {
    separable(src, channels, w, h, nw, nh, &triangle_taps(w, nw), &triangle_taps(h, nh))
}

/// Bicubic resize of [channels, h, w] planes to [channels, nh, nw].
pub fn bicubic_planes(src: &[f32], channels: usize, w: usize, h: usize, nw: usize, nh: usize, a: f32) -> Vec<f32> {
    separable(src, channels, w, h, nw, nh, &cubic_taps(w, nw, a), &cubic_taps(h, nh, a))
}

/// Antialiased bicubic resize (PyTorch `antialias=True`) of [channels, h, w] planes to [channels, nh, nw].
pub fn bicubic_aa_planes(src: &[f32], channels: usize, w: usize, h: usize, nw: usize, nh: usize) -> Vec<f32> {
    separable(src, channels, w, h, nw, nh, &cubic_aa_taps(w, nw), &cubic_aa_taps(h, nh))
}

/// Bilinear resize of [channels, h, w] planes to [channels, nh, nw].
pub fn bilinear_planes(src: &[f32], channels: usize, w: usize, h: usize, nw: usize, nh: usize) -> Vec<f32> {
    separable(src, channels, w, h, nw, nh, &linear_taps(w, nw), &linear_taps(h, nh))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Taps are partitions of unity, so constants survive every method.
    #[test]
    fn taps_sum_to_one() {
        for (i, o) in [(37, 16), (16, 37), (5, 5), (640, 224), (3, 224), (1, 4)] {
            for taps in [triangle_taps(i, o), cubic_taps(i, o, -0.75), linear_taps(i, o), cubic_aa_taps(i, o)] {
                assert_eq!(taps.len(), o);
                for (start, w) in taps {
                    assert!(start + w.len() <= i);
                    assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-5);
                }
            }
        }
    }

    #[test]
    fn same_size_is_identity_and_ramps_stay_linear() {
        let src: Vec<f32> = (0..2 * 5 * 7).map(|v| (v * 37 % 11) as f32).collect();
        for out in [resize_planes(&src, 2, 7, 5, 7, 5), bicubic_planes(&src, 2, 7, 5, 7, 5, -0.75), bilinear_planes(&src, 2, 7, 5, 7, 5), bicubic_aa_planes(&src, 2, 7, 5, 7, 5)] {
            assert!(out.iter().zip(&src).all(|(a, b)| (a - b).abs() < 1e-5));
        }
        // Enlarging a ramp 0..8 by 2 with bilinear: interior samples lie on the ramp.
        let ramp: Vec<f32> = (0..8).map(|x| x as f32).collect();
        let up = bilinear_planes(&ramp, 1, 8, 1, 16, 1);
        for (i, v) in up.iter().enumerate().skip(1).take(14) {
            assert!((v - ((i as f32 + 0.5) / 2.0 - 0.5)).abs() < 1e-5, "{up:?}");
        }
        // Shrinking by 2 with the triangle filter averages neighbourhoods symmetrically.
        let down = resize_planes(&ramp, 1, 8, 1, 4, 1);
        for (i, v) in down.iter().enumerate().skip(1).take(2) {
            assert!((v - (2.0 * i as f32 + 0.5)).abs() < 1e-5, "{down:?}");
        }
    }

    /// PyTorch `interpolate(torch.arange(4.)[None, None, None], size=(1, 6), mode="bicubic",
    /// align_corners=False)` gives these values.
    #[test]
    fn bicubic_matches_pytorch() {
        let src = [0.0f32, 1.0, 2.0, 3.0];
        let out = bicubic_planes(&src, 1, 4, 1, 6, 1, -0.75);
        let want = [-0.0868056f32, 0.40625, 1.2129627, 1.7870371, 2.59375, 3.0868058];
        for (a, b) in out.iter().zip(want) {
            assert!((a - b).abs() < 1e-4, "{out:?}");
        }
    }

    /// PyTorch `interpolate(torch.arange(6.)[None, None, None] ** 2, size=(1, n), mode="bicubic",
    /// align_corners=False, antialias=True)` for n = 4 (shrinking) and 9 (enlarging).
    #[test]
    fn antialiased_bicubic_matches_pytorch() {
        let src = [0.0f32, 1.0, 4.0, 9.0, 16.0, 25.0];
        let cases: [(usize, &[f32]); 2] = [
            (4, &[0.158_574_36, 2.977_029, 10.886_677, 22.278_32]),
            (9, &[-0.065_789_32, 0.294_117_7, 1.361_110_8, 3.361_111_4, 6.25, 10.027_779, 14.694_446, 21.176_472, 25.592_106]),
        ];
        for (n, want) in cases {
            let out = bicubic_aa_planes(&src, 1, 6, 1, n, 1);
            assert!(out.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-4), "{n}: {out:?}");
        }
    }
}
