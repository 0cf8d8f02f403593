//! Plain, obviously-correct reference implementations of every attention variant, in f64 with
//! one loop per formula. The kernels are tested against these; nothing here is shared with them
//! except the definitions in `positions` (slopes, index rule) and `dropout` (the hash).
//!
//! Order of operations (see `positions` for why): RoPE on q and k → score → + position bias →
//! ÷ temperature → mask → normalize → stats (of the normalized weights) → dropout → weights · v.
//! At the edges (`finite`): scores and (score + bias) / temperature saturate to ±2¹²⁶, outputs
//! to ±f32::MAX; the f64 sums here cannot overflow on f32 inputs.

use super::positions::{alibi_slopes, relative_index, rope_angle};
use super::spec::{AttentionDims, AttentionSpec, Mask, Normalizer, Positions, Score};
use super::dropout;
use super::finite::SCORE_LIMIT;

/// Everything one call returns, head-major: weights [heads, seq_q, seq_k], output
/// [heads, seq_q, head_dim], entropy [heads, seq_q], coverage [heads, seq_k].
#[derive(Clone, Debug)]
pub struct Reference {
    pub weights: Vec<f64>,
    pub output: Vec<f64>,
    pub entropy: Vec<f64>,
    pub coverage: Vec<f64>,
}

/// Attention of head-major q [heads, seq_q, head_dim], k and v [heads, seq_k, head_dim].
/// The spec must be valid for `dims` (the caller's job; this is test code).
pub fn attention(dims: &AttentionDims, q: &[f32], k: &[f32], v: &[f32], spec: &AttentionSpec) -> Reference {
    let AttentionDims { heads, seq_q, seq_k, head_dim: d } = *dims;
    let mut r = Reference {
        weights: vec![0.0; heads * seq_q * seq_k],
        output: vec![0.0; heads * seq_q * d],
        entropy: vec![0.0; heads * seq_q],
        coverage: vec![0.0; heads * seq_k],
    };
    let slopes = alibi_slopes(heads);
    for h in 0..heads {
        let row = |x: &[f32], seq: usize, i: usize| -> Vec<f64> {
            let mut r: Vec<f64> = x[(h * seq + i) * d..(h * seq + i + 1) * d].iter().map(|&x| x as f64).collect();
            if spec.positions == Positions::Rope {
                rope(&mut r, i);
            }
            r
        };
        for i in 0..seq_q {
            let qi = row(q, seq_q, i);
            let mut scores = vec![0.0f64; seq_k];
            let mut allowed = vec![true; seq_k];
            for j in 0..seq_k {
                let kj = row(k, seq_k, j);
                let bias = match &spec.positions {
                    Positions::Alibi => -(slopes[h] as f64) * i.abs_diff(j) as f64,
                    Positions::RelativeBias(b) => b[relative_index(i, j, seq_k)] as f64,
                    Positions::None | Positions::Rope => 0.0,
                };
                scores[j] = sat((score(&spec.score, &qi, &kj) + bias) / spec.temperature as f64);
                allowed[j] = match spec.mask {
                    Mask::None | Mask::TopK(_) => true,
                    Mask::Causal => j <= i,
                    Mask::Window(w) => i.abs_diff(j) <= w,
                };
            }
            if let Mask::TopK(kk) = spec.mask {
                allowed = top_k(&scores, kk);
            }
            let kept: Vec<f64> = (0..seq_k).filter(|&j| allowed[j]).map(|j| scores[j]).collect();
            let p = match spec.normalizer {
                Normalizer::Softmax => softmax(&kept),
                Normalizer::Sparsemax => sparsemax(&kept),
                Normalizer::Entmax15 => entmax15(&kept),
            };
            let mut w = vec![0.0f64; seq_k];
            for (j, pj) in (0..seq_k).filter(|&j| allowed[j]).zip(p) {
                w[j] = pj;
            }
            r.entropy[h * seq_q + i] = w.iter().filter(|&&x| x > 0.0).map(|&x| -x * x.ln()).sum();
            for j in 0..seq_k {
                r.coverage[h * seq_k + j] += w[j];
            }
            if let Some(dr) = spec.dropout {
                for (j, wj) in w.iter_mut().enumerate() {
                    let kept = dropout::keep(dr.seed, h as u32, i as u32, j as u32, dr.p);
                    *wj = if kept { *wj / (1.0 - dr.p as f64) } else { 0.0 };
                }
            }
            for j in 0..seq_k {
                r.weights[(h * seq_q + i) * seq_k + j] = w[j];
                for c in 0..d {
                    r.output[(h * seq_q + i) * d + c] += w[j] * v[(h * seq_k + j) * d + c] as f64;
                }
            }
        }
    }
    // Outputs saturate to the f32 range.
    r.output.iter_mut().for_each(|o| *o = o.clamp(-f32::MAX as f64, f32::MAX as f64));
    r
}

/// A score saturated to ±SCORE_LIMIT (see `attention::finite`).
fn sat(x: f64) -> f64 {
    x.clamp(-SCORE_LIMIT as f64, SCORE_LIMIT as f64)
}

fn rope(x: &mut [f64], pos: usize) {
    let d = x.len();
    for t in 0..d / 2 {
        let a = rope_angle(pos, t, d);
        let (x0, x1) = (x[2 * t], x[2 * t + 1]);
        x[2 * t] = x0 * a.cos() - x1 * a.sin();
        x[2 * t + 1] = x0 * a.sin() + x1 * a.cos();
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The raw score s(q, k), before bias and temperature, saturated to ±SCORE_LIMIT (the additive
/// score's projections too).
pub fn score(kind: &Score, q: &[f64], k: &[f64]) -> f64 {
    sat(match kind {
        Score::Dot => dot(q, k),
        Score::ScaledDot => dot(q, k) / (q.len() as f64).sqrt(),
        Score::Cosine => {
            let norms = dot(q, q).sqrt() * dot(k, k).sqrt();
            if norms == 0.0 {
                0.0
            } else {
                dot(q, k) / norms
            }
        }
        Score::NegSqDist => -q.iter().zip(k).map(|(x, y)| (x - y) * (x - y)).sum::<f64>(),
        Score::Additive(a) => {
            let d = q.len();
            (0..a.hidden)
                .map(|u| {
                    let pq: f64 = (0..d).map(|c| a.wq[u * d + c] as f64 * q[c]).sum();
                    let pk: f64 = (0..d).map(|c| a.wk[u * d + c] as f64 * k[c]).sum();
                    a.v[u] as f64 * (sat(pq) + sat(pk)).tanh()
                })
                .sum()
        }
    })
}

/// Which entries the top-k mask keeps: the k largest, ties to the lower index.
pub fn top_k(scores: &[f64], k: usize) -> Vec<bool> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let mut keep = vec![false; scores.len()];
    for &j in order.iter().take(k) {
        keep[j] = true;
    }
    keep
}

pub fn softmax(z: &[f64]) -> Vec<f64> {
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|&x| (x - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|&x| x / s).collect()
}

/// Sparsemax (Martins & Astudillo 2016, Alg. 1): sort descending, the support is the largest
/// k with 1 + k·z₍ₖ₎ > Σ_{r≤k} z₍ᵣ₎, τ = (Σ_{r≤k} z₍ᵣ₎ − 1)/k, p = max(z − τ, 0).
/// Computed on z − max z (the same projection), so the largest score stays in the support at any
/// magnitude.
pub fn sparsemax(z: &[f64]) -> Vec<f64> {
    if z.is_empty() {
        return Vec::new();
    }
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let z: Vec<f64> = z.iter().map(|&x| x - m).collect();
    let mut s = z.clone();
    s.sort_by(|a, b| b.total_cmp(a));
    let (mut cum, mut support, mut support_sum) = (0.0, 0, 0.0);
    for (r, &x) in s.iter().enumerate() {
        cum += x;
        if 1.0 + (r + 1) as f64 * x > cum {
            support = r + 1;
            support_sum = cum;
        }
    }
    let tau = (support_sum - 1.0) / support as f64;
    z.iter().map(|&x| (x - tau).max(0.0)).collect()
}

/// 1.5-entmax (Peters, Niculae & Martins 2019, Alg. 2 with α = 1.5): with x = z/2 sorted
/// descending, for each prefix of size ρ τ_ρ = mean_ρ − √max(0, (1 − ss_ρ)/ρ) where ss_ρ is the
/// prefix's sum of squared deviations; the support is #{ρ : τ_ρ ≤ x₍ρ₎} and p = max(x − τ, 0)².
/// Also on z − max z.
pub fn entmax15(z: &[f64]) -> Vec<f64> {
    if z.is_empty() {
        return Vec::new();
    }
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let x: Vec<f64> = z.iter().map(|&v| (v - m) / 2.0).collect();
    let mut s = x.clone();
    s.sort_by(|a, b| b.total_cmp(a));
    let taus: Vec<f64> = (1..=s.len())
        .map(|rho| {
            let pre = &s[..rho];
            let mean = pre.iter().sum::<f64>() / rho as f64;
            let ss: f64 = pre.iter().map(|v| (v - mean) * (v - mean)).sum();
            mean - ((1.0 - ss) / rho as f64).max(0.0).sqrt()
        })
        .collect();
    let support = (0..s.len()).filter(|&r| taus[r] <= s[r]).count();
    let tau = taus[support - 1];
    x.iter().map(|&v| (v - tau).max(0.0).powi(2)).collect()
}
