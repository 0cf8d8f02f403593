// Shared helpers of the text views: pick one [n, n] map out of attention [layers, heads, n, n],
// drop [CLS]/[SEP] with row renormalization, per-row entropy, head colours, and a sharp canvas.
// The map helpers are pure, so every text view (and any page embedding them) shares one
// definition of "the map being shown".

export const SPECIAL = new Set(['[CLS]', '[SEP]']);

/**
 * Which token positions a view shows: all, or all but [CLS]/[SEP] when `hideSpecial`.
 * Returns { keep: Int32Array of positions, labels: string[] }.
 */
export function visible(tokens, hideSpecial) {
  const keep = [];
  tokens.forEach((t, i) => (!hideSpecial || !SPECIAL.has(t)) && keep.push(i));
  return { keep: Int32Array.from(keep), labels: keep.map((i) => tokens[i]) };
}

/**
 * One [m, m] map (m = keep.length) out of `attention` [layers, heads, n, n]: head `head` of layer
 * `layer`, or the mean over heads when head === 'mean'. Rows are restricted to `keep` and
 * renormalized to sum to 1 over the kept columns (a row with no kept mass stays all zero).
 */
export function pickMap(r, layer, head, keep) {
  const n = r.tokens.length, m = keep.length, nn = n * n;
  // One head over all tokens is already in place: a view, not a copy (callers only read it).
  if (head !== 'mean' && m === n) return r.attention.subarray((layer * r.heads + head) * nn, (layer * r.heads + head + 1) * nn);
  const heads = head === 'mean' ? [...Array(r.heads).keys()] : [head];
  const out = new Float32Array(m * m);
  for (const h of heads) {
    const base = (layer * r.heads + h) * nn;
    for (let a = 0; a < m; a++) {
      const row = base + keep[a] * n;
      for (let b = 0; b < m; b++) out[a * m + b] += r.attention[row + keep[b]];
    }
  }
  return normalizeRows(out, m, m === n ? heads.length : 0);
}

/** Divides each row by its sum; with `by` > 0 by that constant instead (no renormalization). */
export function normalizeRows(map, m, by = 0) {
  for (let a = 0; a < m; a++) {
    let s = 0;
    if (by > 0) s = by;
    else for (let b = 0; b < m; b++) s += map[a * m + b];
    if (s > 0) for (let b = 0; b < m; b++) map[a * m + b] /= s;
  }
  return map;
}

/** Restricts a [n, n] row-stochastic map to `keep` (rows and columns), renormalizing rows. */
export function restrict(map, n, keep) {
  const m = keep.length;
  if (m === n) return map;
  const out = new Float32Array(m * m);
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) out[a * m + b] = map[keep[a] * n + keep[b]];
  return normalizeRows(out, m);
}

/**
 * Mean row entropy (nats) of a [m, m] map: how spread out the head's attention is on average.
 * 0 = every token looks at exactly one token; ln(m) = uniform.
 */
export function meanEntropy(map, m) {
  if (m === 0) return 0;
  let total = 0;
  for (let i = 0; i < m * m; i++) {
    const p = map[i];
    if (p > 0) total -= p * Math.log(p);
  }
  return total / m;
}

// The head colours live in palette.js (chosen for colour-blind readers); re-exported for the views.
export { headColor } from '../palette.js';

/** Sizes `canvas` to w × h CSS pixels at the device's pixel ratio (sharp text); returns a cleared
 *  2D context drawing in CSS pixels. */
export function sharpCanvas(canvas, w, h) {
  const dpr = window.devicePixelRatio || 1;
  const width = Math.round(w * dpr), height = Math.round(h * dpr);
  const ctx = canvas.getContext('2d');
  // Views redraw on every keystroke: a canvas of the same size is reset in place (a new size
  // would reallocate its bitmap, and new style sizes cost a layout).
  if (canvas.width !== width || canvas.height !== height || !ctx.reset) {
    canvas.width = width;
    canvas.height = height;
  } else {
    ctx.reset();
  }
  if (canvas.style.width !== `${w}px`) canvas.style.width = `${w}px`;
  if (canvas.style.height !== `${h}px`) canvas.style.height = `${h}px`;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return ctx;
}
