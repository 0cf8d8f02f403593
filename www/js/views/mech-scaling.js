// Demo 1: dot vs scaled dot as headDim grows. With unit-variance entries q·k has variance d, so
// unscaled softmax rows collapse towards one key (entropy → 0); dividing by √d keeps the variance
// at 1 and the entropy flat. Score variance is read off the weights pg returns: for softmax without
// a mask ln w_ij = s_ij − ln Z_i, so the variance of ln w over a row is the variance of its scores.
import { card, slider, button, randoms, mean, fmt } from './mech-common.js';
import { plotCanvas, lines } from './mech-plot.js';

const DIMS = [2, 4, 8, 16, 32, 64, 128, 256];

/** Mean over rows of the variance of ln w along the row (zero weights skipped). */
function rowLogVariance(w, rows, cols) {
  const vars = [];
  for (let i = 0; i < rows; i++) {
    const l = [];
    for (let j = 0; j < cols; j++) if (w[i * cols + j] > 0) l.push(Math.log(w[i * cols + j]));
    const m = mean(l);
    vars.push(mean(l.map((x) => (x - m) ** 2)));
  }
  return mean(vars);
}

export function demo(parent, app) {
  const c = card(parent, 'scaling', '1 · Scaling: dot vs scaled dot',
    'Random q, k with unit-variance entries. As headDim grows, plain dot-product scores spread out (variance ≈ d) and the softmax saturates; scaled dot (÷√d) keeps both steady.');
  const keys = slider(c.controls, 'keys', 'keys ', { min: 4, max: 64, step: 4, value: 16 });
  const reseed = button(c.controls, 'reseed', 'new sample');
  let seed = 1;
  reseed.addEventListener('click', () => seed++);
  const varPlot = plotCanvas(c.body), entPlot = plotCanvas(c.body);
  c.run(async () => {
    const n = Number(keys.value);
    const res = { dot: { v: [], e: [] }, scaled_dot: { v: [], e: [] } };
    for (const d of DIMS) {
      const unit = (s) => randoms(n * d, s).map((x) => x * Math.sqrt(3)); // uniform(−√3, √3): variance 1
      const q = unit(seed * 100 + d), k = unit(seed * 100 + d + 50);
      for (const score of ['dot', 'scaled_dot']) {
        const r = await app.pg.attention({ q, k, v: k, heads: 1, seqQ: n, seqK: n, headDim: d, score, stats: true });
        res[score].v.push(rowLogVariance(r.weights, n, n));
        res[score].e.push(mean(Array.from(r.entropy)));
      }
    }
    lines(varPlot, [{ name: 'dot', xs: DIMS, ys: res.dot.v }, { name: 'scaled dot', xs: DIMS, ys: res.scaled_dot.v }],
      { logX: true, logY: true, xLabel: 'headDim', yLabel: 'score variance' });
    lines(entPlot, [{ name: 'dot', xs: DIMS, ys: res.dot.e }, { name: 'scaled dot', xs: DIMS, ys: res.scaled_dot.e }],
      { logX: true, xLabel: 'headDim', yLabel: 'row entropy (nats)' });
    c.readout.textContent = `at headDim 256: score variance dot ${fmt(res.dot.v.at(-1), 1)}, scaled ${fmt(res.scaled_dot.v.at(-1), 2)}; ` +
      `entropy dot ${fmt(res.dot.e.at(-1))}, scaled ${fmt(res.scaled_dot.e.at(-1))} (uniform: ln ${n} = ${fmt(Math.log(n))})`;
    c.root.dataset.result = JSON.stringify(res);
  });
}
