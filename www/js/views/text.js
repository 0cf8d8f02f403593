// Text view: all-MiniLM-L6-v2 live. Type a sentence (and optionally a second one: a sentence
// pair); each keystroke pg.runText runs the real model on the active backend (when no forward is
// running; else the newest input runs when it ends) and the panels
// draw from the returned attention [layers, heads, n, n]:
//   text-head.js     BertViz-style head view of the chosen layer (lines per head, hover to focus)
//   text-model.js    all layers × heads thumbnails; click to open one
//   heatmap.js       the chosen layer/head (or mean of heads) as a matrix with token labels
//   text-entropy.js  per-head entropy
//   text-rollout.js  attention rollout through the chosen layer (pg.rollout)
// text-maps.js holds the shared slicing (layer/head pick, hiding [CLS]/[SEP] with renormalization).
// The page paints at once; the model downloads behind a progress bar (engine.js loads it once).
// State (URL keys / element attributes): text, pair, layer, head (1-based, or 'mean'), hideSpecial,
// fusion, residual.
import { el, soon, latest, nextFrame, useCss } from '../util.js';
import { glossary, explain } from '../glossary.js';
import { getTextModel } from '../engine.js';
import { heatmap } from './heatmap.js';
import { visible, pickMap } from './text-maps.js';
import { headView } from './text-head.js';
import { modelView } from './text-model.js';
import { entropyView } from './text-entropy.js';
import { rolloutView } from './text-rollout.js';
import { textSteps } from './text-steps.js';
import { textQk } from './qk-text.js';
import { modelFilesBox } from './text-files.js';

const MODEL = 'all-MiniLM-L6-v2';
const SLICE_MS = 8; // the longest task the later panels take at once (well under a 16 ms frame)
const FRAME_MS = 12; // how long a result's drawing may take in its frame before the rest waits
const DEFAULT_TEXT = 'The cat sat on the mat because it was warm.';

const panel = (part, title, body, note = '') => {
  const p = el('div', { className: 'text-panel' }, el('h3', { textContent: title }), ...(note ? [explain(note)] : []), body);
  p.dataset.part = part;
  return p;
};
const part = (e, names) => ((e.dataset.part = names), e);

export async function mount(section, app) {
  const { pg } = app;
  const initial = app.initial ?? {};
  const changed = () => app.changed?.();
  useCss(app, 'text');

  const introText = (name, layers, heads) => `${name} (${layers} layers × ${heads} heads) runs in the page as you type; every panel shows its real attention weights.`;
  const intro = part(el('p', { className: 'muted', textContent: introText(MODEL, 6, 12) }), 'intro');
  let modelName = MODEL, maxTokens = 512;
  const progress = el('progress', { id: 'text-progress' });
  const loadText = el('span', { textContent: 'loading the text model…' });
  const load = el('div', { className: 'text-load', role: 'status' }, progress, ' ', loadText);
  // The part names go on the box too, so a style or a test that looks at the box sees it hidden.
  const input = part(el('textarea', { id: 'text-input', name: 'text', rows: 2, value: initial.text ?? DEFAULT_TEXT }), 'controls text');
  const inputLabel = part(el('label', { className: 'field' }, el('span', { textContent: 'Sentence' }), input), 'controls text');
  const pair = part(el('textarea', { id: 'text-pair', name: 'pair', rows: 1, value: initial.pair ?? '', placeholder: 'makes a sentence pair, [SEP] between them' }), 'controls pair');
  const pairLabel = part(el('label', { className: 'field' }, el('span', { textContent: 'Second sentence (optional)' }), pair), 'controls pair');
  const terms = glossary(['token', 'cls', 'sep', 'heads', 'layer', 'query', 'entropy', 'rollout', 'residual'], 'What do these words mean?', 'intro glossary');
  const layerPick = el('select', { id: 'text-layer', name: 'layer' });
  const headPick = el('select', { id: 'text-head-pick', name: 'head' });
  const hide = el('input', { id: 'text-hide', type: 'checkbox', name: 'hideSpecial', checked: ['1', 'true', ''].includes(initial.hideSpecial) });
  const controls = part(el('div', { className: 'controls' },
    part(el('label', {}, 'layer ', layerPick), 'controls layer'),
    part(el('label', {}, 'head ', headPick), 'controls head'),
    part(el('label', { title: 'each row is renormalized to sum to 1 over the tokens that remain' }, hide, ' hide [CLS]/[SEP] (rows renormalized over the rest)'), 'controls hideSpecial')), 'controls');
  const info = part(el('p', { id: 'text-info', className: 'muted' }), 'info');
  const notice = el('p', { id: 'text-notice', className: 'warn' });
  notice.hidden = true;
  const error = el('p', { id: 'text-error', className: 'error' });

  const headRoot = el('div', { id: 'text-headview' });
  const matrixRoot = el('div', { id: 'text-matrix' });
  const modelRoot = el('div', { id: 'text-modelview' });
  const entropyRoot = el('div', { id: 'text-entropy' });
  const rolloutRoot = el('div', { id: 'text-rollout' });
  const stepsRoot = el('div', { id: 'text-steps' });
  const qkRoot = el('div', { id: 'text-qk' });
  const panels = {
    'text-head': panel('text-head', 'Head view', headRoot, 'Each token appears twice: as a query (left) and as a key (right). A line from a query to a key is one head’s attention weight, its colour the head, its opacity the weight (faint ≈ 0, solid = 1). Try: hover or focus a token (arrow keys) to see only its lines; press a head number to hide or show that head.'),
    'text-matrix': panel('text-matrix', 'Matrix', matrixRoot, 'Row = the token that attends (query), column = the token it attends to (key); each row sums to 1. Try: pick another layer or head, or hide [CLS]/[SEP] to see where the rest of the weight goes.'),
    'text-model': panel('text-model', 'Model view', modelRoot, 'Every layer (rows) × head (columns) as a small matrix like the one above. Look for patterns: a diagonal (a token looks at itself), a stripe (everyone looks at one token). Click or press Enter on one to open it.'),
    'text-entropy': panel('text-entropy', 'Entropy', entropyRoot, 'How focused each head is: low entropy = each token looks at one other token, high = attention spread over all tokens.'),
    'text-rollout': panel('text-rollout', 'Rollout', rolloutRoot, 'An estimate of how much each input token (column) has flowed into each position (row) after the chosen layer, all layers’ attention multiplied together.'),
    'text-steps': panel('text-steps', 'Step by step', stepsRoot),
    'text-qk': panel('text-qk', 'Queries and keys', qkRoot),
  };
  const own = modelFilesBox(pg, app.models, MODEL, {
    onModel(name, info) {
      modelName = name;
      maxTokens = info.maxTokens;
      intro.textContent = introText(name, info.layers, info.heads);
      load.hidden = true;
      ready = true;
      section.dataset.state = 'ready';
      section.dataset.model = name;
      runner.edited(0);
    },
  });
  section.append(el('div', { className: 'text-view' }, intro, terms, load, own.root, inputLabel, pairLabel, controls, info, notice, error,
    el('div', { className: 'text-panels' }, ...Object.values(panels))));

  const head = headView(headRoot, changed);
  const matrix = heatmap(matrixRoot);
  const model = modelView(modelRoot, pick);
  const entropy = entropyView(entropyRoot, pick);
  const rollout = rolloutView(rolloutRoot, pg, changed);
  rollout.set(initial);
  const stepsPanel = textSteps(stepsRoot, app, () => ({ text: input.value, pair: pair.value.trim() ? pair.value : undefined }));
  const qkPanel = textQk(qkRoot, app, () => ({ text: input.value, pair: pair.value.trim() ? pair.value : undefined }), initial);
  // Shown alone (the text-qk embed view): open, since nothing else is there to open it.
  if (getComputedStyle(panels['text-matrix']).display === 'none' && getComputedStyle(panels['text-qk']).display !== 'none') qkPanel.open();
  const headList = (v) => String(v).split(',').filter((x) => /^\d+$/.test(x)).map((x) => Number(x) - 1).filter((h) => h >= 0);
  if (initial.heads !== undefined) head.setHeads(headList(initial.heads));

  // What is on screen: the last result, its visible tokens, and the chosen layer/head.
  const state = { r: null, shown: null, layer: 0, head: 'mean' };
  setLayerHead(initial);
  let ready = false, updates = 0;
  section.dataset.state = 'loading';

  function setLayerHead(s) {
    const l = Number(s.layer), h = s.head === 'mean' ? 'mean' : Number(s.head);
    if (s.layer !== undefined && Number.isInteger(l) && l >= 1) state.layer = l - 1;
    if (h === 'mean' || (Number.isInteger(h) && h >= 1)) state.head = h === 'mean' ? 'mean' : h - 1;
  }

  function options(select, count, first, name) {
    if (select.options.length === count + (first ? 1 : 0)) return;
    const keep = select.value;
    select.replaceChildren(...(first ? [new Option(first, 'mean')] : []),
      ...Array.from({ length: count }, (_, i) => new Option(`${name} ${i + 1}`, String(i))));
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  }

  // The head view and the matrix draw at once; the panels that read all 72 maps (thumbnails,
  // entropy, rollout) follow in later tasks, so a long input never holds up typing, and a newer
  // render supersedes a pending one.
  let paint = 0, modelStale = false;
  /** Redraws the panels for the chosen layer/head; `all` also the per-result ones. */
  function render(all) {
    const { r, shown } = state;
    if (!r) return;
    const begun = performance.now();
    const v = { r, ...shown, layer: state.layer, head: state.head };
    head.draw(v);
    matrix.draw(pickMap(r, v.layer, v.head, v.keep), v.labels, v.labels);
    matrixRoot.dataset.view = `${v.layer},${v.head}`;
    modelStale ||= all;
    const mine = ++paint;
    // The rollout is computed by the engine: ask now, so it runs there while this thread paints,
    // ahead of any forward a later keystroke asks for.
    rollout.draw(v);
    const layers = [...Array(r.layers).keys()];
    const later = [
      // A step per layer: at 128 tokens a whole model's thumbnails or entropies take longer than
      // a keystroke's gap on a slow machine.
      ...(modelStale ? layers.map((l) => () => {
        model.drawLayer(v, l);
        if (l === r.layers - 1) modelStale = false;
      }) : [() => model.select(v.layer, v.head)]),
      ...layers.map((l) => () => entropy.prepare(v, l)),
      () => entropy.draw(v),
      () => (section.dataset.painted = String(mine)),
    ];
    // Tasks of at most ~SLICE_MS each, so input events get in between them at n = 512. The first
    // runs now, in this frame, in what is left of its slice after the head view and the matrix: a
    // short input paints every panel in one frame, not one per panel (each frame costs the main
    // thread its style, layout, paint and commit, ~5 ms here), and a long one keeps the frame short.
    const next = (until = performance.now() + SLICE_MS) => {
      while (mine === paint && later.length && performance.now() < until) later.shift()();
      if (mine === paint && later.length) soon(next);
    };
    next(begun + FRAME_MS);
  }

  /** Opens a layer and head everywhere; `focusHeads` also shows just that head in the head view. */
  function pick(layer, headIndex, focusHeads = true) {
    state.layer = layer;
    state.head = headIndex;
    layerPick.value = String(layer);
    headPick.value = String(headIndex);
    render(false);
    if (focusHeads) head.showHeads(headIndex);
    changed();
  }

  function show(r, ms, text) {
    const first = !state.r;
    state.r = r;
    options(layerPick, r.layers, null, 'layer');
    options(headPick, r.heads, 'mean of heads', 'head');
    state.layer = Math.min(state.layer, r.layers - 1);
    if (state.head !== 'mean') state.head = Math.min(state.head, r.heads - 1);
    layerPick.value = String(state.layer);
    headPick.value = String(state.head);
    state.shown = visible(r.tokens, hide.checked);
    render(true);
    stepsPanel.sync(r.layers, r.heads, state.layer, state.head);
    stepsPanel.changed();
    qkPanel.sync(r.layers, r.heads);
    qkPanel.changed();
    if (first && state.head !== 'mean' && initial.heads === undefined) head.showHeads(state.head);
    app.status(ms, 'per forward');
    info.textContent = `${r.tokens.length} tokens · ${ms.toFixed(1)} ms per forward on ${pg.backend}`;
    notice.hidden = !r.truncated;
    notice.textContent = r.truncated
      ? `The input is longer than the model’s ${maxTokens} tokens: only the first ${maxTokens} (with [CLS]/[SEP]) were used.`
      : '';
    section.dataset.text = text; // the input this result is for (tests, benches)
    section.dataset.updates = String(++updates);
  }

  // No debounce: a keystroke starts a forward unless one is in flight (then the newest input runs
  // when it ends); a result whose input changed meanwhile is dropped, so only the latest request
  // renders, in the next frame. The next forward does not wait for that frame.
  const runner = latest(async (stale) => {
    if (!ready) return;
    try {
      const t0 = performance.now();
      const text = input.value;
      // stats: the per-head entropies come with the forward, from the engine's kernels.
      const r = await pg.runText(text, pair.value.trim() ? pair.value : undefined, { stats: true });
      const ms = performance.now() - t0;
      if (stale()) return;
      // Ask the engine for the rollout now, ahead of the next keystroke's forward: it is ready
      // (cached per result) when the panels draw in the next frame.
      rollout.prefetch(r, Math.min(state.layer, r.layers - 1));
      nextFrame().then(() => {
        if (stale()) return;
        show(r, ms, text);
        error.textContent = '';
      }).catch((e) => (error.textContent = `could not show the result: ${e?.message ?? e}`));
    } catch (e) {
      // Keep the previous result on screen; say what went wrong.
      if (!stale()) error.textContent = `could not run the model: ${e?.message ?? e}`;
    }
  });
  const edited = () => (changed(), runner.edited());
  input.addEventListener('input', edited);
  pair.addEventListener('input', edited);
  layerPick.onchange = () => pick(Number(layerPick.value), state.head, false);
  headPick.onchange = () => pick(state.layer, headPick.value === 'mean' ? 'mean' : Number(headPick.value));
  const rehide = () => {
    if (!state.r) return;
    state.shown = visible(state.r.tokens, hide.checked);
    render(true);
  };
  hide.onchange = () => (rehide(), changed());
  // Same text, same view, new backend: just run the forward again there.
  app.onBackendChange(() => runner.edited(0));
  window.textView = { state, model, run: () => runner.edited(0), qk: qkPanel }; // for the console (and tests)

  const loaded = loadModel();
  // The numbers behind every panel, for export: tokens, the weights shown, the layer/head.
  const about = () => ({
    model: modelName,
    backend: pg.backend,
    tokens: state.shown?.labels ?? [],
    layer: state.layer + 1,
    head: state.head === 'mean' ? 'mean' : state.head + 1,
    hideSpecial: hide.checked,
  });
  const exporters = {
    'text-head': { png: head.png, svg: head.svg, json: () => ({ view: 'text-head', ...about(), ...head.json() }) },
    'text-matrix': { png: matrix.png, svg: matrix.svg, json: () => ({ view: 'text-matrix', ...about(), ...matrix.json() }) },
    'text-model': { png: model.png, svg: model.svg, json: () => ({ view: 'text-model', ...about(), ...model.json() }) },
    'text-entropy': { png: entropy.png, svg: entropy.svg, json: () => ({ view: 'text-entropy', ...about(), ...entropy.json() }) },
    'text-rollout': { png: rollout.png, svg: rollout.svg, json: () => ({ view: 'text-rollout', ...about(), ...rollout.json() }) },
    'text-qk': { ...qkPanel.exporter, json: () => ({ model: MODEL, backend: pg.backend, ...qkPanel.exporter.json() }) },
  };

  async function loadModel() {
    try {
      await getTextModel(pg, app.models, ({ loaded, total }) => {
        const mb = (x) => (x / 1e6).toFixed(1);
        if (total) {
          progress.max = total;
          progress.value = loaded;
        }
        loadText.textContent = `loading ${MODEL}… ${mb(loaded)}${total ? ` / ${mb(total)}` : ''} MB`;
      });
      load.hidden = true;
      ready = true;
      section.dataset.state = 'ready';
      await runner.go();
    } catch (e) {
      progress.hidden = true;
      loadText.textContent = `the text model could not be loaded: ${e?.message ?? e}`;
      loadText.className = 'error';
      section.dataset.state = 'error';
    }
  }

  return {
    panels,
    exporters,
    main: 'text-matrix',
    loaded,
    state: () => ({
      text: input.value,
      pair: pair.value,
      layer: String(state.layer + 1),
      head: state.head === 'mean' ? 'mean' : String(state.head + 1),
      hideSpecial: hide.checked ? '1' : '0',
      heads: head.heads().map((h) => h + 1).join(','),
      ...rollout.state(),
      ...qkPanel.state(),
    }),
    set(s) {
      let rerun = false;
      if (s.text !== undefined && s.text !== input.value) (input.value = s.text), (rerun = true);
      if (s.pair !== undefined && s.pair !== pair.value) (pair.value = s.pair), (rerun = true);
      const before = `${state.layer}/${state.head}`;
      setLayerHead(s);
      const hs = s.hideSpecial === undefined ? hide.checked : ['1', 'true', ''].includes(s.hideSpecial);
      if (hs !== hide.checked) (hide.checked = hs), rehide();
      rollout.set(s);
      qkPanel.set(s);
      if (rerun) runner.edited(0);
      else if (before !== `${state.layer}/${state.head}` && state.r) pick(Math.min(state.layer, state.r.layers - 1), state.head === 'mean' ? 'mean' : Math.min(state.head, state.r.heads - 1));
      if (s.heads !== undefined) head.setHeads(headList(s.heads));
    },
  };
}
