//! The arithmetic that keeps attention finite for every finite input, shared by the CPU kernels
//! and mirrored by `shaders/attention.wgsl` and `shaders/flash.wgsl` (`scale_sat`, `finish`).
//!
//! - Scores saturate to ±`SCORE_LIMIT` (2¹²⁶). Below f32::MAX on purpose: the difference of two
//!   scores stays finite (softmax's z − max), and the GPU keeps −f32::MAX to mark masked entries.
//! - q and k rows are scaled by a power of two (exact) so their largest element lies in [½, 1)
//!   before any product; the score is then scaled back with saturation. On inputs whose products
//!   cannot overflow this gives the very bits of the plain computation.
//! - (score + bias) / temperature is computed without an intermediate infinity and saturates.
//! - Outputs (weights · v) saturate to ±f32::MAX.

/// Largest |score| after saturation: 2¹²⁶.
pub const SCORE_LIMIT: f32 = 8.507_059e37;

/// e such that |x|·2⁻ᵉ lies in [½, 1) (0 for x = 0), clamped to [−126, 126] so that 2⁻ᵉ is a
/// normal f32 and the GPU's ldexp is defined for it.
pub fn exponent(x: f32) -> i32 {
    if x == 0.0 || !x.is_finite() {
        return 0;
    }
    let e = libm::frexpf(x).1;
    e.clamp(-126, 126)
}

/// The row exponent of `row`: `exponent` of its largest |value|.
pub fn row_exponent(row: &[f32]) -> i32 {
    exponent(row.iter().fold(0.0f32, |m, &x| m.max(x.abs())))
}

/// 2ⁿ as an f32 for n in [−126, 127].
pub fn pow2(n: i32) -> f32 {
    f32::from_bits(((n + 127) as u32) << 23)
}

/// x·2ⁿ saturated to ±`limit`, for finite x and any n (the GPU's `scale_sat`).
pub fn scale_sat(x: f32, n: i32, limit: f32) -> f32 {
    (x as f64 * 2f64.powi(n)).clamp(-limit as f64, limit as f64) as f32
}

/// (s + b) / t, saturated to ±SCORE_LIMIT; s, b finite, t finite and > 0. The f32 result when it
/// is in range (bit for bit the plain expression), else the exact value saturated.
#[inline]
pub fn finish(s: f32, b: f32, t: f32) -> f32 {
    let x = (s + b) / t;
    if x.abs() <= SCORE_LIMIT {
        x
    } else {
        ((s as f64 + b as f64) / t as f64).clamp(-SCORE_LIMIT as f64, SCORE_LIMIT as f64) as f32
    }
}

/// The temperature as m·2ᵉ with m in [1, 2) (what the GPU divides by, then scales by 2⁻ᵉ: no
/// division overflows, and a subnormal temperature survives GPUs that flush subnormals).
pub fn split_temperature(t: f32) -> (f32, i32) {
    let bits = (t as f64).to_bits();
    let e = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let m = f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52));
    (m as f32, e)
}

/// The exponent by which v is scaled down before weights · v: 0 unless its largest |value| is
/// above 2⁶⁴, so sums of up to 2³² weighted values (each weight ≤ 2²⁴ with dropout) stay finite.
pub fn v_exponent(max_abs: f32) -> i32 {
    (exponent(max_abs) - 64).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(SCORE_LIMIT, 2f32.powi(126));
        assert_eq!(exponent(1.0), 1);
        assert_eq!(exponent(0.75), 0);
        assert_eq!(exponent(1e30), 100);
        assert_eq!(pow2(-126), f32::MIN_POSITIVE);
        assert_eq!(scale_sat(3.0, 200, SCORE_LIMIT), SCORE_LIMIT);
        assert_eq!(scale_sat(-3.0, 200, f32::MAX), -f32::MAX);
        assert_eq!(scale_sat(0.0, 300, f32::MAX), 0.0);
        for t in [1.0f32, 0.7, 1e-45, 3e38, 1e-30, 2.0] {
            let (m, e) = split_temperature(t);
            assert!((1.0..2.0).contains(&m) && m as f64 * 2f64.powi(e) == t as f64, "{t}");
        }
        assert_eq!(finish(1e38, 1e38, 1e-45), SCORE_LIMIT);
        assert_eq!(finish(3.0, 1.0, 2.0), 2.0);
    }
}
