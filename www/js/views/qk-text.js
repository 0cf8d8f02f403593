// The Text tab's "queries and keys as points" panel: one layer and head of the real model, every
// token's query and key (pg.runText(…, { capture }) → capture.q, k) projected together by
// pg.project (PCA, computed in the engine on the active backend) and drawn by qk-plot.js. Two
// inputs: this sentence, or a set of sentences (a built-in one, or the reader's own, one per
// line) run one by one through the same head and projected together, so tokens the head treats
// alike cluster across inputs. Like the step-by-step panel it runs its own forwards only while
// open, so typing never waits for it.
// State: qk ('1' open), qkLayer, qkHead (1-based), qkMode ('sentence' | 'set' | 'own'),
// qkSentences (the own list, one per line), qkToken (the focused token, 0-based; −1 none).
import { el, latest, useCss } from '../util.js';
import { qkPlot } from './qk-plot.js';

/** Sentences whose tokens repeat roles (subjects, objects, pronouns, punctuation) across inputs. */
export const BUILT_IN = [
  'The cat sat on the mat because it was warm.',
  'She gave him the book, and he read it twice.',
  'Paris is the capital of France; Rome is the capital of Italy.',
  'The keys to the old cabinet are on the kitchen table.',
  'When the rain stopped, the children ran outside to play.',
  'I think the man who lives next door is a painter.',
  'Whisk two eggs, then add the sugar and the flour.',
  'Why did the chicken cross the road?',
];
const MAX_OWN = 24; // sentences of the reader's list run at most (each is a forward)

export function textQk(root, app, input, initial = {}) {
  const { pg } = app;
  useCss(app, 'qk');
  const changed = () => app.changed?.();
  const layerPick = el('select', { id: 'qk-layer', name: 'qkLayer' });
  const headPick = el('select', { id: 'qk-head', name: 'qkHead' });
  const modePick = el('select', { id: 'qk-mode', name: 'qkMode' },
    new Option('this sentence', 'sentence'), new Option('the built-in sentences', 'set'), new Option('my sentences', 'own'));
  const own = el('textarea', { id: 'qk-sentences', name: 'qkSentences', rows: 4, value: initial.qkSentences ?? '', placeholder: 'one sentence per line' });
  const ownLabel = el('label', { className: 'field qk-own' }, el('span', { textContent: 'My sentences (one per line)' }), own);
  const status = el('p', { className: 'muted', role: 'status' });
  const plotRoot = el('div', { id: 'qk-plot', className: 'qk-plot' });
  const details = el('details', { className: 'qk-details' },
    el('summary', { textContent: 'Queries and keys as points' }),
    el('p', { className: 'muted', textContent: 'One head’s query and key vectors of every token, projected together onto their two main directions (PCA). A query lands near the keys it scores highly with. Circles are queries, squares keys; hover or focus a token (arrow keys) to draw lines to the keys it attends to most. Run a set of sentences to see which tokens this head treats alike.' }),
    el('div', { className: 'controls' }, el('label', {}, 'layer ', layerPick), el('label', {}, 'head ', headPick), el('label', {}, 'inputs ', modePick)),
    ownLabel, status, plotRoot);
  root.replaceChildren(details);
  const plot = qkPlot(plotRoot, { id: 'qk', onFocus: (t) => ((wanted.token = t), changed()) });
  const wanted = { layer: 0, head: 0, token: -1 }; // from the state, until the pickers exist
  let ran = '', timings = null;

  const index = (v, fallback) => (Number.isInteger(Number(v)) && Number(v) >= 1 ? Number(v) - 1 : fallback);
  function apply(s) {
    if (s.qkLayer !== undefined) wanted.layer = index(s.qkLayer, wanted.layer);
    if (s.qkHead !== undefined) wanted.head = index(s.qkHead, wanted.head);
    if (s.qkToken !== undefined && Number.isInteger(Number(s.qkToken))) wanted.token = Number(s.qkToken);
    if (['sentence', 'set', 'own'].includes(s.qkMode)) modePick.value = s.qkMode;
    if (s.qkSentences !== undefined) own.value = s.qkSentences;
    if (layerPick.options.length) layerPick.value = String(Math.min(wanted.layer, layerPick.options.length - 1));
    if (headPick.options.length) headPick.value = String(Math.min(wanted.head, headPick.options.length - 1));
    ownLabel.hidden = modePick.value !== 'own';
    if (s.qk !== undefined) details.open = ['1', 'true', ''].includes(s.qk);
  }
  apply(initial);

  function fill(select, count, label) {
    select.replaceChildren(...Array.from({ length: count }, (_, i) => new Option(`${label} ${i + 1}`, String(i))));
  }

  /** The inputs to run: [text, pair] pairs. */
  function inputs() {
    if (modePick.value === 'set') return BUILT_IN.map((t) => [t, undefined]);
    if (modePick.value === 'own') {
      const lines = own.value.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, MAX_OWN);
      return lines.length ? lines.map((t) => [t, undefined]) : [['', undefined]];
    }
    const { text, pair } = input();
    return [[text, pair]];
  }

  const runner = latest(async (stale) => {
    if (!details.open || !layerPick.options.length) return;
    const capture = { layer: Number(layerPick.value), head: Number(headPick.value) };
    const list = inputs();
    const want = JSON.stringify([list, capture]);
    if (want === ran) return;
    status.textContent = `running ${list.length > 1 ? `${list.length} sentences` : 'the model'}…`;
    try {
      const t0 = performance.now();
      const results = [];
      for (const [text, pair] of list) {
        results.push(await pg.runText(text, pair, { capture }));
        if (stale()) return;
      }
      const forwardMs = performance.now() - t0;
      const d = results[0].capture.q.length / results[0].tokens.length;
      const T = results.reduce((s, r) => s + r.tokens.length, 0);
      // [q of every token; k of every token], so rows t and T + t are token t's query and key.
      const points = new Float32Array(2 * T * d);
      const tokens = [], group = [], starts = [];
      let at = 0;
      results.forEach((r, g) => {
        points.set(r.capture.q, at * d);
        points.set(r.capture.k, (T + at) * d);
        starts.push(at);
        for (const t of r.tokens) tokens.push(t), group.push(g);
        at += r.tokens.length;
      });
      const t1 = performance.now();
      const p = await pg.project(points, 2 * T, d, { method: 'pca' });
      const projectMs = performance.now() - t1;
      if (stale()) return;
      const row = (t) => {
        const g = group[t], r = results[g], n = r.tokens.length, i = t - starts[g];
        const base = ((capture.layer * r.heads + capture.head) * n + i) * n;
        return r.attention.subarray(base, base + n);
      };
      const drawMs = plot.draw({
        coords: p.coords, tokens, group, groups: list.map(([t]) => t), row, keyStart: (t) => starts[group[t]],
        explained: p.explained, focus: wanted.token < T ? wanted.token : -1,
      });
      ran = want;
      timings = { tokens: T, forwardMs, projectMs, drawMs, backend: p.backend };
      Object.assign(root.dataset, { tokens: String(T), projectMs: projectMs.toFixed(2), drawMs: drawMs.toFixed(2), view: `${capture.layer},${capture.head},${modePick.value}` });
      status.textContent = `layer ${capture.layer + 1}, head ${capture.head + 1}: ${T} tokens${list.length > 1 ? ` from ${list.length} sentences` : ''}, head size ${d} · PCA ${projectMs.toFixed(1)} ms on ${p.backend}, drawn in ${drawMs.toFixed(1)} ms`;
      root.dataset.updates = String(Number(root.dataset.updates ?? 0) + 1);
    } catch (e) {
      if (!stale()) status.textContent = `could not project: ${e?.message ?? e}`;
    }
  });
  const rerun = () => (runner.edited(0), changed());
  details.addEventListener('toggle', () => (details.open && runner.edited(0), changed()));
  layerPick.onchange = () => ((wanted.layer = Number(layerPick.value)), rerun());
  headPick.onchange = () => ((wanted.head = Number(headPick.value)), rerun());
  modePick.onchange = () => ((ownLabel.hidden = modePick.value !== 'own'), (wanted.token = -1), rerun());
  own.addEventListener('input', () => modePick.value === 'own' && rerun());

  return {
    /** The model's shape, once a result is there (the main view's layer/head is the default). */
    sync(layers, heads) {
      if (layerPick.options.length === layers && headPick.options.length === heads) return;
      fill(layerPick, layers, 'layer');
      layerPick.value = String(Math.min(wanted.layer, layers - 1));
      fill(headPick, heads, 'head');
      headPick.value = String(Math.min(wanted.head, heads - 1));
      runner.edited(0);
    },
    /** The text changed: rerun if open and showing this sentence. */
    changed: () => details.open && modePick.value === 'sentence' && runner.edited(0),
    /** Opens the panel (the embed view shows it alone). */
    open() {
      details.open = true;
    },
    // Only while open, so a closed panel adds nothing to every Text link.
    state: () => (!details.open ? {} : {
      qk: '1',
      qkLayer: String((layerPick.options.length ? Number(layerPick.value) : wanted.layer) + 1),
      qkHead: String((headPick.options.length ? Number(headPick.value) : wanted.head) + 1),
      qkMode: modePick.value,
      ...(modePick.value === 'own' ? { qkSentences: own.value } : {}),
      qkToken: String(plot.focused >= 0 ? plot.focused : wanted.token),
    }),
    set(s) {
      const inputs = () => JSON.stringify([wanted.layer, wanted.head, modePick.value, own.value, details.open]);
      const before = inputs();
      apply(s);
      if (s.qkToken !== undefined && ran) plot.focus(wanted.token);
      if (before !== inputs()) runner.edited(0);
    },
    timings: () => timings,
    exporter: {
      png: plot.png,
      svg: plot.svg,
      json: () => ({ view: 'text-qk', layer: Number(layerPick.value) + 1, head: Number(headPick.value) + 1, mode: modePick.value, ...plot.json(), timings }),
    },
  };
}
