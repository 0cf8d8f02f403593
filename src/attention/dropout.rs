//! Attention dropout's random numbers: a counter-based hash of (seed, head, i, j), so that any
//! weight's fate is known without state and the WGSL twin (`drop_hash` in
//! shaders/attention.wgsl) draws exactly the same numbers.

/// PCG-RXS-M-XS hash of one 32-bit word (Jarzynski & Olano, "Hash Functions for GPU Rendering",
/// JCGT 2020).
pub fn pcg(v: u32) -> u32 {
    let state = v.wrapping_mul(747796405).wrapping_add(2891336453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277803737);
    (word >> 22) ^ word
}

/// The seed's two 32-bit words (low, high), as the GPU receives them.
pub fn seed_words(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// One word from a 64-bit seed: pcg(low) for seeds below 2³² (the hash the 32-bit seeds had, so
/// their masks are unchanged), pcg(high + pcg(low)) above.
pub fn seed_hash(seed: u64) -> u32 {
    let [lo, hi] = seed_words(seed);
    match hi {
        0 => pcg(lo),
        _ => pcg(hi.wrapping_add(pcg(lo))),
    }
}

/// A uniform number in [0, 1) for weight (head, i, j) under `seed`: 24 random bits, so it is
/// exact in f32 on both backends.
pub fn uniform(seed: u64, head: u32, i: u32, j: u32) -> f32 {
    let h = pcg(j.wrapping_add(pcg(i.wrapping_add(pcg(head.wrapping_add(seed_hash(seed)))))));
    (h >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Whether weight (head, i, j) survives dropout with probability `p` of dropping.
pub fn keep(seed: u64, head: u32, i: u32, j: u32, p: f32) -> bool {
    uniform(seed, head, i, j) >= p
}

/// The factor kept weights are multiplied by, 1/(1−p), rounded once to f32 for both backends.
pub fn rescale(p: f32) -> f32 {
    1.0 / (1.0 - p)
}
