// The Text tab's "step by step" panel: one layer, head and query token of the real model, from
// the layer's input x to the head's output, with the numbers of the forward pass itself
// (pg.runText(text, pair, { capture: { layer, head } }) → capture.x, q, k, v), and BertViz's
// neuron view beside it. It runs its own forward only while open, so the other panels never wait
// for it; the softmax row it computes is checked against the attention row that forward returned.
import { el, latest, useCss } from '../util.js';
import { stepsView } from './steps-common.js';
import { drawNeuron } from './steps-neuron.js';

export function textSteps(root, app, input) {
  const { pg } = app;
  useCss(app, 'steps');
  const layerPick = el('select', { id: 'steps-layer', name: 'stepsLayer' });
  const headPick = el('select', { id: 'steps-head', name: 'stepsHead' });
  const queryPick = el('select', { id: 'steps-query', name: 'stepsQuery' });
  const status = el('p', { className: 'muted', role: 'status' });
  const stepsRoot = el('div', { id: 'steps-stages' });
  const neuronRoot = el('div', { id: 'steps-neuron', className: 'neuron-view' });
  const details = el('details', { className: 'steps-details' },
    el('summary', { textContent: 'Step by step, with the model’s real numbers' }),
    el('p', { className: 'muted', textContent: 'Pick a layer, a head and a query token: see how its attention row is computed from the numbers of this very forward pass. “previous / next stage” walk through it; the highlighted key is followed across stages.' }),
    el('div', { className: 'controls' }, el('label', {}, 'layer ', layerPick), el('label', {}, 'head ', headPick), el('label', {}, 'query token ', queryPick)),
    status, stepsRoot,
    el('h4', { textContent: 'Neuron view' }),
    el('p', { className: 'muted', textContent: 'As in BertViz: the query’s q, each key’s k, their elementwise product q⊙k, its sum q·k and the softmax weight.' }),
    neuronRoot);
  root.replaceChildren(details);
  const steps = stepsView(stepsRoot, { id: 'steps' });
  let result = null, ran = '';

  function fill(select, count, label, names) {
    const keep = select.value;
    select.replaceChildren(...Array.from({ length: count }, (_, i) => new Option(names ? `${i}: ${names[i]}` : `${label} ${i + 1}`, String(i))));
    if (keep !== '' && Number(keep) < count) select.value = keep;
  }

  function draw() {
    const r = result, { layer, head } = r.capture, n = r.tokens.length, d = r.capture.q.length / n;
    const query = Math.min(Number(queryPick.value) || 0, n - 1);
    const hidden = r.capture.x.length / n;
    const row = r.attention.subarray(((layer * r.heads + head) * n + query) * n, ((layer * r.heads + head) * n + query + 1) * n);
    const s = steps.draw({
      tokens: r.tokens, query, d, q: r.capture.q.subarray(query * d, (query + 1) * d), k: r.capture.k, v: r.capture.v,
      score: 'scaled_dot', temperature: 1, kept: null,
      x: {
        values: r.capture.x.subarray(query * hidden, (query + 1) * hidden),
        note: `The hidden state entering layer ${layer + 1} at this token (${hidden} numbers): ${layer ? `the output of layer ${layer}` : 'the embeddings (word + position + segment, then LayerNorm)'}. All ${r.heads} heads read the same x.`,
      },
      qNote: `W_q, b_q (and W_k, b_k) are head ${head + 1}’s ${d} columns of the layer’s query (key) projection; every key’s k comes from its own x the same way. These are the numbers the forward computed.`,
      maskNote: 'One input has no padding, so BERT masks no key: every score passes unchanged.',
      returned: row,
      returnedNote: `The model’s own attention row (layer ${layer + 1}, head ${head + 1}, query “${r.tokens[query]}”)`,
      outNote: `o is this head’s ${d}-number output for the query; with the other heads’ outputs it goes through the output projection, the residual and LayerNorm.`,
    });
    drawNeuron(neuronRoot, r.tokens, s, Number(stepsRoot.querySelector('select[name="key"]')?.value ?? query));
    root.dataset.view = `${layer},${head},${query}`;
  }

  const runner = latest(async (stale) => {
    if (!details.open) return;
    const { text, pair } = input();
    const capture = { layer: Number(layerPick.value) || 0, head: Number(headPick.value) || 0 };
    const want = JSON.stringify([text, pair, capture]);
    if (want === ran && result) return draw();
    status.textContent = 'running the model…';
    try {
      const r = await pg.runText(text, pair, { capture });
      if (stale()) return;
      if (!r.capture) throw new Error('this build of the playground cannot capture q, k, v');
      result = r;
      ran = want;
      fill(queryPick, r.tokens.length, '', r.tokens);
      status.textContent = `layer ${capture.layer + 1}, head ${capture.head + 1}: ${r.tokens.length} tokens, head size ${r.capture.q.length / r.tokens.length}, on ${r.backend}`;
      draw();
      root.dataset.updates = String(Number(root.dataset.updates ?? 0) + 1);
    } catch (e) {
      if (!stale()) status.textContent = `could not run the model: ${e?.message ?? e}`;
    }
  });
  details.addEventListener('toggle', () => details.open && runner.edited(0));
  layerPick.onchange = headPick.onchange = () => runner.edited(0);
  queryPick.onchange = () => result && draw();
  stepsRoot.addEventListener('change', (e) => e.target.name === 'key' && result && draw());

  return {
    /** The model's shape (layers, heads) and the main view's choice, once a result is there. */
    sync(layers, heads, layer, head) {
      if (layerPick.options.length !== layers) fill(layerPick, layers, 'layer'), (layerPick.value = String(layer));
      if (headPick.options.length !== heads) fill(headPick, heads, 'head'), (headPick.value = String(head === 'mean' ? 0 : head));
    },
    /** The text changed: rerun if open. */
    changed: () => runner.edited(0),
    json: () => ({ view: 'text-steps', layer: result?.capture.layer, head: result?.capture.head, ...steps.json() }),
  };
}
