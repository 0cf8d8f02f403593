//! The requests behind `pg.rollout` and `pg.multiHead` (src/playground/mechanisms.rs), end to end
//! on both backends: results against plain f64 references, GPU = CPU within 1e-5, and bad input
//! refused with messages in the JS API's terms.

mod extras_common;

use attention_playground::attention::rollout::{HeadFusion, RolloutOptions};
use attention_playground::attention::{AttentionSpec, Mask};
use attention_playground::cpu::CpuBackend;
use attention_playground::playground::mechanisms::{run_multi_head, run_rollout, MultiHeadRequest, RolloutRequest};
use attention_playground::{Backend, Error};
use extras_common::{gpu, max_abs_diff, random};

/// Rows of [layers, heads, seq, seq] that are distributions (random positive, normalized).
fn maps(layers: usize, heads: usize, seq: usize, seed: u64) -> Vec<f32> {
    let mut m: Vec<f32> = random(seed, layers * heads * seq * seq).iter().map(|x| x.abs() + 0.01).collect();
    for row in m.chunks_mut(seq) {
        let s: f32 = row.iter().sum();
        row.iter_mut().for_each(|x| *x /= s);
    }
    m
}

/// Abnar & Zuidema in f64: fuse heads (mean), 0.5·A + 0.5·I, renormalize, multiply through layers.
fn rollout_reference(m: &[f32], layers: usize, heads: usize, seq: usize) -> Vec<f64> {
    let mut r: Option<Vec<f64>> = None;
    for l in 0..layers {
        let mut a = vec![0.0f64; seq * seq];
        for h in 0..heads {
            for (i, x) in a.iter_mut().enumerate() {
                *x += m[(l * heads + h) * seq * seq + i] as f64 / heads as f64;
            }
        }
        for i in 0..seq {
            a[i * seq + i] += 1.0;
            let row = &mut a[i * seq..(i + 1) * seq];
            let s: f64 = row.iter().sum();
            row.iter_mut().for_each(|x| *x /= s);
        }
        r = Some(match r {
            None => a,
            Some(prev) => {
                let mut out = vec![0.0; seq * seq];
                for i in 0..seq {
                    for k in 0..seq {
                        for j in 0..seq {
                            out[i * seq + j] += a[i * seq + k] * prev[k * seq + j];
                        }
                    }
                }
                out
            }
        });
    }
    r.unwrap()
}

fn rollout_on<B: Backend>(b: &mut B, req: &RolloutRequest) -> attention_playground::Result<Vec<f32>> {
    pollster::block_on(run_rollout(b, req))
}

fn rollout_req(fusion: HeadFusion) -> RolloutRequest {
    RolloutRequest { maps: maps(3, 2, 9, 7), layers: 3, heads: 2, seq: 9, options: RolloutOptions { residual: true, head_fusion: fusion } }
}

#[test]
fn rollout_request_is_the_last_layer_and_matches_the_reference() {
    let req = rollout_req(HeadFusion::Mean);
    let got = rollout_on(&mut CpuBackend::new(), &req).unwrap();
    assert_eq!(got.len(), 81);
    let want = rollout_reference(&req.maps, 3, 2, 9);
    let diff = got.iter().zip(&want).map(|(g, w)| (*g as f64 - w).abs()).fold(0.0, f64::max);
    assert!(diff < 1e-5, "rollout differs from the f64 reference by {diff}");
    for row in got.chunks(9) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
}

#[test]
fn rollout_request_gpu_equals_cpu() {
    let Some(mut g) = gpu() else { return };
    for fusion in [HeadFusion::Mean, HeadFusion::Max, HeadFusion::Min] {
        let req = rollout_req(fusion);
        let c = rollout_on(&mut CpuBackend::new(), &req).unwrap();
        let d = max_abs_diff(&c, &rollout_on(&mut g, &req).unwrap());
        assert!(d <= 1e-5, "{fusion:?}: GPU differs from CPU by {d}");
    }
}

#[test]
fn rollout_request_refuses_bad_input() {
    let mut b = CpuBackend::new();
    let mut req = rollout_req(HeadFusion::Mean);
    req.maps.pop();
    let e = rollout_on(&mut b, &req).unwrap_err().to_string();
    assert!(e.contains("maps has 485 values, expected layers × heads × seq × seq = 3 × 2 × 9 × 9 = 486"), "{e}");
    let mut req = rollout_req(HeadFusion::Mean);
    req.maps[5] = f32::NAN;
    assert!(matches!(rollout_on(&mut b, &req), Err(Error::Invalid(m)) if m.contains("maps[5] must be a finite number")));
}

fn mh_req(seq_q: usize, cross: Option<usize>, spec: AttentionSpec) -> MultiHeadRequest {
    let (d_model, heads, head_dim) = (6, 3, 4);
    let inner = heads * head_dim;
    let w = |s: u64, n: usize| random(s, n).iter().map(|x| x * 0.5).collect::<Vec<f32>>();
    MultiHeadRequest {
        x: random(1, seq_q * d_model),
        context: cross.map(|k| random(2, k * d_model)),
        wq: w(3, d_model * inner),
        wk: w(4, d_model * inner),
        wv: w(5, d_model * inner),
        wo: w(6, inner * d_model),
        bq: Some(w(7, inner)),
        bk: None,
        bv: Some(w(8, inner)),
        bo: Some(w(9, d_model)),
        heads,
        seq_q,
        seq_k: cross.unwrap_or(seq_q),
        d_model,
        head_dim,
        spec,
    }
}

/// Plain f64 multi-head attention (scaled dot, softmax, optional causal mask).
fn multi_head_reference(r: &MultiHeadRequest, causal: bool) -> (Vec<f64>, Vec<f64>) {
    let (dm, h, hd) = (r.d_model, r.heads, r.head_dim);
    let inner = h * hd;
    let proj = |x: &[f32], rows: usize, w: &[f32], b: Option<&Vec<f32>>, n_in: usize, n_out: usize| -> Vec<f64> {
        let mut y = vec![0.0f64; rows * n_out];
        for i in 0..rows {
            for o in 0..n_out {
                let mut s = b.map_or(0.0, |b| b[o] as f64);
                for c in 0..n_in {
                    s += x[i * n_in + c] as f64 * w[c * n_out + o] as f64;
                }
                y[i * n_out + o] = s;
            }
        }
        y
    };
    let ctx = r.context.as_ref().unwrap_or(&r.x);
    let q = proj(&r.x, r.seq_q, &r.wq, r.bq.as_ref(), dm, inner);
    let k = proj(ctx, r.seq_k, &r.wk, r.bk.as_ref(), dm, inner);
    let v = proj(ctx, r.seq_k, &r.wv, r.bv.as_ref(), dm, inner);
    let mut weights = vec![0.0f64; h * r.seq_q * r.seq_k];
    let mut concat = vec![0.0f64; r.seq_q * inner];
    for hh in 0..h {
        for i in 0..r.seq_q {
            let allowed = |j: usize| !causal || j <= i;
            let s: Vec<f64> = (0..r.seq_k)
                .map(|j| (0..hd).map(|c| q[i * inner + hh * hd + c] * k[j * inner + hh * hd + c]).sum::<f64>() / (hd as f64).sqrt())
                .collect();
            let m = (0..r.seq_k).filter(|&j| allowed(j)).map(|j| s[j]).fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = (0..r.seq_k).map(|j| if allowed(j) { (s[j] - m).exp() } else { 0.0 }).collect();
            let z: f64 = e.iter().sum();
            for j in 0..r.seq_k {
                let w = e[j] / z;
                weights[(hh * r.seq_q + i) * r.seq_k + j] = w;
                for c in 0..hd {
                    concat[i * inner + hh * hd + c] += w * v[j * inner + hh * hd + c];
                }
            }
        }
    }
    let concat32: Vec<f32> = concat.iter().map(|&x| x as f32).collect();
    (weights, proj(&concat32, r.seq_q, &r.wo, r.bo.as_ref(), inner, dm))
}

fn close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let d = got.iter().zip(want).map(|(g, w)| (*g as f64 - w).abs()).fold(0.0, f64::max);
    assert!(d <= tol, "{what}: differs from the reference by {d}");
}

#[test]
fn multi_head_request_matches_the_reference_self_and_cross() {
    let causal = AttentionSpec { mask: Mask::Causal, ..AttentionSpec::default() };
    for (req, is_causal) in [(mh_req(5, None, AttentionSpec::default()), false), (mh_req(4, Some(7), AttentionSpec::default()), false), (mh_req(6, None, causal), true)] {
        let r = pollster::block_on(run_multi_head(&mut CpuBackend::new(), &req)).unwrap();
        let (w, out) = multi_head_reference(&req, is_causal);
        close(r.weights.as_ref().unwrap(), &w, 1e-5, "weights");
        close(&r.output, &out, 1e-4, "output");
        assert!(r.entropy.is_none() && r.coverage.is_none());
    }
}

#[test]
fn multi_head_request_gpu_equals_cpu() {
    let Some(mut g) = gpu() else { return };
    let spec = AttentionSpec { stats: true, ..AttentionSpec::default() };
    let req = mh_req(7, Some(5), spec);
    let c = pollster::block_on(run_multi_head(&mut CpuBackend::new(), &req)).unwrap();
    let d = pollster::block_on(run_multi_head(&mut g, &req)).unwrap();
    for (name, a, b) in [("output", Some(&c.output), Some(&d.output)), ("weights", c.weights.as_ref(), d.weights.as_ref()), ("entropy", c.entropy.as_ref(), d.entropy.as_ref()), ("coverage", c.coverage.as_ref(), d.coverage.as_ref())] {
        let diff = max_abs_diff(a.unwrap(), b.unwrap());
        assert!(diff <= 1e-5, "{name}: GPU differs from CPU by {diff}");
    }
}

#[test]
fn multi_head_request_refuses_bad_input() {
    let mut b = CpuBackend::new();
    let run = |b: &mut CpuBackend, r: MultiHeadRequest| pollster::block_on(run_multi_head(b, &r)).map(|_| ()).unwrap_err().to_string();
    let mut r = mh_req(5, None, AttentionSpec::default());
    r.x.pop();
    assert!(run(&mut b, r).contains("x must have seqQ × dModel = 5 × 6 = 30 values, got 29"));
    let mut r = mh_req(5, None, AttentionSpec::default());
    r.seq_k = 4;
    assert!(run(&mut b, r).contains("seqK (4) differs from seqQ (5) but no context is given"));
    let mut r = mh_req(5, Some(3), AttentionSpec::default());
    r.wo.push(0.0);
    assert!(run(&mut b, r).contains("wo has 73 values, expected 72"));
    let mut r = mh_req(5, Some(3), AttentionSpec::default());
    r.bq = Some(vec![0.0; 5]);
    assert!(run(&mut b, r).contains("bq has 5 values, expected 12"));
    let mut r = mh_req(5, None, AttentionSpec { temperature: 0.0, ..AttentionSpec::default() });
    r.heads = 3;
    assert!(run(&mut b, r).contains("temperature must be a finite number > 0"));
}
