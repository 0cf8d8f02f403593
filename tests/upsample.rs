//! The saliency decoder's upsampling ops (`col2im`, `resize`): the CPU op against a plain
//! reference written from the definition, the GPU kernels against the CPU on random shapes
//! (sizes that do not divide the 64-wide workgroups included), and bad shapes rejected with
//! `Error::Invalid` on both backends.
//!
//! Tolerances: CPU vs reference exact for `col2im` (the same additions in the same order) and
//! ≤ 4e-6 for `resize` (the reference interpolates values up to 3 in f64: f32 rounding of the
//! two passes stays under 1e-6 · (1 + 3)). GPU vs CPU ≤ 1e-5 absolute: each
//! output is a sum of ≤ 4 taps, or a 2×2 interpolation, of O(1) values, so f32 rounding and a
//! fused multiply-add stay near 1e-7; the sigmoid's `exp` differs by a few ulp.

use attention_playground::backend::{Col2Im, Resize};
use attention_playground::cpu::dense::seeded_uniform as random;
use attention_playground::cpu::CpuBackend;
use attention_playground::{Backend, Error};

mod support;
use support::gpu;

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// A 4×4 stride-2 pad-1 transposed convolution from its definition (every input pixel scatters
/// its taps into the output), then relu(scale · y + shift).
fn col2im_reference(taps: &[f32], skip: usize, w: usize, h: usize, c: usize, scale: &[f32], shift: &[f32]) -> Vec<f32> {
    let (ow, oh) = (2 * w, 2 * h);
    let mut y = vec![0.0f32; oh * ow * c];
    for iy in 0..h {
        for ix in 0..w {
            for ky in 0..4 {
                for kx in 0..4 {
                    let (oy, ox) = (2 * iy + ky, 2 * ix + kx);
                    if oy == 0 || ox == 0 || oy > oh || ox > ow {
                        continue; // outside after removing the padding of 1
                    }
                    for ch in 0..c {
                        y[((oy - 1) * ow + ox - 1) * c + ch] += taps[(skip + iy * w + ix) * 16 * c + (ky * 4 + kx) * c + ch];
                    }
                }
            }
        }
    }
    y.chunks_exact_mut(c).flat_map(|px| px.iter().zip(scale).zip(shift).map(|((v, s), t)| (v * s + t).max(0.0)).collect::<Vec<_>>()).collect()
}

/// Bilinear with half-pixel centres and the sample clamped to the image: the sample coordinate
/// in f32 as onnxruntime computes it, the interpolation in f64.
fn resize_reference(x: &[f32], planes: usize, w: usize, h: usize, ow: usize, oh: usize, sigmoid: bool) -> Vec<f32> {
    let coord = |o: usize, n: usize, m: usize| {
        let v = ((o as f32 + 0.5) * (n as f32 / m as f32) - 0.5).clamp(0.0, (n - 1) as f32);
        let i0 = v.floor() as usize;
        (i0, (i0 + 1).min(n - 1), (v - i0 as f32) as f64)
    };
    let mut y = Vec::with_capacity(planes * oh * ow);
    for p in 0..planes {
        for oy in 0..oh {
            let (y0, y1, ty) = coord(oy, h, oh);
            for ox in 0..ow {
                let (x0, x1, tx) = coord(ox, w, ow);
                let at = |yy: usize, xx: usize| x[p * w * h + yy * w + xx] as f64;
                let top = at(y0, x0) * (1.0 - tx) + at(y0, x1) * tx;
                let bottom = at(y1, x0) * (1.0 - tx) + at(y1, x1) * tx;
                let v = top * (1.0 - ty) + bottom * ty;
                y.push(if sigmoid { 1.0 / (1.0 + (-v).exp()) } else { v } as f32);
            }
        }
    }
    y
}

struct Col2ImCase {
    skip: usize,
    w: usize,
    h: usize,
    c: usize,
    taps: Vec<f32>,
    scale: Vec<f32>,
    shift: Vec<f32>,
}

impl Col2ImCase {
    fn new(skip: usize, w: usize, h: usize, c: usize) -> Self {
        let seed = (w * 1009 + h * 31 + c) as u64;
        let taps = random((skip + w * h) * 16 * c, seed, 1.0);
        let scale: Vec<f32> = random(c, seed + 1, 0.5).iter().map(|v| v + 1.0).collect();
        Col2ImCase { skip, w, h, c, taps, scale, shift: random(c, seed + 2, 0.5) }
    }

    fn run<B: Backend>(&self, b: &mut B) -> Vec<f32> {
        let [taps, scale, shift] = [&self.taps, &self.scale, &self.shift].map(|v| b.upload(v).unwrap());
        let op = Col2Im { taps: &taps, skip: self.skip, width: self.w, height: self.h, channels: self.c, scale: &scale, shift: &shift };
        let y = b.col2im(&op).unwrap();
        pollster::block_on(b.read(&[&y])).unwrap().remove(0)
    }
}

const COL2IM_SHAPES: [(usize, usize, usize, usize); 6] = [(0, 1, 1, 1), (1, 3, 2, 5), (0, 7, 5, 3), (1, 16, 16, 8), (0, 9, 13, 17), (1, 4, 4, 130)];

#[test]
fn cpu_col2im_equals_the_definition() {
    for (skip, w, h, c) in COL2IM_SHAPES {
        let case = Col2ImCase::new(skip, w, h, c);
        let want = col2im_reference(&case.taps, skip, w, h, c, &case.scale, &case.shift);
        assert_eq!(case.run(&mut CpuBackend::new()), want, "{w}×{h}×{c} skip {skip}");
    }
}

#[test]
fn gpu_col2im_equals_cpu() {
    let Some(mut g) = gpu() else { return };
    for (skip, w, h, c) in COL2IM_SHAPES {
        let case = Col2ImCase::new(skip, w, h, c);
        let d = max_abs_diff(&case.run(&mut g), &case.run(&mut CpuBackend::new()));
        eprintln!("col2im {w}×{h}×{c}: GPU − CPU max |Δ| {d:.1e}");
        assert!(d <= 1e-5, "{w}×{h}×{c} skip {skip}: GPU differs from CPU by {d:e}");
    }
}

/// (planes, w, h, out w, out h, sigmoid): enlarging (the decoder's), shrinking, odd sizes, one pixel.
const RESIZE_SHAPES: [(usize, usize, usize, usize, usize, bool); 6] =
    [(1, 128, 128, 224, 224, true), (1, 64, 48, 300, 169, true), (3, 7, 5, 13, 11, false), (2, 20, 30, 7, 9, false), (1, 1, 1, 5, 3, true), (1, 5, 1, 1, 1, false)];

fn run_resize<B: Backend>(b: &mut B, x: &[f32], (planes, w, h, ow, oh, sigmoid): (usize, usize, usize, usize, usize, bool)) -> Vec<f32> {
    let t = b.upload(x).unwrap();
    let y = b.resize(&Resize { x: &t, planes, width: w, height: h, out_width: ow, out_height: oh, sigmoid }).unwrap();
    pollster::block_on(b.read(&[&y])).unwrap().remove(0)
}

#[test]
fn cpu_resize_equals_the_definition() {
    for shape in RESIZE_SHAPES {
        let (planes, w, h, ow, oh, sigmoid) = shape;
        let x = random(planes * w * h, (w * h) as u64, 3.0);
        let d = max_abs_diff(&run_resize(&mut CpuBackend::new(), &x, shape), &resize_reference(&x, planes, w, h, ow, oh, sigmoid));
        assert!(d <= 4e-6, "{shape:?}: CPU differs from the reference by {d:e}");
    }
}

#[test]
fn gpu_resize_equals_cpu() {
    let Some(mut g) = gpu() else { return };
    for shape in RESIZE_SHAPES {
        let (planes, w, h, ..) = shape;
        let x = random(planes * w * h, (w * h) as u64, 3.0);
        let d = max_abs_diff(&run_resize(&mut g, &x, shape), &run_resize(&mut CpuBackend::new(), &x, shape));
        eprintln!("resize {shape:?}: GPU − CPU max |Δ| {d:.1e}");
        assert!(d <= 1e-5, "{shape:?}: GPU differs from CPU by {d:e}");
    }
}

/// Every malformed call comes back as `Error::Invalid` naming the problem, on both backends.
fn bad_shapes_are_rejected<B: Backend>(b: &mut B) {
    let t = |b: &mut B, n: usize| b.upload(&vec![0.5; n]).unwrap();
    let (taps, two, three) = (t(b, (1 + 2 * 2) * 16 * 2), t(b, 2), t(b, 3));
    let expect = |r: attention_playground::Result<B::Tensor>, word: &str| match r {
        Err(Error::Invalid(m)) => assert!(m.contains(word), "message {m:?} should mention {word:?}"),
        Err(e) => panic!("expected Error::Invalid mentioning {word:?}, got {e}"),
        Ok(_) => panic!("expected Error::Invalid mentioning {word:?}, got a result"),
    };
    let good = Col2Im { taps: &taps, skip: 1, width: 2, height: 2, channels: 2, scale: &two, shift: &two };
    assert!(b.col2im(&good).is_ok());
    expect(b.col2im(&Col2Im { skip: 0, ..good }), "taps has");
    expect(b.col2im(&Col2Im { width: 0, ..good }), "> 0");
    expect(b.col2im(&Col2Im { scale: &three, ..good }), "scale");
    expect(b.col2im(&Col2Im { shift: &three, ..good }), "shift");
    expect(b.col2im(&Col2Im { width: usize::MAX, ..good }), "too large");

    let resize = Resize { x: &three, planes: 1, width: 3, height: 1, out_width: 4, out_height: 4, sigmoid: true };
    assert!(b.resize(&resize).is_ok());
    expect(b.resize(&Resize { width: 2, ..resize }), "x has");
    expect(b.resize(&Resize { out_width: 0, ..resize }), "> 0");
    expect(b.resize(&Resize { out_width: usize::MAX, out_height: 2, ..resize }), "too large");
}

#[test]
fn both_backends_reject_bad_shapes() {
    bad_shapes_are_rejected(&mut CpuBackend::new());
    if let Some(mut g) = gpu() {
        bad_shapes_are_rejected(&mut g);
    }
}
