// The first view: type a sentence; every word becomes a token with a deterministic embedding, and
// single-head self-attention over them is recomputed live on the active backend.
// State (URL keys / element attributes): text, score, temperature, normalizer, mask.
import { tokenize, embed } from '../embedding.js';
import { el, latest, nextFrame } from '../util.js';
import { controls } from './controls.js';
import { heatmap } from './heatmap.js';
import { attentionSteps } from './attention-steps.js';
import { glossary, explain } from '../glossary.js';

const DIM = 32;
const MAX_TOKENS = 256;
const DEFAULT_TEXT = 'The cat sat on the mat because it was warm.';

export async function mount(section, app) {
  const intro = el('p', {
    className: 'muted',
    textContent: 'Each word gets a fixed pseudo-random embedding (a seeded hash, no model yet); the map shows how much each word (row) attends to every word (column).',
  });
  intro.dataset.part = 'intro';
  const text = el('textarea', { id: 'text', name: 'text', rows: 2, value: app.initial?.text ?? DEFAULT_TEXT });
  text.dataset.part = 'controls text';
  const textLabel = el('label', { className: 'field' }, el('span', { textContent: 'Sentence' }), text);
  textLabel.dataset.part = 'controls text';
  const terms = glossary(['token', 'query', 'softmax', 'temperature', 'mask'], 'What do these words mean?', 'intro glossary');
  const ctl = el('div');
  const err = el('div', { className: 'error' });
  const map = el('div', { id: 'heatmap' });
  const figure = el('div', { className: 'view-part' },
    explain('Row = the word that attends (its query), column = the word attended to (its key); each row sums to 1, darker = more weight. Try: a causal mask (each word sees only earlier ones), a low temperature (sharper rows), or sparsemax (exact zeros). Focus the map and use the arrow keys to read each cell.'),
    map);
  figure.dataset.part = 'attention-matrix';
  const steps = attentionSteps(app);
  section.append(intro, terms, textLabel, ctl, err, figure, steps.root);

  const hm = heatmap(map);
  const changed = () => app.changed?.();
  const opts = controls(ctl, () => (changed(), runner.edited()));
  opts.set(app.initial ?? {});
  let updates = 0, tokens = [], backend = '';

  // Live: no debounce, one computation in flight, the newest input wins, drawn in the next frame.
  const runner = latest(async (stale) => {
    try {
      tokens = tokenize(text.value);
      const truncated = tokens.length > MAX_TOKENS;
      tokens = tokens.slice(0, MAX_TOKENS);
      if (tokens.length === 0) {
        hm.draw(new Float32Array(0), [], []);
        err.textContent = 'Type some words.';
      } else {
        const { q, k, v } = embed(tokens, DIM);
        const t0 = performance.now();
        const r = await app.pg.attention({ q, k, v, heads: 1, seqQ: tokens.length, seqK: tokens.length, headDim: DIM, ...opts.get() });
        const ms = performance.now() - t0;
        if (stale()) return;
        await nextFrame();
        if (stale()) return;
        backend = r.backend;
        hm.draw(r.weights, tokens, tokens);
        steps.show(tokens, { q, k, v }, opts.get(), r.weights, DIM);
        app.status(ms);
        err.textContent = truncated ? `Only the first ${MAX_TOKENS} words are shown.` : '';
      }
      section.dataset.updates = String(++updates);
    } catch (e) {
      if (!stale()) err.textContent = String(e?.message ?? e);
    }
  });

  text.addEventListener('input', () => (changed(), runner.edited()));
  app.onBackendChange(() => runner.edited());
  const matrix = {
    png: hm.png,
    svg: hm.svg,
    json: () => ({ view: 'attention', backend, options: opts.get(), tokens, ...hm.json() }),
  };
  await runner.go();
  return {
    state: () => ({ text: text.value, ...opts.state() }),
    set(s) {
      if (s.text !== undefined && s.text !== text.value) text.value = s.text;
      opts.set(s);
      runner.schedule(0);
    },
    exporters: { 'attention-matrix': matrix },
    main: 'attention-matrix',
  };
}
