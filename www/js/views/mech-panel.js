// The control panel of the Mechanisms tab: one attention call over a sentence with every option
// of issue 5 — score (incl. additive), temperature, normalizer (incl. entmax15), mask, positions
// (RoPE, ALiBi, a relative bias, or the sinusoidal table added to the embeddings), dropout, stats
// (entropy per row, coverage per column) and returnWeights (false: the fused kernel, no map).
import { tokenize, embed } from '../embedding.js';
import { controls } from './controls.js';
import { heatmap } from './heatmap.js';
import { card, select, slider, checkbox, figure, randoms, fmt } from './mech-common.js';
import { plotCanvas, bars } from './mech-plot.js';
import { attentionSteps } from './attention-steps.js';
import { labelled } from '../util.js';

const DIM = 32, HIDDEN = 8;

export function panel(parent, app, Playground) {
  const c = card(parent, 'panel', 'Every control',
    'One head over the sentence. In the map, row = the word that attends, column = the word it attends to; each row sums to 1. Try: sparsemax (exact zeros), a causal mask, or ALiBi positions (nearby words win). Additive scores use random W_q, W_k, v (hidden 8); "sinusoidal" adds Playground.sinusoidal(n, d) to q and k; the relative bias is −strength·|i − j|.');
  c.root.classList.add('mech-panel');
  const text = document.createElement('textarea');
  text.name = 'panel-text';
  text.rows = 1;
  text.value = 'attention is a weighted average of values chosen by queries and keys';
  text.dataset.part = 'controls text';
  text.setAttribute('aria-label', 'sentence for the panel');
  c.controls.before(text);
  const base = controls(c.controls, () => {}); // the card's controls row recomputes on any input
  c.controls.querySelector('select[name="score"]').append(new Option('additive', 'additive'));
  const positions = select(c.controls, 'positions', 'positions ', ['none', 'rope', 'alibi', 'relativeBias', 'sinusoidal']);
  const strength = slider(c.controls, 'biasStrength', 'bias strength ', { min: 0, max: 2, step: 0.05, value: 0.5 }, (v) => fmt(v, 2));
  const dropP = slider(c.controls, 'dropout', 'dropout p ', { min: 0, max: 0.9, step: 0.05, value: 0 }, (v) => fmt(v, 2));
  const seed = Object.assign(document.createElement('input'), { type: 'number', name: 'dropoutSeed', min: 0, value: 1 });
  c.controls.append(labelled('dropout seed ', seed));
  const stats = checkbox(c.controls, 'stats', 'stats', true);
  const weights = checkbox(c.controls, 'returnWeights', 'return weights', true);
  text.addEventListener('input', c.schedule);

  const mapFig = figure(c.body, 'weights');
  const hm = heatmap(mapFig.body);
  const side = document.createElement('div');
  c.body.append(side);
  const entFig = figure(side, 'entropy per row (nats)');
  const entPlot = plotCanvas(entFig.body, 110);
  const covFig = figure(side, 'coverage per column (column sums)');
  const covPlot = plotCanvas(covFig.body, 110);
  const steps = attentionSteps(app, 'mech-steps');
  c.body.after(steps.root);
  const additive = { hidden: HIDDEN, wq: randoms(HIDDEN * DIM, 41), wk: randoms(HIDDEN * DIM, 42), v: randoms(HIDDEN, 43) };

  c.base = base;
  c.text = text;
  c.run(async () => {
    const tokens = tokenize(text.value).slice(0, 64);
    const n = tokens.length;
    if (n === 0) throw new Error('Type some words.');
    const { q, k, v } = embed(tokens, DIM);
    const opts = { ...base.get(), heads: 1, seqQ: n, seqK: n, headDim: DIM, stats: stats.checked, returnWeights: weights.checked };
    if (opts.score === 'additive') opts.additive = additive;
    const pos = positions.value;
    if (pos === 'sinusoidal') {
      const table = Playground.sinusoidal(n, DIM);
      table.forEach((x, e) => ((q[e] += x), (k[e] += x)));
    } else if (pos === 'relativeBias') {
      const s = Number(strength.value);
      opts.positions = { relativeBias: Float32Array.from({ length: 2 * n - 1 }, (_, m) => -s * Math.abs(m - (n - 1))) };
    } else {
      opts.positions = pos;
    }
    const p = Number(dropP.value);
    if (p > 0) opts.dropout = { p, seed: Math.max(0, Math.floor(Number(seed.value) || 0)) };
    const t0 = performance.now();
    const r = await app.pg.attention({ ...opts, q, k, v });
    const ms = performance.now() - t0;
    app.status(ms);
    mapFig.caption.textContent = r.weights ? `weights (${r.backend})` : `no weights: returnWeights false runs the fused kernel (${r.backend})`;
    mapFig.body.hidden = !r.weights;
    if (r.weights) hm.draw(r.weights, tokens, tokens);
    const off = [pos !== 'none' && pos !== 'sinusoidal' && `positions ${pos}`, p > 0 && 'dropout', !r.weights && 'no returned weights'].filter(Boolean);
    if (r.weights) steps.show(tokens, { q, k, v }, opts, r.weights, DIM, off.length ? `The step by step does not model ${off.join(', ')}: turn ${off.length > 1 ? 'them' : 'it'} off to follow this map.` : null);
    entFig.body.parentElement.hidden = covFig.body.parentElement.hidden = !r.entropy;
    if (r.entropy) {
      bars(entPlot, Array.from(r.entropy), [], { yMax: Math.log(n) });
      bars(covPlot, Array.from(r.coverage), [], { color: '#15803d' });
    }
    c.readout.textContent = `${n} tokens · ${ms.toFixed(1)} ms on ${r.backend}` +
      (r.entropy ? ` · mean entropy ${fmt(r.entropy.reduce((a, b) => a + b, 0) / n)} (max ln ${n} = ${fmt(Math.log(n))})` : '');
    Object.assign(c.root.dataset, { weights: String(!!r.weights), entropy: r.entropy ? JSON.stringify(Array.from(r.entropy)) : '' });
  });
  return c;
}
