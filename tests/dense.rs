//! Dense ops: the fast CPU kernels against the plain reference, the GPU kernels against the CPU,
//! and bad shapes rejected with `Error::Invalid` on both backends.
//!
//! Tolerances:
//! - CPU fast vs reference `linear`: exact without GELU. Both compute every output as bias, then
//!   `+ x·w` in increasing k, in f32 without fused multiply-add, so the results are
//!   bit-identical. With GELU the fast path's rational erf differs from libm's `erff`:
//!   |a − b| ≤ 2e-6 · (1 + |b|) (the GELU bound, scaled by a layer scale ≤ 1).
//! - CPU `layer_norm` (f32, 8 partial sums) vs the reference (f64): |a − b| ≤ 1e-5 · (1 + |b|).
//! - GPU vs CPU: |a − b| ≤ 1e-5 absolute. Inputs are scaled like a trained model's (x in [−1, 1],
//!   w in [−1, 1]/√in, so outputs are O(1)); the f32 rounding of a k-term dot product then grows
//!   like √k · 6e-8, about 2e-6 at k = 1536, well inside the bound for every model shape.

use attention_playground::backend::{Activation, LayerNorm, Linear, Weight};
use attention_playground::cpu::dense;
use attention_playground::cpu::CpuBackend;
use attention_playground::{Backend, Error};

use dense::seeded_uniform as random;
mod support;
use support::gpu;

/// Host operands of one linear call.
struct Case {
    rows: usize,
    k: usize,
    n: usize,
    x: Vec<f32>,
    w: Vec<f32>,
    bias: Option<Vec<f32>>,
    gelu: bool,
    /// With `gelu`: the tanh approximation instead of erf.
    tanh: bool,
    residual: Option<Vec<f32>>,
    scale: Option<Vec<f32>>,
}

#[derive(Clone, Copy, Debug)]
enum Residual {
    None,
    Plain,
    Scaled,
}

impl Case {
    fn new(rows: usize, k: usize, n: usize, bias: bool, gelu: bool, residual: Residual) -> Case {
        let seed = (rows * 1_000_003 + k * 1009 + n) as u64;
        Case {
            rows,
            k,
            n,
            x: random(rows * k, seed, 1.0),
            // Large enough pre-activations that GELU sees both tails.
            w: random(k * n, seed + 1, 2.0 / (k as f32).sqrt()),
            bias: bias.then(|| random(n, seed + 2, 0.5)),
            gelu,
            tanh: false,
            residual: (!matches!(residual, Residual::None)).then(|| random(rows * n, seed + 3, 1.0)),
            scale: matches!(residual, Residual::Scaled).then(|| random(n, seed + 4, 0.3)),
        }
    }

    fn op<'a, T, W>(&self, t: &'a [T; 5]) -> Linear<'a, T, W> {
        Linear {
            x: &t[0],
            rows: self.rows,
            in_dim: self.k,
            out_dim: self.n,
            w: Weight::Tensor(&t[1]),
            bias: self.bias.as_ref().map(|_| &t[2]),
            activation: match (self.gelu, self.tanh) {
                (false, _) => Activation::None,
                (true, false) => Activation::Gelu,
                (true, true) => Activation::GeluTanh,
            },
            residual: self.residual.as_ref().map(|_| &t[3]),
            residual_scale: self.scale.as_ref().map(|_| &t[4]),
        }
    }

    /// The five operands on a backend (absent ones as empty placeholders that `op` leaves out).
    fn upload<B: Backend>(&self, b: &mut B) -> [B::Tensor; 5] {
        let none = Vec::new();
        [&self.x, &self.w, self.bias.as_ref().unwrap_or(&none), self.residual.as_ref().unwrap_or(&none), self.scale.as_ref().unwrap_or(&none)]
            .map(|v| b.upload(v).unwrap())
    }

    fn cpu(&self) -> Vec<f32> {
        let t = self.upload(&mut CpuBackend::new());
        CpuBackend::new().linear(&self.op(&t)).unwrap()
    }

    fn reference(&self) -> Vec<f32> {
        let t = self.upload(&mut CpuBackend::new());
        dense::reference::linear::<()>(&self.op(&t))
    }

    /// Exact without GELU, within the GELU bound with it (see the header).
    fn assert_cpu_matches_reference(&self, what: &str) {
        let (fast, slow) = (self.cpu(), self.reference());
        if !self.gelu {
            assert_eq!(fast, slow, "{what}: fast CPU linear differs from the reference by {}", max_abs_diff(&fast, &slow));
        }
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() <= 2e-6 * (1.0 + b.abs()), "{what}: fast CPU linear gives {a}, the reference {b}");
        }
    }
}

const EPILOGUES: [(bool, bool, Residual); 12] = {
    use Residual::*;
    [
        (false, false, None),
        (true, false, None),
        (false, true, None),
        (true, true, None),
        (false, false, Plain),
        (true, false, Plain),
        (false, true, Plain),
        (true, true, Plain),
        (false, false, Scaled),
        (true, false, Scaled),
        (false, true, Scaled),
        (true, true, Scaled),
    ]
};

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(p, q)| (p - q).abs()).fold(0.0, f32::max)
}

#[test]
fn gelu_matches_known_values() {
    // 0.5·x·erfc(−x/√2) in f64 (Python math.erfc)
    let cases = [(0.0, 0.0), (1.0, 0.841_344_746_068_542_9), (-1.0, -0.158_655_253_931_457_05), (3.0, 2.995_950_305_905_11), (-5.0, -1.433_257_859_396e-6)];
    for (x, want) in cases {
        let got = dense::gelu(x as f32) as f64;
        assert!((got - want).abs() <= 1e-7 + 1e-6 * want.abs(), "gelu({x}) = {got}, want {want}");
    }
}

#[test]
fn gelu_tanh_matches_known_values() {
    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) in f64 (Python math.tanh), as torch's
    // gelu(approximate='tanh'); far tails exactly 0 and x.
    let cases = [(0.0, 0.0), (1.0, 0.841_191_990_608_276_8), (-1.0, -0.158_808_009_391_723_24), (3.0, 2.996_362_607_918_227), (-5.0, -2.291_796_197_262_385_7e-7), (-12.0, 0.0), (20.0, 20.0)];
    for (x, want) in cases {
        let got = dense::gelu_tanh(x as f32) as f64;
        assert!((got - want).abs() <= 1e-7 + 1e-6 * want.abs(), "gelu_tanh({x}) = {got}, want {want}");
    }
}

#[test]
fn gpu_gelu_tanh_equals_cpu() {
    let Some(mut g) = gpu() else { return };
    for (rows, k, n) in [(1, 1, 1), (5, 13, 17), (67, 70, 130)] {
        let mut c = Case { tanh: true, ..Case::new(rows, k, n, true, true, Residual::Plain) };
        // Both tails, and a value large enough that an exp-based tanh would overflow.
        c.x[0] = 60.0;
        c.assert_cpu_matches_reference(&format!("{rows}×{k}·{k}×{n} gelu_tanh"));
        let t = c.upload(&mut g);
        let y = g.linear(&c.op(&t)).unwrap();
        let got = pollster::block_on(g.read(&[&y])).unwrap().remove(0);
        assert!(got.iter().all(|v| v.is_finite()), "{rows}×{k}·{k}×{n}: non-finite GELU-tanh output on the GPU");
        let d = max_abs_diff(&got, &c.cpu());
        assert!(d <= 1e-5 * (1.0 + c.cpu().iter().fold(0.0f32, |m, v| m.max(v.abs()))), "{rows}×{k}·{k}×{n} gelu_tanh: GPU differs from CPU by {d}");
    }
}

#[test]
fn fast_gelu_matches_libm_gelu() {
    // Every 1/1024 over [−12, 12], plus the far tails.
    let xs = (-12 * 1024..=12 * 1024).map(|i| i as f32 / 1024.0).chain([-1e4, -50.0, 50.0, 1e4, 0.0, -0.0]);
    for x in xs {
        let (a, b) = (dense::gelu_fast(x), dense::gelu(x));
        assert!((a - b).abs() <= 2e-6 * (1.0 + b.abs()), "gelu_fast({x}) = {a}, libm gelu {b}");
    }
}

#[test]
fn cpu_linear_equals_reference_on_odd_and_model_shapes() {
    let shapes = [
        (1, 1, 1),
        (1, 7, 3),
        (2, 1, 9),
        (3, 5, 8),
        (4, 8, 16),
        (5, 13, 17),
        (7, 33, 65),
        (17, 100, 31),
        (11, 1200, 23),   // k spans three k blocks, the last one partial
        (128, 384, 1152), // MiniLM fused QKV at 128 tokens
        (128, 1536, 384), // MiniLM FFN down
        (197, 384, 1536), // ViT-S/14 FFN up at 224²
    ];
    for (rows, k, n) in shapes {
        let c = Case::new(rows, k, n, true, rows % 2 == 1, Residual::Plain);
        c.assert_cpu_matches_reference(&format!("{rows}×{k}·{k}×{n}"));
    }
}

/// Weights packed once by `upload_weight` give exactly what packing inside every call gives,
/// across k blocks, partial panels and every epilogue.
#[test]
fn cpu_prepacked_weights_equal_row_major() {
    let shapes = [(1, 1, 1), (5, 13, 17), (17, 384, 1152), (11, 1200, 23), (33, 1536, 384), (4, 588, 384)];
    for (i, (rows, k, n)) in shapes.into_iter().enumerate() {
        let (bias, gelu, residual) = EPILOGUES[(5 * i + 3) % EPILOGUES.len()];
        let c = Case::new(rows, k, n, bias, gelu, residual);
        let mut b = CpuBackend::new();
        let t = c.upload(&mut b);
        let packed = b.upload_weight(&c.w, k, n).unwrap();
        let op = c.op(&t);
        let got = b.linear(&Linear { w: Weight::Uploaded(&packed), ..op }).unwrap();
        assert_eq!(got, c.cpu(), "{rows}×{k}·{k}×{n}");
    }
    let mut b = CpuBackend::new();
    let err = b.upload_weight(&[1.0; 11], 3, 4).unwrap_err();
    assert!(err.to_string().contains("expected 3 × 4"), "{err}");
    // A weight packed for other dimensions is refused, not read out of bounds. (A weight packed
    // for the CPU cannot reach the GPU: its type is the CPU backend's own.)
    let x = vec![0.5f32; 6];
    let other = b.upload_weight(&[1.0; 10], 2, 5).unwrap();
    let err = b.linear(&Linear::with_weight(&x, 2, Weight::Uploaded(&other), 3, 4, None)).unwrap_err();
    assert!(err.to_string().contains("uploaded weight is not 3 × 4"), "{err}");
}

#[test]
fn cpu_linear_every_epilogue_equals_reference() {
    for (bias, gelu, residual) in EPILOGUES {
        for (rows, k, n) in [(1, 1, 1), (6, 19, 11), (9, 64, 24)] {
            let c = Case::new(rows, k, n, bias, gelu, residual);
            c.assert_cpu_matches_reference(&format!("{rows}×{k}·{k}×{n} bias={bias} gelu={gelu} residual={residual:?}"));
        }
    }
}

#[test]
fn cpu_linear_computes_the_definition() {
    // [2, 3] · [3, 2] + bias, then residual + scale ⊙ y, worked by hand.
    let x = vec![1.0, 2.0, 3.0, -1.0, 0.5, 2.0];
    let w = vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    let bias = vec![0.5, -0.5];
    let res = vec![10.0, 20.0, 30.0, 40.0];
    let scale = vec![2.0, 0.5];
    let mut op = Linear::new(&x, 2, &w, 3, 2, Some(&bias));
    assert_eq!(CpuBackend::new().linear(&op).unwrap(), vec![4.5, 4.5, 1.5, 2.0]);
    op.residual = Some(&res);
    op.residual_scale = Some(&scale);
    assert_eq!(CpuBackend::new().linear(&op).unwrap(), vec![19.0, 22.25, 33.0, 41.0]);
}

/// The strided products attention uses (q, k, v read inside a fused QKV tensor, the output
/// written into its place) equal the plain product exactly and leave y's other columns alone;
/// packing from strided or transposed storage gives the same panels as packing a copy.
#[test]
fn cpu_strided_products_equal_the_plain_product() {
    // rows, k, n, ldx, ldy: partial panels and row blocks, k across three k blocks, ld > width.
    for (rows, k, n, ldx, ldy) in [(1, 1, 1, 1, 1), (7, 5, 13, 9, 20), (64, 32, 517, 96, 517), (9, 1100, 12, 1200, 40)] {
        let x = random(rows * ldx, 11, 1.0);
        let w = random(k * n, 12, 1.0 / (k as f32).sqrt());
        let mut want = vec![0.0f32; rows * n];
        for i in 0..rows {
            for j in 0..n {
                let mut acc = 0.0f32;
                for c in 0..k {
                    acc += x[i * ldx + c] * w[c * n + j];
                }
                want[i * n + j] = acc;
            }
        }
        let packed = dense::pack_weight(&w, k, n);
        const UNTOUCHED: f32 = 7.25;
        let mut y = vec![UNTOUCHED; (rows - 1) * ldy + n + 3];
        dense::matmul_packed_into(&x, ldx, &packed, rows, k, n, &mut y, ldy);
        for (at, &v) in y.iter().enumerate() {
            let (i, j) = (at / ldy, at % ldy);
            match i < rows && j < n {
                true => assert_eq!(v, want[i * n + j], "{rows}×{k}·{k}×{n}: y[{i}][{j}]"),
                false => assert_eq!(v, UNTOUCHED, "{rows}×{k}·{k}×{n}: y[{at}] is outside the product"),
            }
        }
        let wide: Vec<f32> = w.chunks_exact(n).flat_map(|row| row.iter().copied().chain([0.5; 3])).collect();
        assert_eq!(dense::pack_weight_strided(&wide, n + 3, k, n), packed, "strided {k}×{n}");
        let transposed: Vec<f32> = (0..n).flat_map(|j| (0..k).map(|c| w[c * n + j]).chain([0.5; 2]).collect::<Vec<_>>()).collect();
        assert_eq!(dense::pack_weight_transposed(&transposed, k + 2, n, k), packed, "transposed {k}×{n}");
    }
}

fn ln_case(rows: usize, dim: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let seed = (rows * 7919 + dim) as u64;
    // An offset mean, so a one-pass E[x²] − E[x]² variance would lose digits.
    let x = random(rows * dim, seed, 1.0).iter().map(|v| v * 2.0 + 3.0).collect();
    (x, random(dim, seed + 1, 1.5), random(dim, seed + 2, 0.5))
}

const LN_SHAPES: [(usize, usize); 7] = [(1, 1), (3, 5), (2, 255), (4, 257), (197, 384), (128, 384), (3, 3000)];

#[test]
fn cpu_layer_norm_matches_reference() {
    for (rows, dim) in LN_SHAPES {
        let (x, g, b) = ln_case(rows, dim);
        let op = LayerNorm { x: &x, rows, dim, gamma: &g, beta: &b, eps: 1e-12 };
        let fast = CpuBackend::new().layer_norm(&op).unwrap();
        let slow = dense::reference::layer_norm(&op);
        for (a, r) in fast.iter().zip(&slow) {
            assert!((a - r).abs() <= 1e-5 * (1.0 + r.abs()), "{rows}×{dim}: {a} vs {r}");
        }
        if dim > 1 {
            // Each row normalized: mean ≈ beta-weighted, so check with gamma = 1, beta = 0.
            let ones = vec![1.0; dim];
            let zeros = vec![0.0; dim];
            let y = dense::layer_norm(&LayerNorm { x: &x, rows, dim, gamma: &ones, beta: &zeros, eps: 0.0 });
            for row in y.chunks(dim) {
                let mean = row.iter().map(|&v| v as f64).sum::<f64>() / dim as f64;
                let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / dim as f64;
                assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4, "{rows}×{dim}: mean {mean}, var {var}");
            }
        }
    }
}

#[test]
fn gpu_linear_equals_cpu_for_every_epilogue() {
    let Some(mut g) = gpu() else { return };
    let shapes = [(1, 1, 1), (5, 13, 17), (67, 70, 130), (64, 16, 64)];
    for (bias, gelu, residual) in EPILOGUES {
        for (rows, k, n) in shapes {
            let c = Case::new(rows, k, n, bias, gelu, residual);
            let t = c.upload(&mut g);
            let y = g.linear(&c.op(&t)).unwrap();
            let got = pollster::block_on(g.read(&[&y])).unwrap().remove(0);
            let d = max_abs_diff(&got, &c.cpu());
            assert!(d <= 1e-5, "{rows}×{k}·{k}×{n} bias={bias} gelu={gelu} residual={residual:?}: GPU differs from CPU by {d}");
        }
    }
}

#[test]
fn gpu_linear_equals_cpu_on_model_shapes() {
    let Some(mut g) = gpu() else { return };
    for (rows, k, n) in [(128, 384, 1152), (128, 1536, 384), (197, 384, 1536), (17, 384, 384)] {
        let c = Case::new(rows, k, n, true, n == 1536, if n == 384 { Residual::Scaled } else { Residual::None });
        let t = c.upload(&mut g);
        let y = g.linear(&c.op(&t)).unwrap();
        let got = pollster::block_on(g.read(&[&y])).unwrap().remove(0);
        let d = max_abs_diff(&got, &c.cpu());
        assert!(d <= 1e-5, "{rows}×{k}·{k}×{n}: GPU differs from CPU by {d}");
    }
}

#[test]
fn gpu_layer_norm_equals_cpu() {
    let Some(mut g) = gpu() else { return };
    for (rows, dim) in LN_SHAPES {
        let (x, gamma, beta) = ln_case(rows, dim);
        let want = CpuBackend::new().layer_norm(&LayerNorm { x: &x, rows, dim, gamma: &gamma, beta: &beta, eps: 1e-6 }).unwrap();
        let [xt, gt, bt] = [&x, &gamma, &beta].map(|v| g.upload(v).unwrap());
        let y = g.layer_norm(&LayerNorm { x: &xt, rows, dim, gamma: &gt, beta: &bt, eps: 1e-6 }).unwrap();
        let got = pollster::block_on(g.read(&[&y])).unwrap().remove(0);
        let d = max_abs_diff(&got, &want);
        assert!(d <= 1e-5, "{rows}×{dim}: GPU layer norm differs from CPU by {d}");
    }
}

#[test]
fn gpu_layer_norm_handles_more_rows_than_one_dispatch_dimension() {
    let Some(mut g) = gpu() else { return };
    let (rows, dim) = (70_000, 3);
    // Rows spread around (−1, 0, 1): with only three random values some rows would have a tiny
    // variance, and 1/σ would amplify f32 rounding past the bound (a conditioning effect, not
    // a kernel difference). This test is about rows landing in the second dispatch dimension.
    let x: Vec<f32> = random(rows * dim, 5, 0.25).iter().enumerate().map(|(i, v)| v + (i % dim) as f32 - 1.0).collect();
    let (gamma, beta) = (random(dim, 6, 1.5), random(dim, 7, 0.5));
    let want = CpuBackend::new().layer_norm(&LayerNorm { x: &x, rows, dim, gamma: &gamma, beta: &beta, eps: 1e-5 }).unwrap();
    let [xt, gt, bt] = [&x, &gamma, &beta].map(|v| g.upload(v).unwrap());
    let y = g.layer_norm(&LayerNorm { x: &xt, rows, dim, gamma: &gt, beta: &bt, eps: 1e-5 }).unwrap();
    let got = pollster::block_on(g.read(&[&y])).unwrap().remove(0);
    let d = max_abs_diff(&got, &want);
    assert!(d <= 1e-5, "{rows}×{dim}: GPU layer norm differs from CPU by {d}");
}

/// A transformer sub-block recorded as one GPU submission: LN → linear+GELU → linear+residual.
#[test]
fn gpu_chained_block_equals_cpu() {
    let Some(mut g) = gpu() else { return };
    let (rows, d, h) = (37, 96, 160);
    let (x, gamma, beta) = ln_case(rows, d);
    let w1 = random(d * h, 11, 1.0 / (d as f32).sqrt());
    let b1 = random(h, 12, 0.1);
    let w2 = random(h * d, 13, 1.0 / (h as f32).sqrt());
    let b2 = random(d, 14, 0.1);
    let ls = random(d, 15, 0.2);
    fn block<B: Backend>(b: &mut B, host: [&Vec<f32>; 8], rows: usize, d: usize, h: usize) -> Vec<f32> {
        let [x, gamma, beta, w1, b1, w2, b2, ls] = host.map(|v| b.upload(v).unwrap());
        let n = b.layer_norm(&LayerNorm { x: &x, rows, dim: d, gamma: &gamma, beta: &beta, eps: 1e-6 }).unwrap();
        let mut up = Linear::new(&n, rows, &w1, d, h, Some(&b1));
        up.activation = Activation::Gelu;
        let u = b.linear(&up).unwrap();
        let mut down = Linear::new(&u, rows, &w2, h, d, Some(&b2));
        down.residual = Some(&x);
        down.residual_scale = Some(&ls);
        let y = b.linear(&down).unwrap();
        pollster::block_on(b.read(&[&y])).unwrap().remove(0)
    }
    let host = [&x, &gamma, &beta, &w1, &b1, &w2, &b2, &ls];
    let got = block(&mut g, host, rows, d, h);
    let want = block(&mut CpuBackend::new(), host, rows, d, h);
    let diff = max_abs_diff(&got, &want);
    assert!(diff <= 1e-5, "GPU block differs from CPU by {diff}");
}

/// Every malformed call must come back as `Error::Invalid` naming the problem, on both backends.
fn bad_shapes_are_rejected<B: Backend>(b: &mut B) {
    let t = |b: &mut B, n: usize| b.upload(&vec![0.5; n]).unwrap();
    let (x, w, bias, res, small) = (t(b, 6), t(b, 12), t(b, 4), t(b, 8), t(b, 3));
    let expect = |r: attention_playground::Result<B::Tensor>, word: &str| match r {
        Err(Error::Invalid(m)) => assert!(m.contains(word), "message {m:?} should mention {word:?}"),
        Err(e) => panic!("expected Error::Invalid mentioning {word:?}, got {e}"),
        Ok(_) => panic!("expected Error::Invalid mentioning {word:?}, got a result"),
    };
    let good = Linear::new(&x, 2, &w, 3, 4, Some(&bias));
    assert!(b.linear(&good).is_ok());
    expect(b.linear(&Linear { rows: 3, ..Linear::new(&x, 2, &w, 3, 4, None) }), "x has");
    expect(b.linear(&Linear::new(&x, 2, &small, 3, 4, None)), "w has");
    expect(b.linear(&Linear::new(&x, 2, &w, 3, 4, Some(&small))), "bias");
    expect(b.linear(&Linear::new(&x, 0, &w, 3, 4, None)), "> 0");
    expect(b.linear(&Linear { residual: Some(&small), ..Linear::new(&x, 2, &w, 3, 4, None) }), "residual");
    expect(b.linear(&Linear { residual_scale: Some(&bias), ..Linear::new(&x, 2, &w, 3, 4, None) }), "needs a residual");
    expect(b.linear(&Linear { residual: Some(&res), residual_scale: Some(&small), ..Linear::new(&x, 2, &w, 3, 4, None) }), "residual_scale");
    expect(b.linear(&Linear::new(&x, usize::MAX, &w, 3, 4, None)), "too large");
    let uploaded = b.upload_weight(&[0.5; 12], 4, 3).unwrap();
    expect(b.linear(&Linear::with_weight(&x, 2, Weight::Uploaded(&uploaded), 3, 4, None)), "uploaded weight is not 3 × 4");

    let ln = |rows, dim, gamma, beta, eps| LayerNorm { x: &x, rows, dim, gamma, beta, eps };
    assert!(b.layer_norm(&ln(2, 3, &small, &small, 1e-5)).is_ok());
    expect(b.layer_norm(&ln(2, 4, &small, &small, 1e-5)), "x has");
    expect(b.layer_norm(&ln(2, 3, &bias, &small, 1e-5)), "gamma");
    expect(b.layer_norm(&ln(2, 3, &small, &bias, 1e-5)), "beta");
    expect(b.layer_norm(&ln(0, 3, &small, &small, 1e-5)), "> 0");
    expect(b.layer_norm(&ln(2, 3, &small, &small, f32::NAN)), "eps");
}

#[test]
fn cpu_rejects_bad_shapes() {
    bad_shapes_are_rejected(&mut CpuBackend::new());
}

#[test]
fn gpu_rejects_bad_shapes() {
    let Some(mut g) = gpu() else { return };
    bad_shapes_are_rejected(&mut g);
}
