//! Issue #13, the kernels' half: finite input gives finite weights whose unmasked rows sum to 1,
//! at extreme magnitudes and temperatures, on every path (CPU and GPU, fused and unfused), and
//! the paths agree; sparsemax and entmax keep their largest score at any scale; dropout takes
//! u64 seeds with one mask on both backends; sizes that cannot fit are refused, not allocated.

mod attention_common;
mod support;

use attention_common::{additive, inputs, max_diff, run, Host, Inputs};
use attention_playground::attention::{dropout, reference, AttentionDims, AttentionSpec, Dropout, Mask, Normalizer, Positions, Score};
use attention_playground::cpu::CpuBackend;
use attention_playground::Error;
use attention_playground::gpu::GpuBackend;
use std::cell::RefCell;
use support::gpu;

/// Every path that computes `spec`: the CPU and (where there is an adapter) the GPU, each unfused
/// (weights returned) and, where the spec allows it, fused.
fn all_paths(x: &Inputs, spec: &AttentionSpec) -> Vec<(String, Host)> {
    let mut out = Vec::new();
    for fused in [false, true] {
        let spec = AttentionSpec { return_weights: !fused, ..spec.clone() };
        let tag = if fused { "fused" } else { "unfused" };
        out.push((format!("cpu {tag}"), run(&mut CpuBackend::new(), x, &spec).unwrap()));
        with_gpu(|g| out.push((format!("gpu {tag}"), run(g, x, &spec).unwrap())));
    }
    out
}

thread_local! {
    /// One device per test thread: pipelines compile once (slow on llvmpipe), not per call.
    static GPU: RefCell<Option<Option<GpuBackend>>> = const { RefCell::new(None) };
}

fn with_gpu(f: impl FnOnce(&mut GpuBackend)) {
    GPU.with(|cell| {
        let mut slot = cell.borrow_mut();
        if let Some(g) = slot.get_or_insert_with(gpu).as_mut() {
            f(g);
        }
    });
}

/// Finite weights, rows summing to 1 (0 where the mask leaves no key), finite outputs.
fn assert_finite_and_normalized(what: &str, h: &Host, d: &AttentionDims, empty_row: impl Fn(usize) -> bool) {
    assert!(h.output.iter().all(|x| x.is_finite()), "{what}: non-finite output {:?}", &h.output[..h.output.len().min(8)]);
    let Some(w) = &h.weights else { return };
    assert!(w.iter().all(|x| x.is_finite()), "{what}: non-finite weights");
    for (r, row) in w.chunks_exact(d.seq_k).enumerate() {
        let sum: f64 = row.iter().map(|&x| x as f64).sum();
        let want = if empty_row(r % d.seq_q) { 0.0 } else { 1.0 };
        assert!((sum - want).abs() <= 1e-5, "{what}: row {r} sums to {sum}, not {want}");
    }
}

/// Every path finite and normalized, and every path's output equal to the CPU's unfused one
/// within `tol` relative to the largest |v|.
fn check_all_paths(what: &str, x: &Inputs, spec: &AttentionSpec, tol: f64) {
    let paths = all_paths(x, spec);
    let scale = x.v.iter().fold(1.0f64, |m, &v| m.max(v.abs() as f64));
    for (name, h) in &paths {
        let what = format!("{what} ({name})");
        assert_finite_and_normalized(&what, h, &x.dims, |_| false);
        let d = max_diff(&h.output, &paths[0].1.output, &what) / scale;
        assert!(d <= tol, "{what}: output differs from the CPU's unfused one by {d} (relative)");
        if let (Some(a), Some(b)) = (&h.weights, &paths[0].1.weights) {
            let d = max_diff(a, b, &what);
            assert!(d <= tol, "{what}: weights differ from the CPU's by {d}");
        }
    }
}

fn constant(dims: AttentionDims, q: f32, k: f32, seed: u64) -> Inputs {
    let mut x = inputs(dims.heads, dims.seq_q, dims.seq_k, dims.head_dim, seed);
    x.q.fill(q);
    x.k.fill(k);
    x
}

fn scores(head_dim: usize) -> Vec<(&'static str, Score)> {
    vec![("dot", Score::Dot), ("scaled_dot", Score::ScaledDot), ("cosine", Score::Cosine), ("neg_sq_dist", Score::NegSqDist), ("additive", additive(3, head_dim, 9))]
}

const DIMS: AttentionDims = AttentionDims { heads: 2, seq_q: 5, seq_k: 7, head_dim: 8 };

#[test]
fn huge_equal_operands_give_uniform_weights_on_every_path() {
    // The issue's input: q = k = 1e20 gave all-NaN weights unfused and 0 fused.
    let x = constant(DIMS, 1e20, 1e20, 1);
    for (name, score) in scores(8) {
        for normalizer in [Normalizer::Softmax, Normalizer::Sparsemax, Normalizer::Entmax15] {
            let spec = AttentionSpec { score: score.clone(), normalizer, ..Default::default() };
            check_all_paths(&format!("q = k = 1e20, {name} {normalizer:?}"), &x, &spec, 1e-5);
        }
    }
    let w = run(&mut CpuBackend::new(), &x, &AttentionSpec::default()).unwrap().weights.unwrap();
    assert!(w.iter().all(|&w| (w - 1.0 / 7.0).abs() < 1e-6), "equal saturated scores weigh equally");
}

#[test]
fn extreme_magnitudes_stay_finite_and_normalized() {
    for (m, seed) in [(1e30f32, 2), (1e-30, 3), (3e38, 4), (1e19, 5)] {
        let mut x = inputs(DIMS.heads, DIMS.seq_q, DIMS.seq_k, DIMS.head_dim, seed);
        x.q.iter_mut().for_each(|v| *v *= m);
        x.k.iter_mut().for_each(|v| *v *= m);
        for (name, score) in scores(8) {
            for normalizer in [Normalizer::Softmax, Normalizer::Sparsemax] {
                for positions in [Positions::None, Positions::Rope] {
                    let spec = AttentionSpec { score: score.clone(), normalizer, positions: positions.clone(), ..Default::default() };
                    let what = format!("|q|, |k| ~ {m:e}, {name} {normalizer:?} {positions:?}");
                    for (path, h) in all_paths(&x, &spec) {
                        assert_finite_and_normalized(&format!("{what} ({path})"), &h, &x.dims, |_| false);
                    }
                }
            }
        }
    }
}

#[test]
fn cosine_and_distance_at_1e30_match_the_reference() {
    // Values ~1e±30 (whose squares overflow or underflow f32) give the scores of moderate ones.
    for m in [1e30f32, 1e-30] {
        let small = inputs(1, 4, 6, 8, 7);
        let mut x = inputs(1, 4, 6, 8, 7);
        x.q.iter_mut().for_each(|v| *v *= m);
        x.k.iter_mut().for_each(|v| *v *= m);
        let spec = AttentionSpec { score: Score::Cosine, ..Default::default() };
        let want = reference::attention(&small.dims, &small.q, &small.k, &small.v, &spec);
        for (path, h) in all_paths(&x, &spec) {
            let d = max_diff(&h.output, &want.output, &path);
            assert!(d < 1e-5, "cosine at {m:e} ({path}): {d}");
        }
        // −‖q − k‖² underflows to 0 at 1e−30 and saturates at 1e30: uniform weights either way,
        // as in the reference (whose scores saturate too).
        let spec = AttentionSpec { score: Score::NegSqDist, ..Default::default() };
        let want = reference::attention(&x.dims, &x.q, &x.k, &x.v, &spec);
        for (path, h) in all_paths(&x, &spec) {
            assert_finite_and_normalized(&path, &h, &x.dims, |_| false);
            let d = max_diff(&h.output, &want.output, &path);
            assert!(d < 1e-5, "neg_sq_dist at {m:e} ({path}): {d}");
        }
    }
}

#[test]
fn extreme_temperatures_stay_finite_and_paths_agree() {
    let x = inputs(DIMS.heads, DIMS.seq_q, DIMS.seq_k, DIMS.head_dim, 11);
    for t in [1e-45f32, 1e-30, 1e30, f32::MAX] {
        for (name, score) in scores(8) {
            for positions in [Positions::None, Positions::Alibi, Positions::RelativeBias(vec![1e38; 11])] {
                let spec = AttentionSpec { temperature: t, score: score.clone(), positions: positions.clone(), ..Default::default() };
                check_all_paths(&format!("T = {t:e}, {name}, {positions:?}"), &x, &spec, 1e-5);
            }
        }
    }
}

#[test]
fn huge_values_saturate_the_output() {
    let mut x = inputs(DIMS.heads, DIMS.seq_q, DIMS.seq_k, DIMS.head_dim, 12);
    for (name, spec) in [
        ("plain", AttentionSpec::default()),
        ("causal", AttentionSpec { mask: Mask::Causal, ..Default::default() }),
        ("sparsemax", AttentionSpec { normalizer: Normalizer::Sparsemax, ..Default::default() }),
    ] {
        x.v.iter_mut().enumerate().for_each(|(i, v)| *v = if i % 3 == 0 { -3e38 } else { 3e38 });
        check_all_paths(&format!("|v| = 3e38, {name}"), &x, &spec, 1e-5);
    }
    // Every value f32::MAX: the output is f32::MAX (weights sum to 1), and with dropout's 1/(1 − p)
    // it saturates there instead of overflowing.
    x.v.fill(f32::MAX);
    for spec in [AttentionSpec::default(), AttentionSpec { dropout: Some(Dropout { p: 0.9, seed: 3 }), ..Default::default() }] {
        for (path, h) in all_paths(&x, &spec) {
            assert!(h.output.iter().all(|o| o.is_finite() && *o >= 0.0), "{path}: {:?}", &h.output[..4]);
            if spec.dropout.is_none() {
                assert!(h.output.iter().all(|&o| o >= f32::MAX * 0.9999), "{path}: {:?}", &h.output[..4]);
            }
        }
    }
}

#[test]
fn sparsemax_and_entmax_rows_sum_to_one_at_any_scale() {
    // The issue's input: q = 1e30 made every row sum to 0.
    for m in [1e30f32, 1e10, 3e4] {
        let mut x = inputs(DIMS.heads, DIMS.seq_q, DIMS.seq_k, DIMS.head_dim, 13);
        x.q.iter_mut().for_each(|v| *v = m * v.signum().max(0.5));
        for normalizer in [Normalizer::Sparsemax, Normalizer::Entmax15] {
            for mask in [Mask::None, Mask::TopK(3), Mask::Causal] {
                let spec = AttentionSpec { normalizer, mask, ..Default::default() };
                let r = reference::attention(&x.dims, &x.q, &x.k, &x.v, &spec);
                for row in r.weights.chunks_exact(DIMS.seq_k) {
                    assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9, "reference {normalizer:?} at {m:e}");
                }
                for (path, h) in all_paths(&x, &spec) {
                    assert_finite_and_normalized(&format!("q ~ {m:e}, {normalizer:?} {mask:?} ({path})"), &h, &x.dims, |_| false);
                }
            }
        }
    }
}

#[test]
fn masked_rows_stay_zero_at_extreme_magnitudes() {
    // Window 0 with seqQ > seqK: queries 7.. have no key.
    let mut x = inputs(1, 9, 7, 4, 14);
    x.q.iter_mut().for_each(|v| *v *= 1e30);
    x.v.iter_mut().for_each(|v| *v *= 3e38);
    for normalizer in [Normalizer::Softmax, Normalizer::Sparsemax, Normalizer::Entmax15] {
        let spec = AttentionSpec { mask: Mask::Window(0), normalizer, temperature: 1e-45, ..Default::default() };
        for (path, h) in all_paths(&x, &spec) {
            let what = format!("window 0, {normalizer:?} ({path})");
            assert_finite_and_normalized(&what, &h, &x.dims, |i| i >= 7);
            assert!(h.output[7 * 4..].iter().all(|&o| o == 0.0), "{what}: rows without keys give zero outputs");
        }
    }
}

#[test]
fn dropout_takes_u64_seeds_with_one_mask_on_both_backends() {
    // Seeds below 2³² keep the masks they had (pcg of the seed); the high word changes the mask.
    for s in [0u64, 1, 42, u32::MAX as u64] {
        assert_eq!(dropout::seed_hash(s), dropout::pcg(s as u32));
        assert_ne!(dropout::seed_hash(s), dropout::seed_hash(s + (1 << 32)));
    }
    let x = inputs(2, 6, 9, 4, 15);
    let mut masks = Vec::new();
    for seed in [(1u64 << 53) - 1, 1 << 32, (1 << 32) + 7, 3] {
        let spec = AttentionSpec { dropout: Some(Dropout { p: 0.5, seed }), ..Default::default() };
        let cpu = run(&mut CpuBackend::new(), &x, &spec).unwrap();
        let want = reference::attention(&x.dims, &x.q, &x.k, &x.v, &spec);
        let zeros = |w: &[f32]| w.iter().map(|&w| w == 0.0).collect::<Vec<_>>();
        let cw = cpu.weights.unwrap();
        assert_eq!(zeros(&cw), want.weights.iter().map(|&w| w == 0.0).collect::<Vec<_>>(), "seed {seed}: CPU vs reference");
        with_gpu(|g| {
            let gw = run(g, &x, &spec).unwrap().weights.unwrap();
            assert_eq!(zeros(&gw), zeros(&cw), "seed {seed}: GPU vs CPU");
        });
        masks.push(zeros(&cw));
    }
    assert!(masks[0] != masks[1] && masks[1] != masks[2], "different seeds, different masks");
}

#[test]
fn sizes_beyond_the_gpus_buffers_are_refused_before_allocating() {
    with_gpu(refuse_the_issues_sizes);
}

fn refuse_the_issues_sizes(g: &mut GpuBackend) {
    // The issue's sizes: 2.0 GiB of weights, far past WebGPU's default 128 MiB per binding.
    for (heads, seq) in [(2, 16384), (1, 23170)] {
        let dims = AttentionDims { heads, seq_q: seq, seq_k: seq, head_dim: 1 };
        let x = Inputs { dims, q: vec![0.5; heads * seq], k: vec![0.5; heads * seq], v: vec![0.5; heads * seq] };
        match run(g, &x, &AttentionSpec::default()) {
            Err(Error::Invalid(m)) => {
                assert!(m.contains("too large") && m.contains("2.0 GiB of weights") && m.contains("128.0 MiB per buffer"), "{m}");
                assert!(m.contains("returnWeights: false would fit"), "{m}");
            }
            other => panic!("expected a size error, got {:?}", other.map(|h| h.output.len())),
        }
    }
    // The backend still works afterwards.
    let x = inputs(2, 3, 4, 4, 16);
    let h = run(g, &x, &AttentionSpec::default()).unwrap();
    assert_finite_and_normalized("after the refusals", &h, &x.dims, |_| false);
}
