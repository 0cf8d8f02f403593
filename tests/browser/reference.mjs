// Plain JS reference of Playground.attention(): every score, mask, normalizer and position scheme,
// computed in float64 straight from the definitions in the README / issue texts. The browser tests
// compare both backends against it (tolerance 1e-4).

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32), so failures are reproducible. */
export function randomFloats(n, seed) {
  let a = seed >>> 0;
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out.map(Math.fround);
}

const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
const norm = (a) => Math.sqrt(dot(a, a));

function score(kind, q, k, d, additive) {
  switch (kind) {
    case 'dot': return dot(q, k);
    case 'scaled_dot': return dot(q, k) / Math.sqrt(d);
    case 'cosine': {
      const n = norm(q) * norm(k);
      return n === 0 ? 0 : dot(q, k) / n;
    }
    case 'neg_sq_dist': return -q.reduce((s, x, i) => s + (x - k[i]) ** 2, 0);
    case 'additive': {
      const { hidden, wq, wk, v } = additive;
      let s = 0;
      for (let h = 0; h < hidden; h++) {
        let a = 0;
        for (let c = 0; c < d; c++) a += wq[h * d + c] * q[c] + wk[h * d + c] * k[c];
        s += v[h] * Math.tanh(a);
      }
      return s;
    }
    default: throw new Error(`reference: unknown score ${kind}`);
  }
}

/** RoPE: rotate dimension pairs (2t, 2t+1) by pos · 10000^(−2t/d). */
export function rope(x, pos) {
  const d = x.length;
  const y = x.slice();
  for (let t = 0; 2 * t + 1 < d; t++) {
    const theta = pos * Math.pow(10000, (-2 * t) / d);
    const [c, s] = [Math.cos(theta), Math.sin(theta)];
    y[2 * t] = x[2 * t] * c - x[2 * t + 1] * s;
    y[2 * t + 1] = x[2 * t] * s + x[2 * t + 1] * c;
  }
  return y;
}

/** The standard ALiBi slopes (Press et al.): geometric for a power of two, interleaved otherwise. */
export function alibiSlopes(heads) {
  const pow2 = (n) => Array.from({ length: n }, (_, i) => Math.pow(2, (-8 * (i + 1)) / n));
  const p = 2 ** Math.floor(Math.log2(heads));
  if (p === heads) return pow2(heads);
  return [...pow2(p), ...pow2(2 * p).filter((_, i) => i % 2 === 0).slice(0, heads - p)];
}

function softmax(z) {
  const m = Math.max(...z);
  const e = z.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** Euclidean projection onto the simplex (Martins & Astudillo 2016), by sorting. */
export function sparsemax(z) {
  const s = [...z].sort((a, b) => b - a);
  let cum = 0, tau = 0;
  for (let k = 0; k < s.length; k++) {
    cum += s[k];
    const t = (cum - 1) / (k + 1);
    if (s[k] > t) tau = t;
  }
  return z.map((x) => Math.max(0, x - tau));
}

/** 1.5-entmax (Peters et al. 2019), exact by sorting: p = [z/2 − τ]₊² with Σp = 1. */
export function entmax15(z) {
  const m = Math.max(...z);
  const x = z.map((v) => (v - m) / 2);
  const s = [...x].sort((a, b) => b - a);
  let sum = 0, sumSq = 0, tauStar = 0;
  for (let k = 0; k < s.length; k++) {
    const rho = k + 1;
    sum += s[k];
    sumSq += s[k] * s[k];
    const mean = sum / rho, meanSq = sumSq / rho;
    const delta = (1 - rho * (meanSq - mean * mean)) / rho;
    const tau = mean - Math.sqrt(Math.max(delta, 0));
    if (tau <= s[k]) tauStar = tau;
  }
  return x.map((v) => Math.max(0, v - tauStar) ** 2);
}

/** Which (i, j) survive the mask; topK needs the row's scores. */
function allowed(mask, i, row) {
  if (mask === 'none' || mask === undefined) return row.map(() => true);
  if (mask === 'causal') return row.map((_, j) => j <= i);
  if (mask.window !== undefined) return row.map((_, j) => Math.abs(i - j) <= mask.window);
  if (mask.topK !== undefined) {
    const order = row.map((s, j) => j).sort((a, b) => row[b] - row[a] || a - b);
    const keep = new Set(order.slice(0, mask.topK));
    return row.map((_, j) => keep.has(j));
  }
  throw new Error('reference: unknown mask');
}

/**
 * Same options as Playground.attention (minus dropout), returns
 * { weights [heads, seqQ, seqK], output [heads, seqQ, headDim], entropy, coverage } as plain arrays.
 */
export function attentionReference(o) {
  const { heads, seqQ, seqK, headDim: d } = o;
  const kind = o.score ?? 'scaled_dot';
  const temperature = o.temperature ?? 1;
  const normalize = { softmax, sparsemax, entmax15 }[o.normalizer ?? 'softmax'];
  const positions = o.positions ?? 'none';
  const slopes = positions === 'alibi' ? alibiSlopes(heads) : null;
  const weights = new Array(heads * seqQ * seqK).fill(0);
  const output = new Array(heads * seqQ * d).fill(0);
  const entropy = new Array(heads * seqQ).fill(0);
  const coverage = new Array(heads * seqK).fill(0);
  const vec = (a, h, n, i) => Array.from(a.slice((h * n + i) * d, (h * n + i + 1) * d));
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < seqQ; i++) {
      let q = vec(o.q, h, seqQ, i);
      if (positions === 'rope') q = rope(q, i);
      const row = [];
      for (let j = 0; j < seqK; j++) {
        let k = vec(o.k, h, seqK, j);
        if (positions === 'rope') k = rope(k, j);
        let s = score(kind, q, k, d, o.additive);
        if (slopes) s -= slopes[h] * Math.abs(i - j);
        if (positions.relativeBias) s += positions.relativeBias[i - j + seqK - 1];
        row.push(s / temperature);
      }
      const keep = allowed(o.mask, i, row);
      const kept = row.filter((_, j) => keep[j]);
      if (kept.length === 0) continue; // a fully masked row: zero weights, zero output
      const p = normalize(kept);
      let n = 0;
      for (let j = 0; j < seqK; j++) {
        if (!keep[j]) continue;
        const w = p[n++];
        weights[(h * seqQ + i) * seqK + j] = w;
        coverage[h * seqK + j] += w;
        if (w > 0) entropy[h * seqQ + i] -= w * Math.log(w);
        const v = vec(o.v, h, seqK, j);
        for (let c = 0; c < d; c++) output[(h * seqQ + i) * d + c] += w * v[c];
      }
    }
  }
  return { weights, output, entropy, coverage };
}

/** Largest |a − b| and where, for error messages. */
export function maxAbsDiff(a, b) {
  if (a.length !== b.length) return { diff: Infinity, at: `length ${a.length} vs ${b.length}` };
  let diff = 0, at = -1;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]);
    if (!(e <= diff)) { diff = e; at = i; }
  }
  return { diff, at };
}

// ---- Issue 5 helpers: dropout's hash, rollout, multi-head, the sinusoidal table ----

/** PCG-RXS-M-XS hash of a 32-bit word, as src/attention/dropout.rs (wrapping u32 arithmetic). */
export function pcg(v) {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The uniform number in [0, 1) that decides weight (head, i, j)'s fate under `seed`. */
export function dropoutUniform(seed, head, i, j) {
  const h = pcg((j + pcg((i + pcg((head + pcg(seed >>> 0)) >>> 0)) >>> 0)) >>> 0);
  return (h >>> 8) / 16777216;
}

/**
 * attentionReference plus dropout { p, seed }: weights dropped where the hash's uniform < p, kept
 * ones × 1/(1−p); the output uses the dropped weights; entropy and coverage stay those before dropout.
 */
export function attentionWithDropout(o) {
  const ref = attentionReference(o);
  if (!o.dropout) return ref;
  const { heads, seqQ, seqK, headDim: d } = o;
  const p = Math.fround(o.dropout.p);
  const scale = Math.fround(1 / (1 - p));
  const weights = ref.weights.map((w, n) => {
    const j = n % seqK, i = Math.floor(n / seqK) % seqQ, h = Math.floor(n / (seqK * seqQ));
    return dropoutUniform(o.dropout.seed, h, i, j) >= p ? w * scale : 0;
  });
  const output = new Array(heads * seqQ * d).fill(0);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < seqQ; i++)
      for (let j = 0; j < seqK; j++) {
        const w = weights[(h * seqQ + i) * seqK + j];
        for (let c = 0; c < d; c++) output[(h * seqQ + i) * d + c] += w * o.v[(h * seqK + j) * d + c];
      }
  return { ...ref, weights, output };
}

/** Attention rollout (Abnar & Zuidema 2020) of maps [layers, heads, seq, seq] → [seq, seq]. */
export function rolloutReference(maps, layers, heads, seq, { residual = true, headFusion = 'mean' } = {}) {
  let r = null;
  for (let l = 0; l < layers; l++) {
    const a = new Array(seq * seq).fill(0);
    for (let n = 0; n < seq * seq; n++) {
      const xs = Array.from({ length: heads }, (_, h) => maps[(l * heads + h) * seq * seq + n]);
      let f = headFusion === 'max' ? Math.max(...xs) : headFusion === 'min' ? Math.min(...xs) : xs.reduce((s, x) => s + x, 0) / heads;
      if (residual) f = 0.5 * f + (Math.floor(n / seq) === n % seq ? 0.5 : 0);
      a[n] = f;
    }
    for (let i = 0; i < seq; i++) {
      const s = a.slice(i * seq, (i + 1) * seq).reduce((x, y) => x + y, 0);
      for (let j = 0; j < seq; j++) a[i * seq + j] = s > 0 ? a[i * seq + j] / s : 0;
    }
    if (r === null) { r = a; continue; }
    const next = new Array(seq * seq).fill(0);
    for (let i = 0; i < seq; i++)
      for (let k = 0; k < seq; k++)
        for (let j = 0; j < seq; j++) next[i * seq + j] += a[i * seq + k] * r[k * seq + j];
    r = next;
  }
  return r;
}

/** x [rows, nIn] · w [nIn, nOut] + b. */
function project(x, rows, w, b, nIn, nOut) {
  const y = new Array(rows * nOut).fill(0);
  for (let i = 0; i < rows; i++)
    for (let o = 0; o < nOut; o++) {
      let s = b ? b[o] : 0;
      for (let c = 0; c < nIn; c++) s += x[i * nIn + c] * w[c * nOut + o];
      y[i * nOut + o] = s;
    }
  return y;
}

/** Multi-head attention as Playground.multiHead: { weights [heads, seqQ, seqK], output [seqQ, dModel] }. */
export function multiHeadReference(o) {
  const { heads, seqQ, dModel, headDim: d } = o;
  const seqK = o.seqK ?? seqQ;
  const inner = heads * d;
  const ctx = o.context ?? o.x;
  const Q = project(o.x, seqQ, o.wq, o.bq, dModel, inner);
  const K = project(ctx, seqK, o.wk, o.bk, dModel, inner);
  const V = project(ctx, seqK, o.wv, o.bv, dModel, inner);
  // token-major [seq, heads·d] → head-major [heads, seq, d]
  const split = (X, n) => Array.from({ length: heads * n * d }, (_, e) => {
    const c = e % d, i = Math.floor(e / d) % n, h = Math.floor(e / (d * n));
    return X[i * inner + h * d + c];
  });
  const { q, k, v, x, context, wq, wk, wv, wo, bq, bk, bv, bo, dModel: _, ...spec } = o;
  const att = attentionReference({ ...spec, heads, seqQ, seqK, headDim: d, q: split(Q, seqQ), k: split(K, seqK), v: split(V, seqK) });
  const concat = new Array(seqQ * inner).fill(0);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < seqQ; i++)
      for (let c = 0; c < d; c++) concat[i * inner + h * d + c] = att.output[(h * seqQ + i) * d + c];
  return { ...att, output: project(concat, seqQ, o.wo, o.bo, inner, dModel) };
}

/** The sinusoidal table [seq, dim]: sin on even columns, cos on odd, frequency 1/10000^(2i/dim). */
export function sinusoidalReference(seq, dim) {
  const out = [];
  for (let pos = 0; pos < seq; pos++)
    for (let c = 0; c < dim; c++) {
      const angle = pos / Math.pow(10000, (2 * Math.floor(c / 2)) / dim);
      out.push(c % 2 === 0 ? Math.sin(angle) : Math.cos(angle));
    }
  return out;
}
