// Demo 5: masks decide which keys a query may see: causal (no future), a window of ±w, or the top k
// scores of each row. Masked cells are exact zeros (white).
import { tokenize, embed } from '../embedding.js';
import { card, select, slider } from './mech-common.js';
import { heatmap } from './heatmap.js';

const DIM = 16;
const SENTENCE = 'the quick brown fox jumps over the lazy dog again and again';

export function demo(parent, app) {
  const c = card(parent, 'masks', '5 · Masks',
    'Causal: each word sees only itself and earlier words. Window: only words within ±w. Top-k: only the k highest scores of each row.');
  const mask = select(c.controls, 'mask', 'mask ', ['causal', 'window', 'topK', 'none']);
  const size = slider(c.controls, 'size', 'w / k ', { min: 1, max: 8, step: 1, value: 2 });
  const hold = document.createElement('div');
  c.body.append(hold);
  const hm = heatmap(hold);
  const tokens = tokenize(SENTENCE);
  const n = tokens.length;
  c.run(async () => {
    const w = Number(size.value);
    const m = mask.value === 'window' ? { window: w } : mask.value === 'topK' ? { topK: w } : mask.value;
    const r = await app.pg.attention({ ...embed(tokens, DIM), heads: 1, seqQ: n, seqK: n, headDim: DIM, mask: m });
    hm.draw(r.weights, tokens, tokens);
    const visible = Array.from({ length: n }, (_, i) => r.weights.slice(i * n, (i + 1) * n).filter((x) => x > 0).length);
    c.readout.textContent = `keys seen per word: ${visible.join(' ')}`;
    c.root.dataset.visible = JSON.stringify(visible);
  });
}
