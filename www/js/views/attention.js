// The first view: type a sentence; every word becomes a token with a deterministic embedding, and
// single-head self-attention over them is recomputed live on the active backend.
// State (URL keys / element attributes): text, score, temperature, normalizer, mask.
import { tokenize, embed } from '../embedding.js';
import { el, latest } from '../util.js';
import { controls } from './controls.js';
import { heatmap } from './heatmap.js';

const DIM = 32;
const MAX_TOKENS = 256;
const DEBOUNCE_MS = 60;
const DEFAULT_TEXT = 'The cat sat on the mat because it was warm.';

export async function mount(section, app) {
  const intro = el('p', {
    className: 'muted',
    textContent: 'Each word gets a fixed pseudo-random embedding (a seeded hash, no model yet); the map shows how much each word (row) attends to every word (column).',
  });
  intro.dataset.part = 'intro';
  const text = el('textarea', { id: 'text', name: 'text', rows: 2, value: app.initial?.text ?? DEFAULT_TEXT });
  text.setAttribute('aria-label', 'text to attend over');
  text.dataset.part = 'controls text';
  const ctl = el('div');
  const err = el('div', { className: 'error' });
  const map = el('div', { id: 'heatmap' });
  const figure = el('div', { className: 'view-part' }, map);
  figure.dataset.part = 'attention-matrix';
  section.append(intro, text, ctl, err, figure);

  const hm = heatmap(map);
  const changed = () => app.changed?.();
  const opts = controls(ctl, () => (changed(), runner.schedule()));
  opts.set(app.initial ?? {});
  let updates = 0, tokens = [], backend = '';

  const runner = latest(async () => {
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
        backend = r.backend;
        hm.draw(r.weights, tokens, tokens);
        app.status(ms);
        err.textContent = truncated ? `Only the first ${MAX_TOKENS} words are shown.` : '';
      }
      section.dataset.updates = String(++updates);
    } catch (e) {
      err.textContent = String(e?.message ?? e);
    }
  }, DEBOUNCE_MS);

  text.addEventListener('input', () => (changed(), runner.schedule()));
  app.onBackendChange(() => runner.schedule());
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
