//! Property-based fuzzing of attention (issue #13): random sizes, options and magnitudes
//! (1e−30 … 1e30 and the edges of f32, temperatures 1e−45 … 3e38). Never a panic; finite in →
//! finite out with unmasked rows summing to 1; CPU = f64 reference and fused = unfused on
//! moderate inputs (within 1e−5); GPU = CPU on a few cases (llvmpipe is slow).
//!
//! `cargo test --release --test fuzz_attention` runs PROPTEST_CASES cases (default 64) on the
//! CPU and FUZZ_GPU_CASES (default 4) on the GPU; `make fuzz-attention` runs many more.

mod attention_common;
mod support;

use attention_common::{max_diff, run, Host, Inputs, Rng};
use attention_playground::attention::{reference, AdditiveParams, AttentionDims, AttentionSpec, Dropout, Mask, Normalizer, Positions, Score};
use attention_playground::cpu::CpuBackend;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::cell::RefCell;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
}

/// One fuzz case: sizes, a spec, the data's seed and the magnitudes of q/k and v (powers of ten).
#[derive(Clone, Debug)]
struct Case {
    dims: AttentionDims,
    spec: AttentionSpec,
    seed: u64,
    qk_exp: i32,
    v_exp: i32,
}

impl Case {
    /// Inputs and scores of ordinary size, where the f32 kernels must match the f64 reference.
    fn moderate(&self) -> bool {
        let small = |x: &[f32], m: f32| x.iter().all(|v| v.abs() <= m);
        // Additive parameters of ordinary size: not so large that f32 rounding of tanh decides
        // the weights, nor so small that the f32 scores tie where the f64 ones do not.
        // Saturated tanh ties in f32 where f64 tells the keys apart, which top-k then amplifies.
        let ordinary = |x: &[f32]| small(x, 1.0) && x.iter().any(|v| v.abs() >= 1e-2);
        let params = match (&self.spec.score, &self.spec.positions) {
            (Score::Additive(_), _) if matches!(self.spec.mask, Mask::TopK(_)) => false,
            (Score::Additive(a), _) if !(ordinary(&a.wq) && ordinary(&a.wk) && ordinary(&a.v)) => false,
            (_, Positions::RelativeBias(b)) => small(b, 1e3),
            _ => true,
        };
        params && (-1..=0).contains(&self.qk_exp) && self.v_exp.abs() <= 3 && (0.1..=10.0).contains(&self.spec.temperature)
    }

    fn inputs(&self) -> Inputs {
        let AttentionDims { heads, seq_q, seq_k, head_dim: d } = self.dims;
        let mut r = Rng::new(self.seed);
        let scaled = |r: &mut Rng, n: usize, e: i32| -> Vec<f32> {
            let m = if e >= 39 { f32::MAX } else { 10f64.powi(e) as f32 };
            r.vec(n).into_iter().map(|x| x * m).collect()
        };
        Inputs {
            dims: self.dims,
            q: scaled(&mut r, heads * seq_q * d, self.qk_exp),
            k: scaled(&mut r, heads * seq_k * d, self.qk_exp),
            v: scaled(&mut r, heads * seq_k * d, self.v_exp),
        }
    }
}

fn magnitude() -> impl Strategy<Value = i32> {
    prop_oneof![3 => -1i32..=1, 2 => -30i32..=30, 1 => Just(39), 1 => Just(-38)]
}

fn temperature() -> impl Strategy<Value = f32> {
    prop_oneof![2 => Just(1.0f32), 2 => 0.1f32..10.0, 1 => (-45i32..=38).prop_map(|e| (10f64.powi(e) as f32).max(1e-45)), 1 => Just(f32::MAX)]
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..=3, 1usize..=12, 1usize..=12, 1usize..=10)
        .prop_flat_map(|(heads, seq_q, seq_k, head_dim)| {
            let dims = AttentionDims { heads, seq_q, seq_k, head_dim };
            let score = prop_oneof![
                Just(Score::Dot),
                Just(Score::ScaledDot),
                Just(Score::Cosine),
                Just(Score::NegSqDist),
                (1usize..=4, any::<u64>(), magnitude()).prop_map(move |(hidden, s, e)| {
                    // 10^e with e ≤ 38: parameters up to 1e38 (the moderate ones are e ≤ 0).
                    let mut r = Rng::new(s);
                    let m = 10f64.powi(e.min(38)) as f32;
                    let mut v = |n: usize| r.vec(n).into_iter().map(|x| x * m).collect::<Vec<f32>>();
                    Score::Additive(AdditiveParams { hidden, wq: v(hidden * head_dim), wk: v(hidden * head_dim), v: v(hidden) })
                }),
            ];
            let normalizer = prop_oneof![Just(Normalizer::Softmax), Just(Normalizer::Sparsemax), Just(Normalizer::Entmax15)];
            let mask = prop_oneof![Just(Mask::None), Just(Mask::Causal), (0usize..4).prop_map(Mask::Window), (1usize..6).prop_map(Mask::TopK)];
            let bias_len = seq_q + seq_k - 1;
            let positions = prop_oneof![
                Just(Positions::None),
                Just(if head_dim % 2 == 0 { Positions::Rope } else { Positions::None }),
                Just(Positions::Alibi),
                (any::<u64>(), magnitude()).prop_map(move |(s, e)| {
                    let m = if e >= 39 { f32::MAX } else { 10f64.powi(e) as f32 };
                    Positions::RelativeBias(Rng::new(s).vec(bias_len).into_iter().map(|x| x * m).collect())
                }),
            ];
            let dropout = proptest::option::weighted(0.2, (0.0f32..0.95, any::<u64>()).prop_map(|(p, s)| Dropout { p, seed: s >> 11 }));
            (Just(dims), score, temperature(), normalizer, mask, positions, dropout, any::<bool>(), any::<bool>(), any::<u64>(), magnitude(), magnitude())
        })
        .prop_map(|(dims, score, temperature, normalizer, mask, positions, dropout, stats, return_weights, seed, qk_exp, v_exp)| Case {
            dims,
            spec: AttentionSpec { score, temperature, normalizer, mask, positions, dropout, stats, return_weights },
            seed,
            qk_exp,
            v_exp,
        })
}

/// Finite everywhere; without dropout, each weight row sums to what the reference's does (1, or
/// 0 where the mask leaves no key).
fn check_finite(what: &str, h: &Host, want: &reference::Reference, c: &Case) -> Result<(), TestCaseError> {
    prop_assert!(h.output.iter().all(|x| x.is_finite()), "{}: non-finite output", what);
    for part in [&h.weights, &h.entropy, &h.coverage].into_iter().flatten() {
        prop_assert!(part.iter().all(|x| x.is_finite()), "{}: non-finite weights or stats", what);
    }
    if let (Some(w), None) = (&h.weights, c.spec.dropout) {
        for (row, want_row) in w.chunks_exact(c.dims.seq_k).zip(want.weights.chunks_exact(c.dims.seq_k)) {
            let (s, t) = (row.iter().map(|&x| x as f64).sum::<f64>(), want_row.iter().sum::<f64>());
            prop_assert!((s - t).abs() <= 1e-5, "{}: a row sums to {} (reference {})", what, s, t);
        }
    }
    Ok(())
}

/// Largest |a − b| relative to the largest |v| (outputs scale with v).
fn output_diff(a: &[f32], b: &[f32], x: &Inputs, what: &str) -> f64 {
    max_diff(a, b, what) / x.v.iter().fold(1.0f64, |m, &v| m.max(v.abs() as f64))
}

fn check_cpu(c: Case) -> Result<(), TestCaseError> {
    let x = c.inputs();
    let what = format!("{c:?}");
    let cpu = run(&mut CpuBackend::new(), &x, &c.spec).map_err(|e| TestCaseError::fail(format!("{what}: {e}")))?;
    let want = reference::attention(&x.dims, &x.q, &x.k, &x.v, &c.spec);
    check_finite(&what, &cpu, &want, &c)?;
    if c.moderate() {
        let d = output_diff(&cpu.output, &want.output.iter().map(|&v| v as f32).collect::<Vec<_>>(), &x, &what);
        prop_assert!(d <= 1e-5, "{}: output vs reference {}", what, d);
        if let Some(w) = &cpu.weights {
            let d = max_diff(w, &want.weights, &what);
            prop_assert!(d <= 1e-5, "{}: weights vs reference {}", what, d);
        }
        // The other path (fused where the spec allows it) agrees.
        let other = AttentionSpec { return_weights: !c.spec.return_weights, ..c.spec.clone() };
        let o = run(&mut CpuBackend::new(), &x, &other).map_err(|e| TestCaseError::fail(format!("{what}: {e}")))?;
        let d = output_diff(&o.output, &cpu.output, &x, &what);
        prop_assert!(d <= 1e-5, "{}: fused vs unfused {}", what, d);
    }
    Ok(())
}

#[test]
fn cpu_attention_is_finite_normalized_and_matches_the_reference() {
    let mut runner = TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() });
    runner.run(&case(), check_cpu).unwrap();
}

#[test]
fn gpu_attention_is_finite_and_matches_the_cpu() {
    let Some(g) = support::gpu() else { return };
    let g = RefCell::new(g);
    let gpu_cases = std::env::var("FUZZ_GPU_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
    let mut runner = TestRunner::new(Config { cases: gpu_cases, failure_persistence: None, ..Config::default() });
    let check = |c: Case| -> Result<(), TestCaseError> {
        let x = c.inputs();
        let what = format!("{c:?}");
        let gpu = run(&mut *g.borrow_mut(), &x, &c.spec).map_err(|e| TestCaseError::fail(format!("{what}: GPU: {e}")))?;
        let want = reference::attention(&x.dims, &x.q, &x.k, &x.v, &c.spec);
        check_finite(&what, &gpu, &want, &c)?;
        if c.moderate() {
            let cpu = run(&mut CpuBackend::new(), &x, &c.spec).unwrap();
            let d = output_diff(&gpu.output, &cpu.output, &x, &what);
            prop_assert!(d <= 1e-5, "{}: GPU vs CPU output {}", what, d);
        }
        Ok(())
    };
    runner.run(&case(), check).unwrap();
}
