//! Shared by the attention tests: seeded random data, the variant list, and a way to run one
//! call on any backend from head-major host data.
#![allow(dead_code)]

use attention_playground::attention::{AdditiveParams, AttentionDims, AttentionSpec, Dropout, Mask, Normalizer, Positions, Score};
use attention_playground::backend::{AttentionArgs, HeadLayout};
use attention_playground::{Backend, Result};

/// xorshift64*: deterministic test data without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [−1, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    pub fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.uniform()).collect()
    }
}

pub struct Inputs {
    pub dims: AttentionDims,
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
}

pub fn inputs(heads: usize, seq_q: usize, seq_k: usize, head_dim: usize, seed: u64) -> Inputs {
    let mut r = Rng::new(seed);
    Inputs {
        dims: AttentionDims { heads, seq_q, seq_k, head_dim },
        q: r.vec(heads * seq_q * head_dim),
        k: r.vec(heads * seq_k * head_dim),
        v: r.vec(heads * seq_k * head_dim),
    }
}

pub fn additive(hidden: usize, head_dim: usize, seed: u64) -> Score {
    let mut r = Rng::new(seed);
    Score::Additive(AdditiveParams { hidden, wq: r.vec(hidden * head_dim), wk: r.vec(hidden * head_dim), v: r.vec(hidden) })
}

/// Every variant worth checking on dims `(seq_q, seq_k, head_dim)`, with a name for messages:
/// each score, mask, normalizer, position scheme and extra at least once, and some mixtures.
pub fn variants(seq_q: usize, seq_k: usize, head_dim: usize) -> Vec<(String, AttentionSpec)> {
    let base = AttentionSpec::default;
    let mut out: Vec<(String, AttentionSpec)> = Vec::new();
    let mut add = |name: &str, spec: AttentionSpec| out.push((name.to_string(), spec));
    for (name, score) in [
        ("dot", Score::Dot),
        ("scaled_dot", Score::ScaledDot),
        ("cosine", Score::Cosine),
        ("neg_sq_dist", Score::NegSqDist),
        ("additive", additive(7, head_dim, 11)),
    ] {
        add(name, AttentionSpec { score, ..base() });
    }
    add("temperature 0.3", AttentionSpec { temperature: 0.3, ..base() });
    add("temperature 4", AttentionSpec { temperature: 4.0, score: Score::Dot, ..base() });
    for (name, mask) in [
        ("causal", Mask::Causal),
        ("window 2", Mask::Window(2)),
        ("window 0", Mask::Window(0)),
        ("topK 3", Mask::TopK(3)),
        ("topK 1", Mask::TopK(1)),
        ("topK all", Mask::TopK(seq_k + 2)),
    ] {
        for norm in [Normalizer::Softmax, Normalizer::Sparsemax, Normalizer::Entmax15] {
            add(&format!("{name} {norm:?}"), AttentionSpec { mask, normalizer: norm, ..base() });
        }
    }
    for norm in [Normalizer::Sparsemax, Normalizer::Entmax15] {
        add(&format!("{norm:?} dot"), AttentionSpec { normalizer: norm, score: Score::Dot, ..base() });
        add(&format!("{norm:?} T=0.2"), AttentionSpec { normalizer: norm, temperature: 0.2, ..base() });
    }
    let bias: Vec<f32> = Rng::new(5).vec(seq_q + seq_k - 1);
    if head_dim % 2 == 0 {
        add("rope", AttentionSpec { positions: Positions::Rope, ..base() });
        add("rope additive", AttentionSpec { positions: Positions::Rope, score: additive(5, head_dim, 3), ..base() });
        add("rope cosine causal", AttentionSpec { positions: Positions::Rope, score: Score::Cosine, mask: Mask::Causal, ..base() });
    }
    add("alibi", AttentionSpec { positions: Positions::Alibi, ..base() });
    add("alibi entmax T=0.5", AttentionSpec { positions: Positions::Alibi, normalizer: Normalizer::Entmax15, temperature: 0.5, ..base() });
    add("relative bias", AttentionSpec { positions: Positions::RelativeBias(bias.clone()), ..base() });
    add(
        "relative bias sparsemax topK 4",
        AttentionSpec { positions: Positions::RelativeBias(bias), normalizer: Normalizer::Sparsemax, mask: Mask::TopK(4), ..base() },
    );
    add("dropout", AttentionSpec { dropout: Some(Dropout { p: 0.3, seed: 42 }), ..base() });
    add("stats", AttentionSpec { stats: true, ..base() });
    add(
        "stats dropout causal sparsemax",
        AttentionSpec { stats: true, dropout: Some(Dropout { p: 0.5, seed: 7 }), mask: Mask::Causal, normalizer: Normalizer::Sparsemax, ..base() },
    );
    add("stats entmax window", AttentionSpec { stats: true, normalizer: Normalizer::Entmax15, mask: Mask::Window(1), ..base() });
    out
}

/// What a backend returned, on the host.
pub struct Host {
    pub output: Vec<f32>,
    pub weights: Option<Vec<f32>>,
    pub entropy: Option<Vec<f32>>,
    pub coverage: Option<Vec<f32>>,
}

/// Runs one call with head-major operands and output.
pub fn run<B: Backend>(b: &mut B, x: &Inputs, spec: &AttentionSpec) -> Result<Host> {
    let d = x.dims;
    let (q, k, v) = (b.upload(&x.q)?, b.upload(&x.k)?, b.upload(&x.v)?);
    let args = AttentionArgs {
        dims: d,
        q: &q,
        q_layout: HeadLayout::head_major(d.seq_q, d.head_dim),
        k: &k,
        k_layout: HeadLayout::head_major(d.seq_k, d.head_dim),
        v: &v,
        v_layout: HeadLayout::head_major(d.seq_k, d.head_dim),
        out_layout: HeadLayout::head_major(d.seq_q, d.head_dim),
        spec,
    };
    let out = b.attention(&args)?;
    let mut want = vec![&out.output];
    want.extend(out.weights.iter().chain(&out.entropy).chain(&out.coverage));
    let mut got = pollster::block_on(b.read(&want))?.into_iter();
    let output = got.next().unwrap();
    let mut take = |present: bool| if present { got.next() } else { None };
    let weights = take(out.weights.is_some());
    let entropy = take(out.entropy.is_some());
    let coverage = take(out.coverage.is_some());
    Ok(Host { output, weights, entropy, coverage })
}

/// Packs head-major q, k, v into one fused [seq, 3·hidden] QKV tensor, as a projection writes it.
pub fn fused_qkv(x: &Inputs) -> Vec<f32> {
    let AttentionDims { heads, seq_q: seq, head_dim: d, .. } = x.dims;
    let hidden = heads * d;
    let mut qkv = vec![0.0f32; seq * 3 * hidden];
    for h in 0..heads {
        for i in 0..seq {
            let src = (h * seq + i) * d;
            let row = i * 3 * hidden + h * d;
            qkv[row..row + d].copy_from_slice(&x.q[src..src + d]);
            qkv[row + hidden..row + hidden + d].copy_from_slice(&x.k[src..src + d]);
            qkv[row + 2 * hidden..row + 2 * hidden + d].copy_from_slice(&x.v[src..src + d]);
        }
    }
    qkv
}

/// Self-attention on views into a fused QKV tensor (see `fused_qkv`), output token-major
/// [seq, heads·head_dim]; returns the output and the weights.
pub fn run_qkv<B: Backend>(b: &mut B, qkv: &[f32], dims: AttentionDims, spec: &AttentionSpec) -> Result<Host> {
    let (d, hidden) = (dims.head_dim, dims.heads * dims.head_dim);
    let t = b.upload(qkv)?;
    let args = AttentionArgs {
        dims,
        q: &t,
        q_layout: HeadLayout::token_major(0, d, 3 * hidden),
        k: &t,
        k_layout: HeadLayout::token_major(hidden, d, 3 * hidden),
        v: &t,
        v_layout: HeadLayout::token_major(2 * hidden, d, 3 * hidden),
        out_layout: HeadLayout::token_major(0, d, hidden),
        spec,
    };
    let o = b.attention(&args)?;
    let mut r = pollster::block_on(b.read(&[&o.output, o.weights.as_ref().expect("weights requested")]))?.into_iter();
    Ok(Host { output: r.next().unwrap(), weights: r.next(), entropy: None, coverage: None })
}

/// Largest |a − b|, failing with `what` when the lengths differ.
pub fn max_diff<A: Copy + Into<f64>, B: Copy + Into<f64>>(a: &[A], b: &[B], what: &str) -> f64 {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    a.iter().zip(b).map(|(&x, &y)| (x.into() - y.into()).abs()).fold(0.0, f64::max)
}
