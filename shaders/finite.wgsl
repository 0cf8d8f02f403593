// Finite arithmetic shared by shaders/attention.wgsl and shaders/flash.wgsl (prepended to each;
// both declare `p` with `temperature` and `temp_exp`). The CPU twin is src/attention/finite.rs.

const SCORE_LIMIT: f32 = 0x1p+126f;
const F32_MAX: f32 = 0x1.fffffep+127f;

// e with |x|·2^−e in [½, 1), clamped to [−126, 126] (0 for 0).
fn exponent(x: f32) -> i32 {
    return select(clamp(frexp(x).exp, -126, 126), 0, x == 0.0);
}

// x·2ⁿ, or ±lim when its exponent exceeds emax (lim = 2^emax, or f32::MAX for emax = 128).
fn scale_sat(x: f32, n: i32, emax: i32, lim: f32) -> f32 {
    let f = frexp(x);
    let e = f.exp + n;
    return select(ldexp(f.fract, clamp(e, -160, emax)), sign(x) * lim, e > emax);
}

fn score_sat(x: f32, n: i32) -> f32 {
    return scale_sat(x, n, 126, SCORE_LIMIT);
}

// (s + b) / temperature, saturated: the halves cannot overflow, the mantissa division neither,
// and the power of two is applied with saturation.
fn finish(s: f32, b: f32) -> f32 {
    return score_sat((0.5 * s + 0.5 * b) / p.temperature, 1 - p.temp_exp);
}

// 2^(e − c), 0 below 2⁻¹²⁶ (neg_sq_dist brings both rows to the larger scale c).
fn rescale_factor(e: i32, c: i32) -> f32 {
    return select(ldexp(1.0, max(e - c, -126)), 0.0, e - c < -126);
}
