// Demo 6: multi-head attention (pg.multiHead): the same words, several heads with their own
// projections, each its own map; the average map is pg.rollout over one layer with mean fusion
// and no residual, i.e. exactly the mean of the heads. Per-head entropy comes from stats.
import { tokenize, embed } from '../embedding.js';
import { card, select, button, figure, randoms, mean, fmt } from './mech-common.js';
import { heatmap } from './heatmap.js';

const D_MODEL = 32;
const SENTENCE = 'the cat sat on the mat because it was warm';

export function demo(parent, app) {
  const c = card(parent, 'multihead', '6 · Multi-head',
    'x · W_q, x · W_k, x · W_v split into heads; each head attends on its own, the heads are concatenated and projected by W_o. Random projections: press "new weights".');
  const heads = select(c.controls, 'heads', 'heads ', ['1', '2', '4', '8'], '4');
  const reseed = button(c.controls, 'reseed', 'new weights');
  let seed = 1;
  reseed.addEventListener('click', () => seed++);
  const tokens = tokenize(SENTENCE);
  const n = tokens.length;
  const x = embed(tokens, D_MODEL).v;
  const avgFig = figure(c.body, 'average of the heads');
  const avg = heatmap(avgFig.body);
  const grid = document.createElement('div');
  grid.className = 'mech-row';
  c.body.append(grid);
  c.run(async () => {
    const h = Number(heads.value), headDim = D_MODEL / h, inner = h * headDim;
    const w = (s, len) => randoms(len, seed * 1000 + s).map((v) => v * Math.sqrt(3 / D_MODEL));
    const r = await app.pg.multiHead({
      x, wq: w(1, D_MODEL * inner), wk: w(2, D_MODEL * inner), wv: w(3, D_MODEL * inner), wo: w(4, inner * D_MODEL),
      heads: h, seqQ: n, dModel: D_MODEL, headDim, stats: true,
    });
    const mean_map = await app.pg.rollout(r.weights, 1, h, n, { residual: false, headFusion: 'mean' });
    avg.draw(mean_map, tokens, tokens);
    grid.replaceChildren();
    const entropies = [];
    for (let k = 0; k < h; k++) {
      const e = mean(Array.from(r.entropy.slice(k * n, (k + 1) * n)));
      entropies.push(e);
      const f = figure(grid, `head ${k + 1} · entropy ${fmt(e, 2)}`);
      heatmap(f.body).draw(r.weights.slice(k * n * n, (k + 1) * n * n), tokens.map(() => ''), tokens.map(() => ''));
    }
    c.readout.textContent = `per-head mean row entropy: ${entropies.map((e) => fmt(e, 2)).join(', ')} nats · output [${n}, ${D_MODEL}]`;
    Object.assign(c.root.dataset, { heads: String(h), entropies: JSON.stringify(entropies) });
  });
}
