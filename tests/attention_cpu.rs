//! CPU attention against the plain f64 reference, and the exact properties each variant has.
//! Tolerance: 1e-5 absolute against the reference (f32 kernels vs f64 loops on values in [−1, 1]).

mod attention_common;

use attention_common::{additive, fused_qkv, inputs, max_diff, run, run_qkv, variants, Inputs, Rng};
use attention_playground::attention::positions::{alibi_slopes, rope_rotate, rope_table};
use attention_playground::attention::{dropout, reference, AttentionDims, AttentionSpec, Dropout, Mask, Normalizer, Positions, Score};
use attention_playground::cpu::CpuBackend;
use attention_playground::{Backend, Error};

const TOL: f64 = 1e-5;

fn cpu(x: &Inputs, spec: &AttentionSpec) -> attention_common::Host {
    run(&mut CpuBackend::new(), x, spec).unwrap()
}

fn check_against_reference(x: &Inputs, name: &str, spec: &AttentionSpec) {
    let r = reference::attention(&x.dims, &x.q, &x.k, &x.v, spec);
    let got = cpu(x, spec);
    let d = x.dims;
    let what = format!("{name} at {d:?}");
    let w = got.weights.as_ref().expect("weights requested");
    assert!(max_diff(w, &r.weights, &what) <= TOL, "{what}: weights differ by {}", max_diff(w, &r.weights, &what));
    assert!(max_diff(&got.output, &r.output, &what) <= TOL, "{what}: output differs by {}", max_diff(&got.output, &r.output, &what));
    if spec.stats {
        let e = got.entropy.as_ref().expect("entropy requested");
        let c = got.coverage.as_ref().expect("coverage requested");
        assert!(max_diff(e, &r.entropy, &what) <= 1e-4, "{what}: entropy differs by {}", max_diff(e, &r.entropy, &what));
        assert!(max_diff(c, &r.coverage, &what) <= 1e-4, "{what}: coverage differs by {}", max_diff(c, &r.coverage, &what));
    } else {
        assert!(got.entropy.is_none() && got.coverage.is_none(), "{what}: stats returned unasked");
    }
}

#[test]
fn every_variant_matches_the_reference_on_odd_shapes() {
    for (heads, seq_q, seq_k, head_dim, seed) in [(1, 1, 1, 1, 1), (2, 5, 7, 4, 2), (3, 9, 9, 6, 3), (2, 13, 4, 5, 4), (1, 17, 33, 16, 5)] {
        let x = inputs(heads, seq_q, seq_k, head_dim, seed);
        for (name, spec) in variants(seq_q, seq_k, head_dim) {
            check_against_reference(&x, &name, &spec);
        }
    }
}

#[test]
fn token_major_views_into_a_qkv_tensor_match_head_major() {
    let (heads, seq, d) = (3, 11, 4);
    let hidden = heads * d;
    let x = inputs(heads, seq, seq, d, 9);
    let qkv = fused_qkv(&x);
    for (name, spec) in variants(seq, seq, d) {
        let out = run_qkv(&mut CpuBackend::new(), &qkv, x.dims, &spec).unwrap();
        let want = cpu(&x, &spec);
        assert_eq!(out.weights, want.weights, "{name}: weights");
        for h in 0..heads {
            for i in 0..seq {
                for c in 0..d {
                    assert_eq!(out.output[i * hidden + h * d + c], want.output[(h * seq + i) * d + c], "{name}: output ({h},{i},{c})");
                }
            }
        }
    }
}

fn rows(w: &[f32], seq_k: usize) -> impl Iterator<Item = &[f32]> {
    w.chunks_exact(seq_k)
}

#[test]
fn rows_sum_to_one_and_masked_entries_are_zero() {
    let (seq_q, seq_k) = (12, 12);
    let x = inputs(2, seq_q, seq_k, 8, 21);
    for norm in [Normalizer::Softmax, Normalizer::Sparsemax, Normalizer::Entmax15] {
        for mask in [Mask::None, Mask::Causal, Mask::Window(2), Mask::TopK(3)] {
            let spec = AttentionSpec { normalizer: norm, mask, ..Default::default() };
            let w = cpu(&x, &spec).weights.unwrap();
            for (n, row) in rows(&w, seq_k).enumerate() {
                let i = n % seq_q;
                let sum: f32 = row.iter().sum();
                assert!((sum - 1.0).abs() < 1e-5, "{norm:?} {mask:?}: row {n} sums to {sum}");
                assert!(row.iter().all(|&p| p >= 0.0), "{norm:?} {mask:?}: negative weight");
                for (j, &p) in row.iter().enumerate() {
                    let allowed = match mask {
                        Mask::Causal => j <= i,
                        Mask::Window(wd) => i.abs_diff(j) <= wd,
                        _ => true,
                    };
                    if !allowed {
                        assert_eq!(p, 0.0, "{norm:?} {mask:?}: ({i},{j}) masked but {p}");
                    }
                }
                if let Mask::TopK(k) = mask {
                    let nonzero = row.iter().filter(|&&p| p != 0.0).count();
                    assert!(nonzero <= k, "{norm:?} topK {k}: {nonzero} nonzero");
                }
            }
        }
    }
}

#[test]
fn top_k_ties_keep_the_lower_index() {
    // Identical keys give identical scores: topK 2 must keep keys 0 and 1.
    let dims = AttentionDims { heads: 1, seq_q: 1, seq_k: 5, head_dim: 2 };
    let x = Inputs { dims, q: vec![1.0, 0.5], k: [0.3f32, 0.2].repeat(5), v: (0..10).map(|i| i as f32).collect() };
    let w = cpu(&x, &AttentionSpec { mask: Mask::TopK(2), ..Default::default() }).weights.unwrap();
    assert_eq!(w, vec![0.5, 0.5, 0.0, 0.0, 0.0]);
}

#[test]
fn a_fully_masked_row_gives_zero_weights_and_zero_output() {
    // seq_q > seq_k with window 0: queries past the last key see nothing.
    let x = inputs(1, 6, 3, 4, 2);
    for norm in [Normalizer::Softmax, Normalizer::Sparsemax, Normalizer::Entmax15] {
        let got = cpu(&x, &AttentionSpec { mask: Mask::Window(0), normalizer: norm, stats: true, ..Default::default() });
        let w = got.weights.unwrap();
        for i in 3..6 {
            assert!(w[i * 3..(i + 1) * 3].iter().all(|&p| p == 0.0), "{norm:?}: row {i} not zero");
            assert!(got.output[i * 4..(i + 1) * 4].iter().all(|&o| o == 0.0), "{norm:?}: output {i} not zero");
            assert_eq!(got.entropy.as_ref().unwrap()[i], 0.0);
        }
    }
}

#[test]
fn sparsemax_gives_exact_zeros_and_matches_the_sort_based_projection() {
    let x = inputs(2, 9, 15, 8, 33);
    // Unscaled dot scores spread enough for some to fall below the threshold.
    let spec = AttentionSpec { normalizer: Normalizer::Sparsemax, score: Score::Dot, ..Default::default() };
    let w = cpu(&x, &spec).weights.unwrap();
    let zeros = w.iter().filter(|&&p| p == 0.0).count();
    assert!(zeros > w.len() / 4, "expected many exact zeros, got {zeros} of {}", w.len());
    // Independent check: the projection is p = max(z − τ, 0) with Σp = 1, and τ lies between
    // the smallest kept and the largest dropped score.
    for (n, row) in rows(&w, 15).enumerate() {
        let (h, i) = (n / 9, n % 9);
        let z: Vec<f64> = (0..15)
            .map(|j| {
                let q = &x.q[(h * 9 + i) * 8..][..8];
                let k = &x.k[(h * 15 + j) * 8..][..8];
                q.iter().zip(k).map(|(&a, &b)| a as f64 * b as f64).sum()
            })
            .collect();
        let kept: Vec<usize> = (0..15).filter(|&j| row[j] > 0.0).collect();
        let tau = z[kept[0]] - row[kept[0]] as f64;
        for j in 0..15 {
            let want = (z[j] - tau).max(0.0);
            assert!((row[j] as f64 - want).abs() < 1e-5, "row {n} col {j}: {} vs {want}", row[j]);
        }
        let s: f32 = row.iter().sum();
        assert!((s - 1.0).abs() < 1e-5);
    }
}

#[test]
fn entmax15_sums_to_one_with_exact_zeros_and_lies_between_softmax_and_sparsemax() {
    let x = inputs(2, 10, 16, 8, 44);
    let w_of = |n| cpu(&x, &AttentionSpec { normalizer: n, score: Score::Dot, ..Default::default() }).weights.unwrap();
    let (soft, sparse, ent) = (w_of(Normalizer::Softmax), w_of(Normalizer::Sparsemax), w_of(Normalizer::Entmax15));
    let count = |w: &[f32]| w.iter().filter(|&&p| p == 0.0).count();
    assert!(count(&ent) > 0, "entmax15 gave no exact zeros");
    assert_eq!(count(&soft), 0);
    assert!(count(&ent) <= count(&sparse), "entmax15 should be less sparse than sparsemax");
    for row in rows(&ent, 16) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    // Direct check of the definition: p = max(z/2 − τ, 0)² with one τ per row.
    let z = [1.2f64, 0.3, -0.4, 0.9, 0.0];
    let p = reference::entmax15(&z);
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    let j = p.iter().position(|&v| v > 0.0).unwrap();
    let tau = z[j] / 2.0 - p[j].sqrt();
    for (zj, pj) in z.iter().zip(&p) {
        assert!((pj - (zj / 2.0 - tau).max(0.0).powi(2)).abs() < 1e-12);
    }
}

#[test]
fn permuting_keys_and_values_permutes_weight_columns_without_positions() {
    let (seq, d) = (9, 6);
    let x = inputs(2, seq, seq, d, 55);
    let perm = [3usize, 7, 0, 8, 1, 5, 2, 6, 4];
    let permute = |t: &[f32]| -> Vec<f32> {
        let mut out = vec![0.0; t.len()];
        for h in 0..2 {
            for (new, &old) in perm.iter().enumerate() {
                out[(h * seq + new) * d..][..d].copy_from_slice(&t[(h * seq + old) * d..][..d]);
            }
        }
        out
    };
    // Permute the whole token sequence: q, k and v together; maps permute along both axes.
    let y = Inputs { dims: x.dims, q: permute(&x.q), k: permute(&x.k), v: permute(&x.v) };
    for score in [Score::ScaledDot, Score::Cosine, Score::NegSqDist, additive(5, d, 1)] {
        for norm in [Normalizer::Softmax, Normalizer::Sparsemax, Normalizer::Entmax15] {
            let spec = AttentionSpec { score: score.clone(), normalizer: norm, ..Default::default() };
            let (a, b) = (cpu(&x, &spec), cpu(&y, &spec));
            let (wa, wb) = (a.weights.unwrap(), b.weights.unwrap());
            for h in 0..2 {
                for (ni, &oi) in perm.iter().enumerate() {
                    for (nj, &oj) in perm.iter().enumerate() {
                        let (p, q) = (wb[(h * seq + ni) * seq + nj], wa[(h * seq + oi) * seq + oj]);
                        assert!((p - q).abs() < 1e-6, "{score:?} {norm:?}: ({ni},{nj}) {p} vs {q}");
                    }
                    for c in 0..d {
                        let (p, q) = (b.output[(h * seq + ni) * d + c], a.output[(h * seq + oi) * d + c]);
                        assert!((p - q).abs() < 1e-5);
                    }
                }
            }
            // With RoPE the maps do not simply permute.
            let rope = AttentionSpec { positions: Positions::Rope, ..spec.clone() };
            let (ra, rb) = (cpu(&x, &rope).weights.unwrap(), cpu(&y, &rope).weights.unwrap());
            let moved = (0..seq).any(|ni| (0..seq).any(|nj| (rb[ni * seq + nj] - ra[perm[ni] * seq + perm[nj]]).abs() > 1e-4));
            assert!(moved, "{score:?} {norm:?}: RoPE maps should not follow the permutation");
        }
    }
}

#[test]
fn temperature_to_zero_approaches_argmax() {
    let x = inputs(1, 6, 10, 8, 66);
    let spec = AttentionSpec { temperature: 1e-4, score: Score::Dot, ..Default::default() };
    let w = cpu(&x, &spec).weights.unwrap();
    for (i, row) in rows(&w, 10).enumerate() {
        let q = &x.q[i * 8..][..8];
        let s: Vec<f32> = (0..10).map(|j| q.iter().zip(&x.k[j * 8..][..8]).map(|(a, b)| a * b).sum()).collect();
        let arg = (0..10).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap();
        assert!(row[arg] > 0.999, "row {i}: argmax {arg} has weight {}", row[arg]);
    }
}

#[test]
fn rope_scores_depend_only_on_the_offset() {
    let d = 16;
    let table = rope_table(64, d);
    let mut r = Rng::new(77);
    let (q, k) = (r.vec(d), r.vec(d));
    let score_at = |i: usize, j: usize| {
        let (mut a, mut b) = (q.clone(), k.clone());
        rope_rotate(&mut a, i, &table);
        rope_rotate(&mut b, j, &table);
        a.iter().zip(&b).map(|(x, y)| (x * y) as f64).sum::<f64>()
    };
    for offset in [0usize, 1, 5, 20] {
        let base = score_at(offset, 0);
        for i in [offset + 1, offset + 17, 60] {
            let s = score_at(i, i - offset);
            assert!((s - base).abs() < 1e-4, "offset {offset}: q@{i}·k@{} = {s}, at 0 {base}", i - offset);
        }
    }
    // And the rotation is not the identity.
    assert!((score_at(3, 0) - score_at(0, 0)).abs() > 1e-3);
}

#[test]
fn alibi_slopes_for_8_and_6_heads() {
    let s8: Vec<f32> = (1..=8).map(|h| 2f32.powi(-h)).collect();
    assert_eq!(alibi_slopes(8), s8);
    // 6 heads: the 4-head slopes 2^-2, 2^-4, 2^-6, 2^-8, then every other slope of 8 heads: 2^-1, 2^-3.
    let s6 = [0.25f32, 0.0625, 0.015625, 0.00390625, 0.5, 0.125];
    assert_eq!(alibi_slopes(6), s6);
    assert_eq!(alibi_slopes(1), vec![2f32.powi(-8)]);
}

#[test]
fn alibi_and_relative_bias_shift_scores_as_defined() {
    // With zero q and k every content score is 0, so softmax sees the bias alone.
    let dims = AttentionDims { heads: 2, seq_q: 3, seq_k: 4, head_dim: 2 };
    let x = Inputs { dims, q: vec![0.0; 12], k: vec![0.0; 16], v: vec![0.0; 16] };
    let w = cpu(&x, &AttentionSpec { positions: Positions::Alibi, ..Default::default() }).weights.unwrap();
    let slopes = alibi_slopes(2);
    for h in 0..2 {
        for i in 0..3usize {
            let e: Vec<f64> = (0..4).map(|j| (-(slopes[h] as f64) * i.abs_diff(j) as f64).exp()).collect();
            let s: f64 = e.iter().sum();
            for j in 0..4 {
                assert!((w[(h * 3 + i) * 4 + j] as f64 - e[j] / s).abs() < 1e-6);
            }
        }
    }
    let bias: Vec<f32> = (0..6).map(|t| t as f32 * 0.5).collect();
    let w = cpu(&x, &AttentionSpec { positions: Positions::RelativeBias(bias.clone()), ..Default::default() }).weights.unwrap();
    for i in 0..3 {
        let e: Vec<f64> = (0..4).map(|j| (bias[i + 3 - j] as f64).exp()).collect();
        let s: f64 = e.iter().sum();
        for j in 0..4 {
            assert!((w[i * 4 + j] as f64 - e[j] / s).abs() < 1e-6);
        }
    }
}

#[test]
fn dropout_preserves_the_mean_and_is_deterministic_per_seed() {
    let x = inputs(4, 32, 64, 4, 88);
    let plain = cpu(&x, &AttentionSpec::default()).weights.unwrap();
    let spec = |seed| AttentionSpec { dropout: Some(Dropout { p: 0.25, seed }), ..Default::default() };
    let a = cpu(&x, &spec(1)).weights.unwrap();
    assert_eq!(a, cpu(&x, &spec(1)).weights.unwrap(), "same seed, different weights");
    assert_ne!(a, cpu(&x, &spec(2)).weights.unwrap(), "different seeds, same weights");
    let dropped = a.iter().filter(|&&w| w == 0.0).count() as f64 / a.len() as f64;
    assert!((dropped - 0.25).abs() < 0.02, "dropped fraction {dropped}");
    // E[dropped weight] = weight: the total mass matches within sampling noise.
    let (sa, sp): (f64, f64) = (a.iter().map(|&w| w as f64).sum(), plain.iter().map(|&w| w as f64).sum());
    assert!((sa / sp - 1.0).abs() < 0.02, "mass ratio {}", sa / sp);
    for (p, q) in a.iter().zip(&plain) {
        assert!(*p == 0.0 || (p - q / 0.75).abs() < 1e-6);
    }
    // The hash itself: uniform in [0, 1), mean 1/2.
    let mean: f64 = (0..10000u32).map(|j| dropout::uniform(9, 1, 2, j) as f64).sum::<f64>() / 10000.0;
    assert!((mean - 0.5).abs() < 0.01, "hash mean {mean}");
}

#[test]
fn stats_are_row_entropy_and_column_sums() {
    let x = inputs(2, 7, 5, 4, 99);
    let got = cpu(&x, &AttentionSpec { stats: true, ..Default::default() });
    let w = got.weights.unwrap();
    let (e, c) = (got.entropy.unwrap(), got.coverage.unwrap());
    for (n, row) in rows(&w, 5).enumerate() {
        let h: f64 = row.iter().map(|&p| -(p as f64) * (p as f64).ln()).sum();
        assert!((e[n] as f64 - h).abs() < 1e-5);
    }
    for h in 0..2 {
        for j in 0..5 {
            let s: f32 = (0..7).map(|i| w[(h * 7 + i) * 5 + j]).sum();
            assert!((c[h * 5 + j] - s).abs() < 1e-5);
        }
    }
    // Uniform weights (identical keys) have entropy ln(seq_k).
    let dims = AttentionDims { heads: 1, seq_q: 1, seq_k: 5, head_dim: 2 };
    let y = Inputs { dims, q: vec![1.0, 2.0], k: vec![0.5; 10], v: vec![1.0; 10] };
    let e = cpu(&y, &AttentionSpec { stats: true, ..Default::default() }).entropy.unwrap();
    assert!((e[0] as f64 - 5f64.ln()).abs() < 1e-6);
}

#[test]
fn cosine_guards_zero_vectors() {
    let dims = AttentionDims { heads: 1, seq_q: 1, seq_k: 2, head_dim: 3 };
    let x = Inputs { dims, q: vec![0.0; 3], k: vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0], v: vec![1.0; 6] };
    let w = cpu(&x, &AttentionSpec { score: Score::Cosine, ..Default::default() }).weights.unwrap();
    assert_eq!(w, vec![0.5, 0.5]);
}

#[test]
fn bad_input_is_an_invalid_error() {
    let x = inputs(2, 3, 4, 4, 1);
    let mut b = CpuBackend::new();
    let cases: Vec<(AttentionSpec, &str)> = vec![
        (AttentionSpec { temperature: 0.0, ..Default::default() }, "temperature"),
        (AttentionSpec { temperature: f32::NAN, ..Default::default() }, "temperature"),
        (AttentionSpec { mask: Mask::TopK(0), ..Default::default() }, "topK"),
        (AttentionSpec { positions: Positions::RelativeBias(vec![0.0; 3]), ..Default::default() }, "relativeBias"),
        (AttentionSpec { dropout: Some(Dropout { p: 1.0, seed: 0 }), ..Default::default() }, "dropout"),
        (AttentionSpec { score: additive(3, 5, 1), ..Default::default() }, "additive"),
    ];
    for (spec, word) in cases {
        match run(&mut b, &x, &spec) {
            Err(Error::Invalid(m)) => assert!(m.contains(word), "{word}: message {m:?}"),
            other => panic!("{word}: expected Error::Invalid, got {:?}", other.map(|h| h.output.len())),
        }
    }
    let short = Inputs { dims: x.dims, q: x.q[..5].to_vec(), k: x.k.clone(), v: x.v.clone() };
    match run(&mut b, &short, &AttentionSpec::default()) {
        Err(Error::Invalid(m)) => assert!(m.starts_with("q has 5 values"), "{m}"),
        _ => panic!("short q accepted"),
    }
    let odd = inputs(1, 2, 2, 3, 1);
    assert!(matches!(run(&mut b, &odd, &AttentionSpec { positions: Positions::Rope, ..Default::default() }), Err(Error::Invalid(_))));
}
