// Demo 2: temperature from 0.05 to 20 on one row: low T → argmax (entropy → 0), high T → uniform
// (entropy → ln n).
import { card, slider, randoms, fmt } from './mech-common.js';
import { plotCanvas, bars } from './mech-plot.js';

const N = 12, D = 16;

export function demo(parent, app) {
  const c = card(parent, 'temperature', '2 · Temperature',
    'One query against twelve keys: scores ÷ T before the softmax. Slide T from 0.05 (all weight on the best key) to 20 (nearly uniform).');
  const logT = slider(c.controls, 'temperature', 'T ', { min: Math.log(0.05), max: Math.log(20), step: 0.01, value: 0 }, (v) => fmt(Math.exp(v), 2));
  const plot = plotCanvas(c.body);
  const q = randoms(D, 21).map((x) => 2 * x), k = randoms(N * D, 22).map((x) => 2 * x);
  c.run(async () => {
    const temperature = Math.exp(Number(logT.value));
    const r = await app.pg.attention({ q, k, v: k, heads: 1, seqQ: 1, seqK: N, headDim: D, score: 'scaled_dot', temperature, stats: true });
    bars(plot, Array.from(r.weights), Array.from({ length: N }, (_, j) => `k${j}`));
    const max = Math.max(...r.weights);
    c.readout.textContent = `T = ${fmt(temperature, 2)}: largest weight ${fmt(max)}, entropy ${fmt(r.entropy[0])} nats (uniform: ${fmt(Math.log(N))})`;
    Object.assign(c.root.dataset, { entropy: String(r.entropy[0]), max: String(max) });
  });
}
