//! GPU attention against the CPU backend: every variant within 1e-5 (absolute, on weights,
//! outputs and stats), on shapes that do not divide the 16×16 tiles, the 64-wide key chunks or the 64-lane rows, with
//! seqQ ≠ seqK, token-major layouts, and seqK = 4096 at headDim 64. Runs on whatever Vulkan
//! adapter wgpu finds (Mesa's llvmpipe in CI); skips loudly when there is none.

mod attention_common;

use attention_common::{fused_qkv, inputs, max_diff, run, run_qkv, variants, Host, Inputs};
use attention_playground::attention::{AttentionSpec, Dropout, Mask, Normalizer, Positions, Score};
use attention_playground::cpu::CpuBackend;
use attention_playground::gpu::GpuBackend;
use attention_playground::Error;
mod support;
use support::gpu;

const TOL: f64 = 1e-5;

fn compare(what: &str, g: &Host, c: &Host) {
    let close = |a: &Option<Vec<f32>>, b: &Option<Vec<f32>>, part: &str| match (a, b) {
        (Some(a), Some(b)) => {
            let d = max_diff(a, b, what);
            assert!(d <= TOL, "{what}: {part} differ by {d}");
        }
        (None, None) => {}
        _ => panic!("{what}: {part} returned by one backend only"),
    };
    let d = max_diff(&g.output, &c.output, what);
    assert!(d <= TOL, "{what}: outputs differ by {d}");
    close(&g.weights, &c.weights, "weights");
    close(&g.entropy, &c.entropy, "entropy");
    close(&g.coverage, &c.coverage, "coverage");
}

fn check(g: &mut GpuBackend, x: &Inputs, name: &str, spec: &AttentionSpec) {
    let what = format!("{name} at {:?}", x.dims);
    let got = run(g, x, spec).unwrap_or_else(|e| panic!("{what}: GPU failed: {e}"));
    let want = run(&mut CpuBackend::new(), x, spec).unwrap();
    compare(&what, &got, &want);
}

#[test]
fn every_variant_matches_the_cpu() {
    let Some(mut g) = gpu() else { return };
    // Shapes off the tile sizes, seqQ ≠ seqK both ways, and a row longer than one workgroup.
    for (heads, seq_q, seq_k, head_dim, seed) in [(2, 5, 7, 4, 1), (3, 17, 9, 6, 2), (1, 33, 300, 20, 3)] {
        let x = inputs(heads, seq_q, seq_k, head_dim, seed);
        for (name, spec) in variants(seq_q, seq_k, head_dim) {
            check(&mut g, &x, &name, &spec);
        }
    }
}

#[test]
fn token_major_layouts_match_the_cpu() {
    let Some(mut g) = gpu() else { return };
    let x = inputs(3, 13, 13, 8, 4);
    let qkv = fused_qkv(&x);
    for (name, spec) in variants(13, 13, 8).into_iter().step_by(3) {
        let a = run_qkv(&mut g, &qkv, x.dims, &spec).unwrap();
        let c = run_qkv(&mut CpuBackend::new(), &qkv, x.dims, &spec).unwrap();
        compare(&format!("token-major {name}"), &a, &c);
    }
}

#[test]
fn long_rows_seq_k_4096_at_head_dim_64() {
    let Some(mut g) = gpu() else { return };
    let x = inputs(2, 24, 4096, 64, 7);
    for (name, spec) in [
        ("softmax", AttentionSpec::default()),
        ("sparsemax", AttentionSpec { normalizer: Normalizer::Sparsemax, ..Default::default() }),
        ("entmax15 alibi", AttentionSpec { normalizer: Normalizer::Entmax15, positions: Positions::Alibi, ..Default::default() }),
        ("topK 100 rope", AttentionSpec { mask: Mask::TopK(100), positions: Positions::Rope, ..Default::default() }),
        ("dropout stats", AttentionSpec { dropout: Some(Dropout { p: 0.1, seed: 3 }), stats: true, ..Default::default() }),
        ("stats entmax15 T=8", AttentionSpec { stats: true, normalizer: Normalizer::Entmax15, temperature: 8.0, ..Default::default() }),
    ] {
        check(&mut g, &x, name, &spec);
    }
}

#[test]
fn repeated_calls_reuse_buffers_and_agree() {
    let Some(mut g) = gpu() else { return };
    let x = inputs(2, 9, 11, 8, 12);
    let spec = AttentionSpec { positions: Positions::Rope, score: Score::Cosine, ..Default::default() };
    let first = run(&mut g, &x, &spec).unwrap();
    for _ in 0..3 {
        let again = run(&mut g, &x, &spec).unwrap();
        assert_eq!(again.output, first.output);
        assert_eq!(again.weights, first.weights);
    }
}

#[test]
fn bad_input_is_an_invalid_error_on_the_gpu() {
    let Some(mut g) = gpu() else { return };
    let x = inputs(2, 3, 4, 4, 1);
    let bad = AttentionSpec { temperature: -1.0, ..Default::default() };
    assert!(matches!(run(&mut g, &x, &bad), Err(Error::Invalid(m)) if m.contains("temperature")));
    let short = Inputs { dims: x.dims, q: x.q.clone(), k: x.k[..3].to_vec(), v: x.v.clone() };
    assert!(matches!(run(&mut g, &short, &AttentionSpec::default()), Err(Error::Invalid(m)) if m.starts_with("k has 3 values")));
    // Weights beyond one storage binding (128 MiB by default) are refused up front.
    let huge = attention_playground::attention::AttentionDims { heads: 8, seq_q: 4096, seq_k: 4096, head_dim: 1 };
    let big = Inputs { dims: huge, q: vec![0.0; 8 * 4096], k: vec![0.0; 8 * 4096], v: vec![0.0; 8 * 4096] };
    match run(&mut g, &big, &AttentionSpec::default()) {
        Err(Error::Invalid(m)) => assert!(m.contains("too large"), "{m}"),
        other => panic!("expected a size error, got {:?}", other.map(|h| h.output.len())),
    }
    // The backend still works afterwards.
    check(&mut g, &x, "after errors", &AttentionSpec::default());
}
