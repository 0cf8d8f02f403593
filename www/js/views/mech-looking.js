// Demo 8: "looking is not understanding". Two settings give very different maps, yet when every
// value vector is the same, any weights (rows summing to 1) average it to the same output.
import { tokenize, embed } from '../embedding.js';
import { card, checkbox, figure } from './mech-common.js';
import { heatmap } from './heatmap.js';

const DIM = 16;
const SENTENCE = 'she gave him the book he wanted';

export function demo(parent, app) {
  const c = card(parent, 'looking', '8 · Looking is not understanding',
    'Setting A: scaled dot, softmax. Setting B: causal mask, sharp temperature, sparsemax. The maps differ; with identical values the outputs are the same, so the map alone says nothing about what the output carries.');
  const identical = checkbox(c.controls, 'identical', 'identical values', true);
  const [fa, fb] = [figure(c.body, 'A'), figure(c.body, 'B')];
  const [ha, hb] = [heatmap(fa.body), heatmap(fb.body)];
  const tokens = tokenize(SENTENCE);
  const n = tokens.length;
  c.run(async () => {
    const { q, k, v } = embed(tokens, DIM);
    // Identical values: every row is the first word's value.
    const values = identical.checked ? Float32Array.from({ length: n * DIM }, (_, e) => v[e % DIM]) : v;
    const base = { q, k, v: values, heads: 1, seqQ: n, seqK: n, headDim: DIM };
    const a = await app.pg.attention({ ...base });
    const b = await app.pg.attention({ ...base, mask: 'causal', temperature: 0.1, normalizer: 'sparsemax' });
    ha.draw(a.weights, tokens, tokens);
    hb.draw(b.weights, tokens, tokens);
    let mapDiff = 0, outDiff = 0;
    a.weights.forEach((w, i) => (mapDiff = Math.max(mapDiff, Math.abs(w - b.weights[i]))));
    a.output.forEach((o, i) => (outDiff = Math.max(outDiff, Math.abs(o - b.output[i]))));
    c.readout.textContent = `max |map A − map B| = ${mapDiff.toFixed(3)} · max |output A − output B| = ${outDiff.toExponential(2)}`;
    Object.assign(c.root.dataset, { mapDiff: String(mapDiff), outDiff: String(outDiff) });
  });
}
