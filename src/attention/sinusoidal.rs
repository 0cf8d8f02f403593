//! The absolute sinusoidal position encoding of Vaswani et al. 2017, as a table pages add to
//! their embeddings: PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(pos / 10000^(2i/d)).

use crate::ensure;
use crate::error::Result;

/// [seq, dim] row-major table. Angles are computed in f64 and rounded once, so long sequences
/// (positions in the thousands) keep full f32 accuracy.
pub fn sinusoidal(seq: usize, dim: usize) -> Result<Vec<f32>> {
    ensure!(seq > 0, "sinusoidal: seq must be at least 1, got {seq}");
    ensure!(dim > 0, "sinusoidal: dim must be at least 1, got {dim}");
    ensure!(seq.checked_mul(dim).is_some_and(|n| n <= 1 << 28), "sinusoidal: seq × dim = {seq} × {dim} is too large");
    let mut table = Vec::with_capacity(seq * dim);
    for pos in 0..seq {
        for c in 0..dim {
            // Columns 2i and 2i+1 share the frequency 1 / 10000^(2i/d).
            let pair = (c / 2) as f64;
            let angle = pos as f64 / 10000f64.powf(2.0 * pair / dim as f64);
            table.push(if c % 2 == 0 { angle.sin() } else { angle.cos() } as f32);
        }
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_zero_is_sin0_cos0() {
        let t = sinusoidal(3, 6).unwrap();
        assert_eq!(&t[..6], &[0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn matches_the_formula_by_hand() {
        // dim 4: frequencies 1 and 1/100.
        let t = sinusoidal(3, 4).unwrap();
        let row2 = &t[8..12];
        let want = [2f64.sin(), 2f64.cos(), 0.02f64.sin(), 0.02f64.cos()];
        for (a, b) in row2.iter().zip(want) {
            assert!((*a as f64 - b).abs() < 1e-7, "{a} vs {b}");
        }
    }

    #[test]
    fn odd_dim_ends_with_a_sine() {
        let t = sinusoidal(5, 5).unwrap();
        let angle = 4.0 / 10000f64.powf(4.0 / 5.0);
        assert!((t[4 * 5 + 4] as f64 - angle.sin()).abs() < 1e-7);
    }

    #[test]
    fn every_pair_lies_on_the_unit_circle() {
        let t = sinusoidal(100, 8).unwrap();
        for row in t.chunks(8) {
            for p in row.chunks(2) {
                assert!((p[0] * p[0] + p[1] * p[1] - 1.0).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert!(sinusoidal(0, 4).is_err());
        assert!(sinusoidal(4, 0).is_err());
        assert!(sinusoidal(1 << 20, 1 << 20).is_err());
    }
}
