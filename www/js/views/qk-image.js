// The Image tab's "queries and keys as points" panel: one layer and head of DINOv2, the query and
// key of every token (the class token and each patch; pg.runImage(…, { capture }) → capture.q, k)
// projected together by pg.project and drawn by qk-plot.js, beside the image with the focused
// patch outlined (solid) and its strongest keys' patches (dashed). Hover or focus a point, or
// hover the image, to pick a patch. It runs its own forward only while open.
// State: qk ('1' open), qkLayer, qkHead (1-based), qkToken (0 = the class token).
import { el, latest, useCss } from '../util.js';
import { qkPlot } from './qk-plot.js';

const SIDE = 224; // the image canvas, as the model saw it (longer side)

export function imageQk(app, initial = {}) {
  const { pg } = app;
  useCss(app, 'qk');
  const changed = () => app.changed?.();
  const layerPick = el('select', { id: 'image-qk-layer', name: 'qkLayer' });
  const headPick = el('select', { id: 'image-qk-head', name: 'qkHead' });
  const status = el('p', { className: 'muted', role: 'status' });
  const plotRoot = el('div', { id: 'image-qk-plot', className: 'qk-plot' });
  const patch = el('canvas', { id: 'image-qk-patch', className: 'image-qk-patch', width: SIDE, height: SIDE, tabIndex: 0 });
  patch.setAttribute('role', 'application');
  patch.setAttribute('aria-label', 'the image with the focused patch outlined; arrow keys move to the next patch');
  const patchSay = el('p', { className: 'qk-readout', role: 'status', textContent: 'The image appears here once the model has run.' });
  patchSay.setAttribute('aria-live', 'polite');
  const details = el('details', { className: 'qk-details' },
    el('summary', { textContent: 'Queries and keys as points' }),
    el('p', { className: 'muted', textContent: 'One head’s query and key vectors of every patch (and the class token), projected together onto their two main directions (PCA). Circles are queries, squares keys. Hover or focus a point (arrow keys), or hover the image, to see that patch outlined and the patches it attends to most (dashed).' }),
    el('div', { className: 'controls' }, el('label', {}, 'layer ', layerPick), el('label', {}, 'head ', headPick)),
    status, el('div', { className: 'image-qk-row' }, plotRoot, el('div', {}, patch, patchSay)));
  const root = el('div', { id: 'image-qk', className: 'image-qk' }, details);
  root.dataset.part = 'image-qk';
  const plot = qkPlot(plotRoot, { id: 'image-qk', onFocus: (t) => ((wanted.token = t), drawPatch(), changed()) });
  const wanted = { layer: 0, head: 0, token: 0 };
  let source = null, shown = null, ran = null, timings = null;

  const index = (v, fallback) => (Number.isInteger(Number(v)) && Number(v) >= 1 ? Number(v) - 1 : fallback);
  function apply(s) {
    if (s.qkLayer !== undefined) wanted.layer = index(s.qkLayer, wanted.layer);
    if (s.qkHead !== undefined) wanted.head = index(s.qkHead, wanted.head);
    if (s.qkToken !== undefined && Number.isInteger(Number(s.qkToken))) wanted.token = Number(s.qkToken);
    if (layerPick.options.length) layerPick.value = String(Math.min(wanted.layer, layerPick.options.length - 1));
    if (headPick.options.length) headPick.value = String(Math.min(wanted.head, headPick.options.length - 1));
    if (s.qk !== undefined) details.open = ['1', 'true', ''].includes(s.qk);
  }
  apply(initial);

  const fill = (select, count, label, keep) => {
    select.replaceChildren(...Array.from({ length: count }, (_, i) => new Option(`${label} ${i + 1}`, String(i))));
    select.value = String(Math.min(keep, count - 1));
  };

  // Token order: the class token, the patches row by row, then any registers (a model loaded
  // from files may have them; they come last in every result).
  const patchOf = (r, t) => (t >= 1 && t <= r.gridW * r.gridH ? t - 1 : -1);
  const tokenOf = (i) => 1 + i;
  const patchName = (r, i) => `patch ${Math.floor(i / r.gridW) + 1},${(i % r.gridW) + 1}`;

  /** The tokens' names: [CLS], the patches row by row, then [REG n]. */
  function names(r) {
    const patches = r.gridW * r.gridH;
    return Array.from({ length: r.tokens }, (_, t) => (t === 0 ? '[CLS]' : t <= patches ? patchName(r, t - 1) : `[REG ${t - patches}]`));
  }

  /** The image as the model saw it, the focused patch solid, its strongest keys dashed. */
  function drawPatch() {
    const ctx = patch.getContext('2d');
    if (!shown) return ctx.clearRect(0, 0, patch.width, patch.height);
    const { r, bitmap, crop } = shown;
    const k = SIDE / Math.max(r.width, r.height);
    patch.width = Math.round(r.width * k);
    patch.height = Math.round(r.height * k);
    ctx.drawImage(bitmap, crop.sx, crop.sy, crop.sw, crop.sh, 0, 0, patch.width, patch.height);
    const cell = patch.width / r.gridW;
    const outline = (t, dashed, width) => {
      const i = patchOf(r, t);
      if (i < 0) return; // the class token and registers have no patch
      const x = (i % r.gridW) * cell, y = Math.floor(i / r.gridW) * cell;
      ctx.setLineDash(dashed ? [4, 3] : []);
      ctx.lineWidth = width;
      ctx.strokeStyle = '#fff';
      ctx.strokeRect(x + 0.5, y + 0.5, cell - 1, cell - 1);
      ctx.strokeStyle = '#1d1d1f';
      ctx.strokeRect(x + 1.5, y + 1.5, cell - 3, cell - 3);
    };
    const f = plot.focused;
    patchSay.textContent = f < 0 ? '' : patchOf(r, f) < 0 ? `${plot.json().tokens[f]}: no patch of its own` : `${patchName(r, patchOf(r, f))} (token ${f})`;
    if (f < 0) return;
    for (const s of plot.json().strongest.slice(0, 4)) outline(s.key, true, 1.5);
    outline(f, false, 2.5);
    root.dataset.patch = String(f);
  }
  patch.addEventListener('pointermove', (e) => {
    if (!shown) return;
    const { r } = shown, b = patch.getBoundingClientRect();
    const px = Math.floor(((e.clientX - b.left) / b.width) * r.gridW), py = Math.floor(((e.clientY - b.top) / b.height) * r.gridH);
    if (px < 0 || py < 0 || px >= r.gridW || py >= r.gridH) return;
    pickPatch(tokenOf(py * r.gridW + px));
  });

  const pickPatch = (t) => {
    if (t !== plot.focused) (wanted.token = t), plot.focus(t), drawPatch(), changed();
  };
  patch.addEventListener('keydown', (e) => {
    if (!shown) return;
    const { r } = shown, i = Math.max(0, patchOf(r, plot.focused)), x = i % r.gridW, y = Math.floor(i / r.gridW);
    const to = { ArrowRight: [x + 1, y], ArrowLeft: [x - 1, y], ArrowDown: [x, y + 1], ArrowUp: [x, y - 1] }[e.key];
    if (e.key === 'Escape') return pickPatch(0);
    if (!to) return;
    e.preventDefault();
    if (patchOf(r, plot.focused) < 0) return pickPatch(tokenOf(0)); // from [CLS] or a register to the first patch
    const [nx, ny] = [Math.max(0, Math.min(r.gridW - 1, to[0])), Math.max(0, Math.min(r.gridH - 1, to[1]))];
    pickPatch(tokenOf(ny * r.gridW + nx));
  });

  const runner = latest(async (stale) => {
    if (!details.open || !source?.result) return;
    const { result: r0, bitmap, crop } = source;
    if (layerPick.options.length !== r0.layers) fill(layerPick, r0.layers, 'layer', wanted.layer);
    if (headPick.options.length !== r0.heads) fill(headPick, r0.heads, 'head', wanted.head);
    const capture = { layer: Number(layerPick.value), head: Number(headPick.value) };
    if (ran && ran.bitmap === bitmap && ran.layer === capture.layer && ran.head === capture.head) return;
    status.textContent = 'running the model…';
    try {
      const c = el('canvas', { width: bitmap.width, height: bitmap.height });
      const ctx = c.getContext('2d', { willReadFrequently: true });
      ctx.drawImage(bitmap, 0, 0);
      const pixels = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
      const r = await pg.runImage(pixels.data, bitmap.width, bitmap.height, { capture });
      if (stale()) return;
      if (!r.capture) throw new Error('this build of the playground cannot capture q, k, v of an image');
      const T = r.tokens, d = r.capture.q.length / T;
      const points = new Float32Array(2 * T * d);
      points.set(r.capture.q);
      points.set(r.capture.k, T * d);
      const t1 = performance.now();
      const p = await pg.project(points, 2 * T, d, { method: 'pca' });
      const projectMs = performance.now() - t1;
      if (stale()) return;
      shown = { r, bitmap, crop };
      const base = (capture.layer * r.heads + capture.head) * T * T;
      const drawMs = plot.draw({
        coords: p.coords, tokens: names(r), group: null, groups: ['image'], keyStart: () => 0,
        row: (t) => r.attention.subarray(base + t * T, base + (t + 1) * T),
        explained: p.explained, focus: wanted.token < T ? wanted.token : 0,
      });
      drawPatch();
      ran = { bitmap, ...capture };
      timings = { tokens: T, projectMs, drawMs, backend: p.backend };
      Object.assign(root.dataset, { tokens: String(T), projectMs: projectMs.toFixed(2), drawMs: drawMs.toFixed(2), view: `${capture.layer},${capture.head}` });
      status.textContent = `layer ${capture.layer + 1}, head ${capture.head + 1}: ${T} tokens (${r.gridW} × ${r.gridH} patches + the class token${r.registers ? ` + ${r.registers} registers` : ''}), head size ${d} · PCA ${projectMs.toFixed(1)} ms on ${p.backend}, drawn in ${drawMs.toFixed(1)} ms`;
      root.dataset.updates = String(Number(root.dataset.updates ?? 0) + 1);
    } catch (e) {
      if (!stale()) status.textContent = `could not project: ${e?.message ?? e}`;
    }
  });
  details.addEventListener('toggle', () => (details.open && runner.edited(0), changed()));
  layerPick.onchange = () => ((wanted.layer = Number(layerPick.value)), runner.edited(0), changed());
  headPick.onchange = () => ((wanted.head = Number(headPick.value)), runner.edited(0), changed());

  return {
    root,
    /** A new image result (image.js state: result, bitmap, crop): rerun if open. */
    draw(state) {
      source = { result: state.result, bitmap: state.bitmap, crop: state.crop };
      runner.edited(0);
    },
    open() {
      details.open = true;
    },
    state: () => (!details.open ? {} : {
      qk: '1',
      qkLayer: String(wanted.layer + 1),
      qkHead: String(wanted.head + 1),
      qkToken: String(plot.focused >= 0 ? plot.focused : wanted.token),
    }),
    set(s) {
      const before = JSON.stringify([wanted.layer, wanted.head, details.open]);
      apply(s);
      if (s.qkToken !== undefined && ran) plot.focus(wanted.token), drawPatch();
      if (before !== JSON.stringify([wanted.layer, wanted.head, details.open])) runner.edited(0);
    },
    exporter: {
      png: plot.png,
      svg: plot.svg,
      json: () => ({ view: 'image-qk', layer: wanted.layer + 1, head: wanted.head + 1, ...plot.json(), timings }),
    },
  };
}
