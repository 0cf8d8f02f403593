// Deterministic toy embeddings for the first page: every word maps, by a seeded hash, to the same
// vectors on every machine. No model, no meaning — just stable inputs for attention to act on.

/** FNV-1a over the UTF-16 code units of `s`, mixed with `seed`. */
function hash(s, seed) {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** `n` floats in [-1, 1) from a 32-bit seed (mulberry32). */
export function stream(seed, n) {
  const out = new Float32Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** Splits text into word tokens: runs of letters/digits, or single punctuation marks. */
export function tokenize(text) {
  return text.match(/[\p{L}\p{N}\p{M}]+|[^\s\p{L}\p{N}\p{M}]/gu) ?? [];
}

/**
 * q, k, v [1, n, dim] for the tokens: a shared base vector per (lower-cased) word, and for q and
 * k a word-specific perturbation, so a word attends to itself and to related-looking words without
 * q = k exactly.
 */
export function embed(tokens, dim) {
  const n = tokens.length;
  const q = new Float32Array(n * dim), k = new Float32Array(n * dim), v = new Float32Array(n * dim);
  tokens.forEach((tok, i) => {
    const w = tok.toLowerCase();
    const base = stream(hash(w, 1), dim);
    const dq = stream(hash(w, 2), dim);
    const dk = stream(hash(w, 3), dim);
    for (let c = 0; c < dim; c++) {
      q[i * dim + c] = base[c] + 0.5 * dq[c];
      k[i * dim + c] = base[c] + 0.5 * dk[c];
      v[i * dim + c] = base[c];
    }
  });
  return { q, k, v };
}
