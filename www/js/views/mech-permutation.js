// Demo 4: attention without positions is permutation-equivariant: shuffle the words and the map's
// rows and columns move with them, nothing else changes. RoPE and ALiBi break that, and RoPE's
// scores depend only on the offset i − j (shown on one word repeated: ln w(i, i−1) − ln w(i, i) is
// the same in every row).
import { tokenize, embed } from '../embedding.js';
import { card, select, button, figure, fmt } from './mech-common.js';
import { heatmap } from './heatmap.js';
import { labelled } from '../util.js';

const DIM = 16;

function shuffled(n, seed) {
  const p = Array.from({ length: n }, (_, i) => i);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

export function demo(parent, app) {
  const c = card(parent, 'permutation', '4 · Permutation and position',
    'Left: the sentence; right: the same words shuffled. With positions "none" the right map is the left one with rows and columns permuted. RoPE and ALiBi make order matter.');
  const text = Object.assign(document.createElement('input'), { name: 'words', value: 'dogs chase cats but cats ignore dogs' });
  c.controls.append(labelled('words ', text));
  const positions = select(c.controls, 'positions', 'positions ', ['none', 'rope', 'alibi']);
  const shuffle = button(c.controls, 'shuffle', 'shuffle');
  let seed = 7;
  shuffle.addEventListener('click', () => (seed += 1));
  const [a, b, r] = [figure(c.body, 'in order'), figure(c.body, 'shuffled'), figure(c.body, 'RoPE: one word repeated')];
  const [ha, hb, hr] = [heatmap(a.body), heatmap(b.body), heatmap(r.body)];
  c.run(async () => {
    const tokens = tokenize(text.value).slice(0, 24);
    const n = tokens.length;
    if (n === 0) throw new Error('Type some words.');
    const perm = shuffled(n, seed);
    const opts = { heads: 1, seqQ: n, seqK: n, headDim: DIM, positions: positions.value };
    const wa = (await app.pg.attention({ ...embed(tokens, DIM), ...opts })).weights;
    const moved = perm.map((i) => tokens[i]);
    const wb = (await app.pg.attention({ ...embed(moved, DIM), ...opts })).weights;
    ha.draw(wa, tokens, tokens);
    hb.draw(wb, moved, moved);
    // Does shuffled[i][j] equal original[perm[i]][perm[j]]?
    let diff = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) diff = Math.max(diff, Math.abs(wb[i * n + j] - wa[perm[i] * n + perm[j]]));
    // RoPE on one repeated word: the log-ratio of neighbouring weights is the same in every row.
    const same = Array(8).fill('the');
    const wr = (await app.pg.attention({ ...embed(same, DIM), heads: 1, seqQ: 8, seqK: 8, headDim: DIM, positions: 'rope' })).weights;
    hr.draw(wr, same.map((t, i) => `${t}${i}`), same.map((t, i) => `${t}${i}`));
    const ratios = [];
    for (let i = 1; i < 8; i++) ratios.push(Math.log(wr[i * 8 + i - 1]) - Math.log(wr[i * 8 + i]));
    const spread = Math.max(...ratios) - Math.min(...ratios);
    c.readout.textContent = `max |shuffled − permuted original| = ${diff.toExponential(2)} ` +
      `(${diff < 1e-5 ? 'the map permutes with the words' : 'order matters'}) · RoPE: ln w(i,i−1) − ln w(i,i) = ${fmt(ratios[0])} in every row (spread ${spread.toExponential(1)})`;
    Object.assign(c.root.dataset, { permDiff: String(diff), ropeSpread: String(spread) });
  });
}
