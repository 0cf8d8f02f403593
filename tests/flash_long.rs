//! Issue 5's long-sequence claim: the fused kernel runs seqQ = seqK = 16384, headDim 64, 8 heads
//! (inside WebGPU's default limits on the GPU) and matches the unfused path. The unfused weights
//! would be 8 GiB, so a sample of query rows is checked: against the unfused kernel run on just
//! those rows with all 16384 keys, and against a plain f64 computation of the same rows.
//!
//! Ignored by default (minutes on a CPU or on Mesa llvmpipe, well under a second on a real GPU):
//!   cargo test --release --test flash_long -- --ignored --nocapture            # both
//!   cargo test --release --test flash_long flash_16384_cpu -- --ignored --nocapture

mod extras_common;

use std::time::Instant;

use attention_playground::attention::{AttentionDims, AttentionSpec};
use attention_playground::backend::{AttentionArgs, HeadLayout};
use attention_playground::cpu::CpuBackend;
use attention_playground::Backend;
use extras_common::{gpu, max_abs_diff, random};

const HEADS: usize = 8;
const SEQ: usize = 16384;
const D: usize = 64;
/// Query rows checked in every head: block and tile edges, the middle, the ends.
const ROWS: [usize; 10] = [0, 1, 63, 64, 65, 4095, 8192, 12345, 16320, 16383];
const TOL: f32 = 1e-5;

fn args<'a, T>(dims: AttentionDims, q: &'a T, k: &'a T, v: &'a T, spec: &'a AttentionSpec) -> AttentionArgs<'a, T> {
    let (ql, kl) = (HeadLayout::head_major(dims.seq_q, D), HeadLayout::head_major(dims.seq_k, D));
    AttentionArgs { dims, q, q_layout: ql, k, k_layout: kl, v, v_layout: kl, out_layout: ql, spec }
}

struct Data {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    /// [heads, ROWS.len(), D]: the sampled query rows.
    q_rows: Vec<f32>,
}

fn data() -> Data {
    let n = HEADS * SEQ * D;
    let q = random(161, n);
    let q_rows = (0..HEADS).flat_map(|h| ROWS.iter().flat_map(move |&i| (0..D).map(move |c| (h, i, c)))).map(|(h, i, c)| q[(h * SEQ + i) * D + c]).collect();
    Data { q_rows, q, k: random(162, n), v: random(163, n) }
}

/// softmax(q·k/√d)·v for the sampled rows, in f64: [heads, ROWS.len(), D].
fn f64_rows(d: &Data) -> Vec<f32> {
    let mut out = Vec::new();
    for h in 0..HEADS {
        for &i in &ROWS {
            let qi = &d.q[(h * SEQ + i) * D..][..D];
            let s: Vec<f64> = (0..SEQ)
                .map(|j| qi.iter().zip(&d.k[(h * SEQ + j) * D..][..D]).map(|(a, b)| *a as f64 * *b as f64).sum::<f64>() / (D as f64).sqrt())
                .collect();
            let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = s.iter().map(|x| (x - m).exp()).collect();
            let z: f64 = e.iter().sum();
            let mut row = vec![0.0f64; D];
            for (j, w) in e.iter().enumerate() {
                for (c, r) in row.iter_mut().enumerate() {
                    *r += w / z * d.v[(h * SEQ + j) * D + c] as f64;
                }
            }
            out.extend(row.iter().map(|&x| x as f32));
        }
    }
    out
}

/// The sampled rows [heads, ROWS.len(), D] out of a full [heads, SEQ, D] output.
fn pick_rows(full: &[f32]) -> Vec<f32> {
    (0..HEADS).flat_map(|h| ROWS.iter().flat_map(move |&i| full[(h * SEQ + i) * D..][..D].to_vec())).collect()
}

fn run<B: Backend>(b: &mut B, name: &str) {
    let d = data();
    let full = AttentionDims { heads: HEADS, seq_q: SEQ, seq_k: SEQ, head_dim: D };
    let fused_spec = AttentionSpec { return_weights: false, ..Default::default() };
    let (q, k, v) = (b.upload(&d.q).unwrap(), b.upload(&d.k).unwrap(), b.upload(&d.v).unwrap());
    let start = Instant::now();
    let out = b.attention(&args(full, &q, &k, &v, &fused_spec)).unwrap();
    assert!(out.weights.is_none(), "returnWeights: false must take the fused path (no weights)");
    let fused = pollster::block_on(b.read(&[&out.output])).unwrap().remove(0);
    let secs = start.elapsed().as_secs_f64();
    let gflop = 4.0 * (HEADS * SEQ * SEQ * D) as f64 / 1e9;
    println!("{name}: fused attention 8 heads × 16384² × 64 in {secs:.2} s ({:.2} GFLOP/s)", gflop / secs);
    assert_eq!(fused.len(), HEADS * SEQ * D);
    assert!(fused.iter().all(|x| x.is_finite()), "non-finite output");

    // The unfused kernel on the sampled rows with every key.
    let rows = AttentionDims { heads: HEADS, seq_q: ROWS.len(), seq_k: SEQ, head_dim: D };
    let q_rows = b.upload(&d.q_rows).unwrap();
    let unfused_out = b.attention(&args(rows, &q_rows, &k, &v, &AttentionSpec::default())).unwrap();
    assert!(unfused_out.weights.is_some());
    let unfused = pollster::block_on(b.read(&[&unfused_out.output])).unwrap().remove(0);
    let got = pick_rows(&fused);
    let vs_unfused = max_abs_diff(&got, &unfused);
    let vs_f64 = max_abs_diff(&got, &f64_rows(&d));
    println!("{name}: sampled rows differ from the unfused path by {vs_unfused:e}, from f64 by {vs_f64:e}");
    assert!(vs_unfused <= TOL, "{name}: fused differs from unfused by {vs_unfused}");
    assert!(vs_f64 <= TOL, "{name}: fused differs from the f64 rows by {vs_f64}");
}

#[test]
#[ignore = "minutes: cargo test --release --test flash_long -- --ignored"]
fn flash_16384_cpu() {
    run(&mut CpuBackend::new(), "cpu");
}

#[test]
#[ignore = "minutes on llvmpipe, < 1 s on a GPU: cargo test --release --test flash_long -- --ignored"]
fn flash_16384_gpu() {
    let Some(mut g) = gpu() else { return };
    let name = format!("gpu ({})", g.context().adapter_name);
    run(&mut g, &name);
}
