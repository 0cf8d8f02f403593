//! What an attention computation is: the score function, the mask, the normalizer and the
//! extras. Backends receive a validated `AttentionSpec` and must compute exactly this.

use crate::ensure;
use crate::error::Result;

/// Sizes of one attention call. Operands are [heads, seq, head_dim] (see `HeadLayout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttentionDims {
    pub heads: usize,
    pub seq_q: usize,
    pub seq_k: usize,
    pub head_dim: usize,
}

/// How raw scores s(q_i, k_j) are formed before ÷ temperature.
#[derive(Clone, Debug, PartialEq)]
pub enum Score {
    /// q·k
    Dot,
    /// q·k / √head_dim
    ScaledDot,
    /// q·k / (‖q‖‖k‖); a zero vector gives a score of 0.
    Cosine,
    /// −‖q−k‖², the Gaussian-kernel (Nadaraya–Watson) form.
    NegSqDist,
    /// Bahdanau: vᵀ tanh(W_q q + W_k k).
    Additive(AdditiveParams),
}

/// Parameters of the additive (Bahdanau) score.
#[derive(Clone, Debug, PartialEq)]
pub struct AdditiveParams {
    pub hidden: usize,
    /// [hidden, head_dim], shared by all heads.
    pub wq: Vec<f32>,
    /// [hidden, head_dim]
    pub wk: Vec<f32>,
    /// [hidden]
    pub v: Vec<f32>,
}

/// Maps a row of scores to a probability distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalizer {
    Softmax,
    /// Euclidean projection onto the simplex (Martins & Astudillo 2016): exact zeros.
    Sparsemax,
    /// α = 1.5 entmax (Peters et al. 2019), exact by sorting.
    Entmax15,
}

/// Which scores survive before normalizing. A masked score takes no part at all; a row with no
/// surviving score gives all-zero weights and a zero output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mask {
    None,
    /// j ≤ i
    Causal,
    /// |i − j| ≤ w
    Window(usize),
    /// the k largest scores of each row (ties: lower index first)
    TopK(usize),
}

/// Positional information applied by position index.
#[derive(Clone, Debug, PartialEq)]
pub enum Positions {
    None,
    /// Rotary embedding on dimension pairs (2t, 2t+1), base 10000, applied to q and k.
    Rope,
    /// Linear bias −m_h·|i − j| added to the scores, with the standard per-head slopes.
    Alibi,
    /// Learned bias b[i − j + seq_k − 1] added to the scores; length seq_q + seq_k − 1.
    RelativeBias(Vec<f32>),
}

/// Attention dropout after normalizing; kept weights are rescaled by 1/(1−p).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    pub p: f32,
    /// Any u64; the JS API takes whole numbers up to 2⁵³ − 1.
    pub seed: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AttentionSpec {
    pub score: Score,
    /// Every score is divided by it; > 0.
    pub temperature: f32,
    pub normalizer: Normalizer,
    pub mask: Mask,
    pub positions: Positions,
    pub dropout: Option<Dropout>,
    /// Also return per-row entropy [heads, seq_q] and per-head coverage [heads, seq_k].
    pub stats: bool,
    /// Return the weights [heads, seq_q, seq_k]. When false, a backend may use a fused kernel
    /// that never materializes them.
    pub return_weights: bool,
}

impl Default for AttentionSpec {
    fn default() -> Self {
        AttentionSpec {
            score: Score::ScaledDot,
            temperature: 1.0,
            normalizer: Normalizer::Softmax,
            mask: Mask::None,
            positions: Positions::None,
            dropout: None,
            stats: false,
            return_weights: true,
        }
    }
}

impl AttentionDims {
    pub fn validate(&self) -> Result<()> {
        let AttentionDims { heads, seq_q, seq_k, head_dim } = *self;
        ensure!(heads > 0, "heads must be at least 1, got {heads}");
        ensure!(seq_q > 0, "seqQ must be at least 1, got {seq_q}");
        ensure!(seq_k > 0, "seqK must be at least 1, got {seq_k}");
        ensure!(head_dim > 0, "headDim must be at least 1, got {head_dim}");
        ensure!(
            heads.checked_mul(seq_k.max(seq_q)).and_then(|n| n.checked_mul(head_dim)).is_some_and(|n| n < (1 << 31)),
            "too large: heads × max(seqQ, seqK) × headDim = {heads} × {} × {head_dim} must stay under 2³¹ (the GPU kernels index in 32 bits)",
            seq_q.max(seq_k)
        );
        Ok(())
    }
}

impl AttentionSpec {
    /// Checks the spec against the sizes it will run with.
    pub fn validate(&self, dims: &AttentionDims) -> Result<()> {
        dims.validate()?;
        // Before anything is allocated: what this call needs must fit this process's memory
        // (the GPU backend checks its device's limits too).
        super::size::check(dims, self, super::size::Place::Host, &super::size::MemoryLimits::host())?;
        ensure!(
            self.temperature.is_finite() && self.temperature > 0.0,
            "temperature must be a finite number > 0, got {}",
            self.temperature
        );
        if let Score::Additive(a) = &self.score {
            ensure!(a.hidden > 0, "additive.hidden must be at least 1");
            ensure!(
                a.wq.len() == a.hidden * dims.head_dim,
                "additive.wq must have hidden × headDim = {} values, got {}",
                a.hidden * dims.head_dim,
                a.wq.len()
            );
            ensure!(
                a.wk.len() == a.hidden * dims.head_dim,
                "additive.wk must have hidden × headDim = {} values, got {}",
                a.hidden * dims.head_dim,
                a.wk.len()
            );
            ensure!(a.v.len() == a.hidden, "additive.v must have hidden = {} values, got {}", a.hidden, a.v.len());
        }
        match self.mask {
            Mask::Window(_) | Mask::None | Mask::Causal => {}
            Mask::TopK(k) => ensure!(k >= 1, "topK must be at least 1, got {k}"),
        }
        match &self.positions {
            Positions::Rope => ensure!(
                dims.head_dim % 2 == 0,
                "RoPE rotates pairs of dimensions: headDim must be even, got {}",
                dims.head_dim
            ),
            Positions::RelativeBias(b) => ensure!(
                b.len() == dims.seq_q + dims.seq_k - 1,
                "relativeBias must have seqQ + seqK − 1 = {} values, got {}",
                dims.seq_q + dims.seq_k - 1,
                b.len()
            ),
            Positions::None | Positions::Alibi => {}
        }
        if let Some(d) = self.dropout {
            ensure!((0.0..1.0).contains(&d.p), "dropout.p must be in [0, 1), got {}", d.p);
        }
        Ok(())
    }
}
