// Demo 7: Nadaraya–Watson kernel regression is attention: queries = points on the x axis, keys =
// the samples' x, values = their y, score −(x_q − x_k)² (neg_sq_dist), temperature = bandwidth.
// The fitted curve is the attention output: a weighted average of the y's.
import { card, slider, button, randoms, fmt } from './mech-common.js';
import { plotCanvas, pointsAndCurve } from './mech-plot.js';

const SAMPLES = 30, GRID = 120, X_MAX = 2 * Math.PI;

export function demo(parent, app) {
  const c = card(parent, 'regression', '7 · Nadaraya–Watson = attention',
    'Noisy samples of sin x. Each point on the curve is a query attending to the samples with score −(x − xᵢ)²; the temperature is the bandwidth: small → wiggly, large → flat.');
  const logT = slider(c.controls, 'bandwidth', 'T ', { min: Math.log(0.005), max: Math.log(20), step: 0.01, value: Math.log(0.2) }, (v) => fmt(Math.exp(v), 3));
  const resample = button(c.controls, 'resample', 'new samples');
  let seed = 1;
  resample.addEventListener('click', () => seed++);
  const plot = plotCanvas(c.body, 220);
  c.run(async () => {
    const xs = randoms(SAMPLES, seed * 7 + 1).map((u) => ((u + 1) / 2) * X_MAX);
    const noise = randoms(SAMPLES, seed * 7 + 2);
    const ys = xs.map((x, i) => Math.sin(x) + 0.3 * noise[i]);
    const grid = Float32Array.from({ length: GRID }, (_, i) => (i / (GRID - 1)) * X_MAX);
    const temperature = Math.exp(Number(logT.value));
    const r = await app.pg.attention({ q: grid, k: xs, v: ys, heads: 1, seqQ: GRID, seqK: SAMPLES, headDim: 1, score: 'neg_sq_dist', temperature });
    pointsAndCurve(plot, { xs: Array.from(xs), ys: Array.from(ys) }, { xs: Array.from(grid), ys: Array.from(r.output) });
    let lo = Infinity, hi = -Infinity;
    for (const y of r.output) (lo = Math.min(lo, y)), (hi = Math.max(hi, y));
    c.readout.textContent = `bandwidth T = ${fmt(temperature, 3)}: fitted curve spans [${fmt(lo, 2)}, ${fmt(hi, 2)}]`;
    c.root.dataset.range = String(hi - lo);
  });
}
