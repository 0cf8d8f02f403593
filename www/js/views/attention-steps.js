// The Attention tab's step by step: one query word of the tab's own inputs (its seeded q, k, v)
// through scores → ÷ √d and temperature → mask → softmax → Σ p·v, drawn by steps-common.js and
// checked against the row the backend returned for the map above.
import { el, useCss } from '../util.js';
import { stepsView } from './steps-common.js';
import { drawNeuron } from './steps-neuron.js';

const SCORES = ['scaled_dot', 'dot', 'cosine'];

/** Which keys the tab's mask keeps for query `i` (`scaled`: that row's scores, for topK). */
function keptKeys(mask, i, n, scaled) {
  if (mask === 'causal') return Array.from({ length: n }, (_, j) => j <= i);
  if (mask?.window !== undefined) return Array.from({ length: n }, (_, j) => Math.abs(i - j) <= mask.window);
  if (mask?.topK !== undefined) {
    const order = scaled.map((s, j) => j).sort((a, b) => scaled[b] - scaled[a] || a - b);
    const keep = new Set(order.slice(0, mask.topK));
    return Array.from({ length: n }, (_, j) => keep.has(j));
  }
  return null;
}

const maskNote = (mask) => (mask === 'causal' ? 'Causal: a word sees itself and the words before it.'
  : mask?.window !== undefined ? `Window: keys at most ${mask.window} words away.`
  : mask?.topK !== undefined ? `Top-k: only the ${mask.topK} largest scores of the row (ties: the earlier word).`
  : 'No mask: every key passes unchanged (choose one in “mask” above).');

export function attentionSteps(app, id = 'attention-steps') {
  useCss(app, 'steps');
  const queryPick = el('select', { id: `${id}-query`, name: 'stepsQuery' });
  const note = el('p', { className: 'muted', role: 'status' });
  const stepsRoot = el('div', { id: `${id}-stages` });
  const neuronRoot = el('div', { className: 'neuron-view' });
  const root = el('details', { className: 'steps-details attention-steps', id },
    el('summary', { textContent: 'Step by step: how one word’s row is computed' }),
    el('div', { className: 'controls' }, el('label', {}, 'query word ', queryPick)),
    note, stepsRoot, el('h4', { textContent: 'Neuron view' }), neuronRoot);
  root.dataset.part = id;
  const steps = stepsView(stepsRoot, { id });
  let last = null;

  function draw() {
    if (!last || !root.open) return;
    const { tokens, q, k, v, opts, weights, d, unsupported } = last, n = tokens.length;
    const query = Math.min(Number(queryPick.value) || 0, n - 1);
    const why = unsupported ?? (SCORES.includes(opts.score) && opts.normalizer === 'softmax' ? ''
      : `The step by step follows ${SCORES.join(', ')} scores with softmax; pick those above to follow this map.`);
    stepsRoot.hidden = neuronRoot.hidden = !!why;
    note.textContent = why;
    if (why) return;
    const base = { tokens, query, d, q: q.subarray(query * d, (query + 1) * d), k, v, score: opts.score, temperature: opts.temperature };
    // The mask of a top-k row depends on its scaled scores: compute them once unmasked.
    const scaled = steps.draw({ ...base, kept: null }).scaled;
    const s = steps.draw({
      ...base, kept: keptKeys(opts.mask, query, n, scaled), maskNote: maskNote(opts.mask), hasTemperature: true,
      returned: weights.subarray(query * n, (query + 1) * n), returnedNote: 'The backend’s row for this word (the map above)',
      qNote: 'Here q, k and v are the tab’s own inputs: each word’s seeded embedding, with small word-specific changes for q and k.',
      outNote: 'o is the attention output for this word: the weighted average of the v’s.',
    });
    drawNeuron(neuronRoot, tokens, s, Number(stepsRoot.querySelector('select[name="key"]')?.value ?? query));
    root.dataset.query = String(query);
  }

  queryPick.onchange = draw;
  stepsRoot.addEventListener('change', (e) => e.target.name === 'key' && draw());
  root.addEventListener('toggle', draw);
  return {
    root,
    /** The latest computation: tokens, its q, k, v [n, d], the options, the returned weights;
     *  `unsupported` says why the stages cannot follow it (options they do not model). */
    show(tokens, { q, k, v }, opts, weights, d, unsupported = null) {
      const labels = tokens.map((t, j) => `${j}: ${t}`);
      if (queryPick.options.length !== tokens.length || [...queryPick.options].some((o, j) => o.text !== labels[j])) {
        const keep = Number(queryPick.value) || 0;
        queryPick.replaceChildren(...labels.map((t, j) => new Option(t, String(j))));
        queryPick.value = String(Math.min(keep, tokens.length - 1));
      }
      last = { tokens, q, k, v, opts, weights, d, unsupported };
      draw();
    },
  };
}
