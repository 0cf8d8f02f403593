// The first view: type a sentence; every word becomes a token with a deterministic embedding, and
// single-head self-attention over them is recomputed live on the active backend.
import { tokenize, embed } from '../embedding.js';
import { controls } from './controls.js';
import { heatmap } from './heatmap.js';

const DIM = 32;
const MAX_TOKENS = 256;
const DEBOUNCE_MS = 60;

export function mount(section, app) {
  const intro = document.createElement('p');
  intro.className = 'muted';
  intro.textContent = 'Each word gets a fixed pseudo-random embedding (a seeded hash, no model yet); the map shows how much each word (row) attends to every word (column).';
  const text = document.createElement('textarea');
  text.id = 'text';
  text.rows = 2;
  text.value = 'The cat sat on the mat because it was warm.';
  text.setAttribute('aria-label', 'text to attend over');
  const ctl = document.createElement('div');
  const err = document.createElement('div');
  err.className = 'error';
  const map = document.createElement('div');
  map.id = 'heatmap';
  section.append(intro, text, ctl, err, map);

  const hm = heatmap(map);
  const opts = controls(ctl, schedule);
  let running = false, pending = false, timer = 0, updates = 0;

  // Debounced, and never more than one computation in flight: the latest input wins.
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(run, DEBOUNCE_MS);
  }
  async function run() {
    if (running) return void (pending = true);
    running = true;
    try {
      let tokens = tokenize(text.value);
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
        hm.draw(r.weights, tokens, tokens);
        app.status(ms);
        err.textContent = truncated ? `Only the first ${MAX_TOKENS} words are shown.` : '';
      }
      section.dataset.updates = String(++updates);
    } catch (e) {
      err.textContent = String(e?.message ?? e);
    } finally {
      running = false;
      if (pending) {
        pending = false;
        schedule();
      }
    }
  }

  text.addEventListener('input', schedule);
  app.onBackendChange(schedule);
  return run();
}
