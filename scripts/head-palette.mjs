// How www/js/palette.js's 12 head colours were chosen (rerun: node scripts/head-palette.mjs):
// among sRGB colours dark enough for 3:1 against both the light page background and white
// (WCAG 1.4.11, lines and bars on the page), a greedy farthest-point pick followed by swaps that
// maximizes the smallest CIEDE2000 ΔE between any two colours as seen with normal vision and
// with simulated protanopia, deuteranopia and tritanopia (tests/browser/colour-vision.mjs).
import { contrast, closestPair, lab } from '../tests/browser/colour-vision.mjs';

const N = Number(process.argv[2] ?? 12);
const KINDS = ['normal', 'protanopia', 'deuteranopia', 'tritanopia'];
const score = (cs) => Math.min(...KINDS.map((k) => closestPair(cs, k).dE));

const candidates = [];
for (let r = 0; r < 256; r += 15) for (let g = 0; g < 256; g += 15) for (let b = 0; b < 256; b += 15) {
  const c = [r, g, b];
  // Hues, not greys: a grey line reads as "no head".
  const [, a, bb] = lab(c);
  if (Math.hypot(a, bb) >= 25 && contrast(c, [251, 251, 250]) >= 3 && contrast(c, [255, 255, 255]) >= 3) candidates.push(c);
}
// Greedy: start from the darkest, add the candidate farthest (worst case over the views) from the set.
let set = [candidates[0]];
while (set.length < N) {
  let best = null, bestS = -1;
  for (const c of candidates) {
    const s = score([...set, c]);
    if (s > bestS) (bestS = s), (best = c);
  }
  set.push(best);
}
// Swaps: replace any colour by a candidate while that raises the worst pair.
for (let improved = true, round = 0; improved && round < 20; round++) {
  improved = false;
  for (let i = 0; i < N; i++) {
    let cur = score(set);
    for (const c of candidates) {
      const next = set.slice();
      next[i] = c;
      const s = score(next);
      if (s > cur + 1e-9) (set = next), (cur = s), (improved = true);
    }
  }
}
const hex = (c) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
console.log(JSON.stringify(set.map(hex)));
for (const k of KINDS) console.log(k, closestPair(set, k).dE.toFixed(2));
