//! Multi-head attention (projections, per-head attention, concat, output projection) on both
//! backends against a plain reference: f64 projections around `attention::reference`.

mod extras_common;

use attention_playground::attention::multihead::{multi_head, MultiHeadArgs};
use attention_playground::attention::{reference, AttentionDims, AttentionSpec, Mask, Positions};
use attention_playground::cpu::CpuBackend;
use attention_playground::Backend;
use extras_common::{gpu, max_abs_diff, random};

struct Case {
    seq_q: usize,
    /// None: self-attention.
    seq_k: Option<usize>,
    d_model: usize,
    heads: usize,
    head_dim: usize,
    biases: bool,
}

struct Data {
    x: Vec<f32>,
    ctx: Option<Vec<f32>>,
    wq: Vec<f32>,
    wk: Vec<f32>,
    wv: Vec<f32>,
    wo: Vec<f32>,
    b: Option<[Vec<f32>; 4]>, // bq, bk, bv, bo
}

fn data(c: &Case, seed: u64) -> Data {
    let inner = c.heads * c.head_dim;
    let w = |s: u64, n: usize| random(seed * 10 + s, n).iter().map(|v| v * 0.5).collect::<Vec<f32>>();
    Data {
        x: random(seed * 10, c.seq_q * c.d_model),
        ctx: c.seq_k.map(|k| random(seed * 10 + 1, k * c.d_model)),
        wq: w(2, c.d_model * inner),
        wk: w(3, c.d_model * inner),
        wv: w(4, c.d_model * inner),
        wo: w(5, inner * c.d_model),
        b: c.biases.then(|| [w(6, inner), w(7, inner), w(8, inner), w(9, c.d_model)]),
    }
}

/// `x · w + b` in f64 for [rows, n_in] · [n_in, n_out].
fn project(x: &[f32], w: &[f32], b: Option<&Vec<f32>>, n_in: usize, n_out: usize) -> Vec<f64> {
    let rows = x.len() / n_in;
    let mut y = vec![0.0f64; rows * n_out];
    for r in 0..rows {
        for o in 0..n_out {
            y[r * n_out + o] = b.map_or(0.0, |b| b[o] as f64) + (0..n_in).map(|i| x[r * n_in + i] as f64 * w[i * n_out + o] as f64).sum::<f64>();
        }
    }
    y
}

/// [seq, heads·d] → head-major [heads, seq, d].
fn split_heads(y: &[f64], heads: usize, d: usize) -> Vec<f32> {
    let seq = y.len() / (heads * d);
    (0..heads).flat_map(|h| (0..seq).flat_map(move |i| (0..d).map(move |c| y[i * heads * d + h * d + c] as f32))).collect()
}

/// (output [seq_q, d_model], weights [heads, seq_q, seq_k]).
fn plain(c: &Case, dt: &Data, spec: &AttentionSpec) -> (Vec<f32>, Vec<f32>) {
    let inner = c.heads * c.head_dim;
    let ctx = dt.ctx.as_ref().unwrap_or(&dt.x);
    let bias = |i: usize| dt.b.as_ref().map(|b| &b[i]);
    let q = split_heads(&project(&dt.x, &dt.wq, bias(0), c.d_model, inner), c.heads, c.head_dim);
    let k = split_heads(&project(ctx, &dt.wk, bias(1), c.d_model, inner), c.heads, c.head_dim);
    let v = split_heads(&project(ctx, &dt.wv, bias(2), c.d_model, inner), c.heads, c.head_dim);
    let dims = AttentionDims { heads: c.heads, seq_q: c.seq_q, seq_k: c.seq_k.unwrap_or(c.seq_q), head_dim: c.head_dim };
    let r = reference::attention(&dims, &q, &k, &v, spec);
    let mut concat = vec![0.0f32; c.seq_q * inner]; // [seq_q, heads·d]
    for h in 0..c.heads {
        for i in 0..c.seq_q {
            for e in 0..c.head_dim {
                concat[i * inner + h * c.head_dim + e] = r.output[(h * c.seq_q + i) * c.head_dim + e] as f32;
            }
        }
    }
    let out = project(&concat, &dt.wo, bias(3), inner, c.d_model);
    (out.iter().map(|&x| x as f32).collect(), r.weights.iter().map(|&x| x as f32).collect())
}

/// (output, weights) from `multi_head` on a backend.
fn run<B: Backend>(b: &mut B, c: &Case, dt: &Data, spec: &AttentionSpec) -> (Vec<f32>, Vec<f32>) {
    let up = |b: &mut B, v: &Vec<f32>| b.upload(v).unwrap();
    let (x, wq, wk, wv, wo) = (up(b, &dt.x), up(b, &dt.wq), up(b, &dt.wk), up(b, &dt.wv), up(b, &dt.wo));
    let ctx = dt.ctx.as_ref().map(|v| up(b, v));
    let biases = dt.b.as_ref().map(|bs| bs.clone().map(|v| up(b, &v)));
    let bias = |i: usize| biases.as_ref().map(|bs| &bs[i]);
    let args = MultiHeadArgs {
        x: &x,
        context: ctx.as_ref(),
        d_model: c.d_model,
        heads: c.heads,
        head_dim: c.head_dim,
        wq: &wq,
        wk: &wk,
        wv: &wv,
        bq: bias(0),
        bk: bias(1),
        bv: bias(2),
        wo: &wo,
        bo: bias(3),
        spec,
    };
    let r = multi_head(b, &args).unwrap();
    let weights = r.attention.weights.expect("weights were asked for");
    let mut got = pollster::block_on(b.read(&[&r.output, &weights])).unwrap();
    let w = got.pop().unwrap();
    (got.pop().unwrap(), w)
}

fn cases() -> Vec<Case> {
    vec![
        Case { seq_q: 9, seq_k: None, d_model: 16, heads: 4, head_dim: 4, biases: true },
        Case { seq_q: 13, seq_k: Some(6), d_model: 12, heads: 3, head_dim: 5, biases: false },
        Case { seq_q: 1, seq_k: Some(21), d_model: 8, heads: 2, head_dim: 8, biases: true },
        Case { seq_q: 33, seq_k: None, d_model: 24, heads: 6, head_dim: 4, biases: true },
    ]
}

fn specs() -> Vec<AttentionSpec> {
    vec![
        AttentionSpec::default(),
        AttentionSpec { mask: Mask::Causal, positions: Positions::Alibi, ..Default::default() },
        AttentionSpec { mask: Mask::Window(2), temperature: 0.5, ..Default::default() },
    ]
}

const TOL: f32 = 1e-5;

#[test]
fn cpu_multi_head_equals_plain_reference() {
    let mut cpu = CpuBackend::new();
    for (n, c) in cases().iter().enumerate() {
        let dt = data(c, n as u64);
        for spec in specs() {
            let (out, w) = run(&mut cpu, c, &dt, &spec);
            let (want_out, want_w) = plain(c, &dt, &spec);
            let (eo, ew) = (max_abs_diff(&out, &want_out), max_abs_diff(&w, &want_w));
            assert!(eo <= TOL && ew <= TOL, "case {n} {spec:?}: output error {eo}, weights error {ew}");
        }
    }
}

#[test]
fn gpu_multi_head_equals_cpu() {
    let Some(mut g) = gpu() else { return };
    let mut cpu = CpuBackend::new();
    for (n, c) in cases().iter().enumerate() {
        let dt = data(c, 20 + n as u64);
        for spec in specs() {
            let (out, w) = run(&mut g, c, &dt, &spec);
            let (cpu_out, cpu_w) = run(&mut cpu, c, &dt, &spec);
            let (eo, ew) = (max_abs_diff(&out, &cpu_out), max_abs_diff(&w, &cpu_w));
            assert!(eo <= TOL && ew <= TOL, "case {n} {spec:?}: GPU vs CPU output error {eo}, weights error {ew}");
        }
    }
}

#[test]
fn wrong_shapes_are_clear_errors() {
    let mut cpu = CpuBackend::new();
    let c = Case { seq_q: 3, seq_k: None, d_model: 4, heads: 2, head_dim: 2, biases: false };
    let dt = data(&c, 1);
    let spec = AttentionSpec::default();
    let short = dt.wk[1..].to_vec();
    let args = MultiHeadArgs {
        x: &dt.x,
        context: None,
        d_model: 4,
        heads: 2,
        head_dim: 2,
        wq: &dt.wq,
        wk: &short,
        wv: &dt.wv,
        bq: None,
        bk: None,
        bv: None,
        wo: &dt.wo,
        bo: None,
        spec: &spec,
    };
    let e = multi_head(&mut cpu, &args).err().unwrap().to_string();
    assert!(e.contains("wk has 15 values, expected 16"), "{e}");
    let ragged = dt.x[1..].to_vec();
    let e = multi_head(&mut cpu, &MultiHeadArgs { x: &ragged, wk: &dt.wk, ..args }).err().unwrap().to_string();
    assert!(e.contains("x has 11 values"), "{e}");
}
