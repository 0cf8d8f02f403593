// Demo 3: softmax, sparsemax and 1.5-entmax on the same scores. Sparsemax and entmax give exact
// zeros; entmax sits between the two.
import { card, slider, randoms, fmt } from './mech-common.js';
import { plotCanvas, bars } from './mech-plot.js';

const N = 10, D = 8;
const NORMALIZERS = ['softmax', 'entmax15', 'sparsemax'];

export function demo(parent, app) {
  const c = card(parent, 'normalizers', '3 · softmax vs entmax vs sparsemax',
    'The same ten scores through three normalizers. Raise the spread (÷T with small T) and sparsemax, then entmax, put exact zeros on the weaker keys.');
  const logT = slider(c.controls, 'spread', 'T ', { min: Math.log(0.1), max: Math.log(10), step: 0.01, value: 0 }, (v) => fmt(Math.exp(v), 2));
  const plots = NORMALIZERS.map(() => plotCanvas(c.body, 120));
  const q = randoms(D, 31), k = randoms(N * D, 32);
  c.run(async () => {
    const temperature = Math.exp(Number(logT.value));
    const parts = [], nonzero = {};
    for (const [n, normalizer] of NORMALIZERS.entries()) {
      const r = await app.pg.attention({ q, k, v: k, heads: 1, seqQ: 1, seqK: N, headDim: D, score: 'dot', temperature, normalizer, stats: true });
      bars(plots[n], Array.from(r.weights), [], { color: ['#1f5fbf', '#15803d', '#c2410c'][n] });
      nonzero[normalizer] = r.weights.filter((w) => w > 0).length;
      parts.push(`${normalizer}: ${nonzero[normalizer]}/${N} non-zero, entropy ${fmt(r.entropy[0])}`);
    }
    c.readout.textContent = parts.join(' · ');
    c.root.dataset.nonzero = JSON.stringify(nonzero);
  });
}
