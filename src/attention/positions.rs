//! Positional schemes applied by position index: RoPE, ALiBi slopes and relative bias.
//!
//! Where they apply, in the order every backend computes a score for query i and key j:
//!   1. RoPE rotates q_i by position i and k_j by position j (before any score function, so it
//!      works with every score, additive included);
//!   2. the score function s(q_i, k_j);
//!   3. ALiBi (−m_h·|i − j|) or the relative bias b[i − j + seq_k − 1] is added to the score;
//!   4. the sum is divided by the temperature: (s + bias) / T, so the temperature scales the
//!      positional preference together with the content preference;
//!   5. the mask, then the normalizer.
//!
//! Query i and key j sit at positions i and j, also when seq_q ≠ seq_k.

/// RoPE base: dimension pair t turns at θ_t = BASE^(−2t / head_dim) radians per position.
pub const ROPE_BASE: f64 = 10000.0;

/// Angle (radians) by which RoPE turns dimension pair t at position `pos`.
pub fn rope_angle(pos: usize, pair: usize, head_dim: usize) -> f64 {
    pos as f64 * ROPE_BASE.powf(-2.0 * pair as f64 / head_dim as f64)
}

/// [seq, head_dim/2, 2] table of (cos, sin) of `rope_angle`, computed in f64 and rounded once,
/// so that both backends rotate with the very same f32 factors (GPU `sin`/`cos` lose accuracy
/// at the thousands of radians long sequences reach).
pub fn rope_table(seq: usize, head_dim: usize) -> Vec<f32> {
    let pairs = head_dim / 2;
    let mut t = Vec::with_capacity(seq * pairs * 2);
    for pos in 0..seq {
        for pair in 0..pairs {
            let a = rope_angle(pos, pair, head_dim);
            t.push(a.cos() as f32);
            t.push(a.sin() as f32);
        }
    }
    t
}

/// Rotates one row (head_dim values) in place by the table's factors for `pos`:
/// (x₂ₜ, x₂ₜ₊₁) ← (x₂ₜ cos − x₂ₜ₊₁ sin, x₂ₜ sin + x₂ₜ₊₁ cos).
pub fn rope_rotate(row: &mut [f32], pos: usize, table: &[f32]) {
    let pairs = row.len() / 2;
    let cs = &table[pos * pairs * 2..(pos + 1) * pairs * 2];
    for t in 0..pairs {
        let (c, s) = (cs[2 * t], cs[2 * t + 1]);
        let (x0, x1) = (row[2 * t], row[2 * t + 1]);
        row[2 * t] = x0 * c - x1 * s;
        row[2 * t + 1] = x0 * s + x1 * c;
    }
}

/// ALiBi slopes m_h (Press et al. 2022): for n a power of two, m_h = 2^(−8(h+1)/n); otherwise
/// the slopes of the closest power of two below n, followed by every other slope of twice that
/// power until there are n.
pub fn alibi_slopes(heads: usize) -> Vec<f32> {
    fn pow2(n: usize) -> Vec<f64> {
        (1..=n).map(|h| 2f64.powf(-8.0 * h as f64 / n as f64)).collect()
    }
    if heads == 0 {
        return Vec::new();
    }
    let closest = 1usize << (usize::BITS - 1 - heads.leading_zeros());
    let mut slopes = pow2(closest);
    slopes.extend(pow2(2 * closest).into_iter().step_by(2).take(heads - closest));
    slopes.into_iter().map(|m| m as f32).collect()
}

/// The ALiBi bias between query i and key j for a head with slope m.
pub fn alibi_bias(slope: f32, i: usize, j: usize) -> f32 {
    -slope * i.abs_diff(j) as f32
}

/// Index into a relative-bias vector of length seq_q + seq_k − 1 for query i, key j.
pub fn relative_index(i: usize, j: usize, seq_k: usize) -> usize {
    i + seq_k - 1 - j
}
