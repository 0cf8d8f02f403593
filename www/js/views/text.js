// Text view: all-MiniLM-L6-v2 live. Type a sentence (and optionally a second one: a sentence
// pair); after a short pause pg.runText runs the real model on the active backend and the panels
// draw from the returned attention [layers, heads, n, n]:
//   text-head.js     BertViz-style head view of the chosen layer (lines per head, hover to focus)
//   text-model.js    all layers × heads thumbnails; click to open one
//   heatmap.js       the chosen layer/head (or mean of heads) as a matrix with token labels
//   text-entropy.js  per-head entropy
//   text-rollout.js  attention rollout through the chosen layer (pg.rollout)
// text-maps.js holds the shared slicing (layer/head pick, hiding [CLS]/[SEP] with renormalization).
// The page paints at once; the model downloads behind a progress bar.
import { heatmap } from './heatmap.js';
import { visible, pickMap } from './text-maps.js';
import { headView } from './text-head.js';
import { modelView } from './text-model.js';
import { entropyView } from './text-entropy.js';
import { rolloutView } from './text-rollout.js';

const DEBOUNCE_MS = 150;

// A new task right away: a message, because chained setTimeout(0)s are clamped, and in a
// background tab batched to about one a second.
const tick = new MessageChannel();
const queue = [];
tick.port1.onmessage = () => queue.shift()?.();
const soon = (fn) => {
  queue.push(fn);
  tick.port2.postMessage(0);
};

const el = (tag, props = {}, ...kids) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...kids);
  return e;
};
const panel = (title, body, note = '') =>
  el('div', { className: 'text-panel' }, el('h3', { textContent: title }), ...(note ? [el('p', { className: 'muted', textContent: note })] : []), body);

export function mount(section, app) {
  const { pg } = app;
  document.head.append(el('link', { rel: 'stylesheet', href: 'css/text.css' }));

  const intro = el('p', {
    className: 'muted',
    textContent: 'all-MiniLM-L6-v2 (6 layers × 12 heads) runs in the page as you type; every panel shows its real attention weights.',
  });
  const progress = el('progress', { id: 'text-progress' });
  const loadText = el('span', { textContent: 'loading the text model…' });
  const load = el('div', { className: 'text-load', role: 'status' }, progress, ' ', loadText);
  const input = el('textarea', { id: 'text-input', rows: 2, value: 'The cat sat on the mat because it was warm.' });
  input.setAttribute('aria-label', 'text for the model');
  const pair = el('textarea', { id: 'text-pair', rows: 1, placeholder: 'optional second sentence: makes a sentence pair ([SEP] between them)' });
  pair.setAttribute('aria-label', 'optional second sentence');
  const layerPick = el('select', { id: 'text-layer', name: 'layer' });
  const headPick = el('select', { id: 'text-head-pick', name: 'head' });
  const hide = el('input', { id: 'text-hide', type: 'checkbox', name: 'hideSpecial' });
  const controls = el('div', { className: 'controls' },
    el('label', {}, 'layer ', layerPick),
    el('label', {}, 'head ', headPick),
    el('label', { title: 'each row is renormalized to sum to 1 over the tokens that remain' }, hide, ' hide [CLS]/[SEP] (rows renormalized over the rest)'));
  const info = el('p', { id: 'text-info', className: 'muted' });
  const notice = el('p', { id: 'text-notice', className: 'warn' });
  notice.hidden = true;
  const error = el('p', { id: 'text-error', className: 'error' });

  const headRoot = el('div', { id: 'text-headview' });
  const matrixRoot = el('div', { id: 'text-matrix' });
  const modelRoot = el('div', { id: 'text-modelview' });
  const entropyRoot = el('div', { id: 'text-entropy' });
  const rolloutRoot = el('div', { id: 'text-rollout' });
  const panels = el('div', { className: 'text-panels' },
    panel('Head view', headRoot, 'Queries left, keys right; one colour per head. Hover a token to focus its lines.'),
    panel('Matrix', matrixRoot),
    panel('Model view', modelRoot, 'All layers × heads. Click a map to open it.'),
    panel('Entropy', entropyRoot),
    panel('Rollout', rolloutRoot));
  section.append(el('div', { className: 'text-view' }, intro, load, input, pair, controls, info, notice, error, panels));

  const head = headView(headRoot);
  const matrix = heatmap(matrixRoot);
  const model = modelView(modelRoot, pick);
  const entropy = entropyView(entropyRoot, pick);
  const rollout = rolloutView(rolloutRoot, pg);

  // What is on screen: the last result, its visible tokens, and the chosen layer/head.
  const state = { r: null, shown: null, layer: 0, head: 'mean' };
  let ready = false, version = 0, running = false, again = false, timer = 0, updates = 0;
  section.dataset.state = 'loading';

  function options(select, count, first, name) {
    if (select.options.length === count + (first ? 1 : 0)) return;
    const keep = select.value;
    select.replaceChildren(...(first ? [new Option(first, 'mean')] : []),
      ...Array.from({ length: count }, (_, i) => new Option(`${name} ${i + 1}`, String(i))));
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  }

  // The head view and the matrix draw at once; the panels that read all 72 maps (thumbnails,
  // entropy, rollout) follow in a later task, so a long input never holds up typing, and a newer
  // render supersedes a pending one.
  let paint = 0, modelStale = false;
  /** Redraws the panels for the chosen layer/head; `all` also the per-result ones. */
  function render(all) {
    const { r, shown } = state;
    if (!r) return;
    const v = { r, ...shown, layer: state.layer, head: state.head };
    head.draw(v);
    matrix.draw(pickMap(r, v.layer, v.head, v.keep), v.labels, v.labels);
    matrixRoot.dataset.view = `${v.layer},${v.head}`;
    modelStale ||= all;
    const mine = ++paint;
    const later = [
      () => {
        if (modelStale) model.draw(v); else model.select(v.layer, v.head);
        modelStale = false;
      },
      () => entropy.draw(v),
      () => rollout.draw(v),
      () => (section.dataset.painted = String(mine)),
    ];
    // One task each, so input events get in between them at n = 512.
    const next = () => mine === paint && later.length && (later.shift()(), soon(next));
    soon(next);
  }

  /** Opens a layer and head everywhere; `focusHeads` also shows just that head in the head view. */
  function pick(layer, headIndex, focusHeads = true) {
    state.layer = layer;
    state.head = headIndex;
    layerPick.value = String(layer);
    headPick.value = String(headIndex);
    render(false);
    if (focusHeads) head.showHeads(headIndex);
  }

  function show(r, ms) {
    state.r = r;
    options(layerPick, r.layers, null, 'layer');
    options(headPick, r.heads, 'mean of heads', 'head');
    state.layer = Math.min(state.layer, r.layers - 1);
    if (state.head !== 'mean') state.head = Math.min(state.head, r.heads - 1);
    layerPick.value = String(state.layer);
    headPick.value = String(state.head);
    state.shown = visible(r.tokens, hide.checked);
    render(true);
    app.status(ms, 'per forward');
    info.textContent = `${r.tokens.length} tokens · ${ms.toFixed(1)} ms per forward on ${pg.backend}`;
    notice.hidden = !r.truncated;
    notice.textContent = r.truncated
      ? 'The input is longer than the model’s 512 tokens: only the first 512 (with [CLS]/[SEP]) were used.'
      : '';
    section.dataset.updates = String(++updates);
  }

  // Debounced; one forward in flight at a time; a result whose input changed meanwhile is dropped
  // (the newer input is already scheduled), so only the latest request renders.
  function schedule(delay = DEBOUNCE_MS) {
    clearTimeout(timer);
    timer = setTimeout(run, delay);
  }
  async function run() {
    if (!ready) return;
    if (running) return void (again = true);
    running = true;
    const mine = version;
    try {
      const t0 = performance.now();
      const r = await pg.runText(input.value, pair.value.trim() ? pair.value : undefined);
      const ms = performance.now() - t0;
      if (mine === version) {
        show(r, ms);
        error.textContent = '';
      }
    } catch (e) {
      // Keep the previous result on screen; say what went wrong.
      if (mine === version) error.textContent = `could not run the model: ${e?.message ?? e}`;
    } finally {
      running = false;
      if (again || mine !== version) {
        again = false;
        schedule(0);
      }
    }
  }
  const edited = () => {
    version++;
    schedule();
  };
  input.addEventListener('input', edited);
  pair.addEventListener('input', edited);
  layerPick.onchange = () => pick(Number(layerPick.value), state.head, false);
  headPick.onchange = () => pick(state.layer, headPick.value === 'mean' ? 'mean' : Number(headPick.value));
  hide.onchange = () => {
    if (!state.r) return;
    state.shown = visible(state.r.tokens, hide.checked);
    render(true);
  };
  // Same text, same view, new backend: just run the forward again there.
  app.onBackendChange(() => {
    version++;
    schedule(0);
  });
  window.textView = { state, run: () => (version++, run()) }; // for the console

  loadModel();

  async function loadModel() {
    try {
      if (typeof pg.loadTextModel !== 'function') throw new Error('this build of the playground has no pg.loadTextModel');
      const res = await fetch('models/manifest.json');
      if (!res.ok) throw new Error(`models/manifest.json: HTTP ${res.status} (run make build)`);
      const manifest = await res.json();
      if (!manifest.text) throw new Error('models/manifest.json has no "text" entry (run make build)');
      await pg.loadTextModel(`models/${manifest.text}`, ({ loaded, total }) => {
        const mb = (x) => (x / 1e6).toFixed(1);
        if (total) {
          progress.max = total;
          progress.value = loaded;
        }
        loadText.textContent = `loading all-MiniLM-L6-v2… ${mb(loaded)}${total ? ` / ${mb(total)}` : ''} MB`;
      });
      load.hidden = true;
      ready = true;
      section.dataset.state = 'ready';
      await run();
    } catch (e) {
      progress.hidden = true;
      loadText.textContent = `the text model could not be loaded: ${e?.message ?? e}`;
      loadText.className = 'error';
      section.dataset.state = 'error';
    }
  }
}
