// The image with one attention map over it, and the saliency decoder's output beside it.
// Controls: layer, head (or the mean over heads), attention or rollout (head fusion mean / max /
// min; residual-aware), opacity, colour map. Click a patch to make it the query; the class token
// is the default query.
// State: layer, head (1-based, or 'mean'), source, fusion, opacity, colormap, query (0 = class token).
import { COLORMAPS, drawMap, markPatch, patchRow, mapSVG } from './image-draw.js';
import { el, picker, rolloutOf } from '../util.js';
import { svgWriter, canvasPNG } from '../export.js';
import { cellNav, readout } from '../a11y.js';
import { colourBar, evenTicks } from './colour-bar.js';
import { colour } from '../util.js';

const DISPLAY = 448;
const SAL_CAPTION = 'saliency decoder output (where the model’s task looks)';
const BUILT_IN = 'DINOv2 ViT-S/14'; // longer side of the drawn image, in CSS pixels

const select = (options, value, name) => picker(name, options, value);

export function overlayPanel(app, { onQuery, onChange = () => {} }) {
  const { pg } = app;
  let state = null;
  let query = 0;
  let shown = null; // what redraw drew last, for export
  const layer = select([], 0, 'layer');
  const head = select([], -1, 'head');
  const source = select([['attention', 'attention'], ['rollout', 'rollout (residual-aware)']], 'attention', 'source');
  const fusion = select([['mean', 'mean'], ['max', 'max'], ['min', 'min']], 'mean', 'fusion');
  const opacity = el('input', { type: 'range', min: 0, max: 1, step: 0.05, value: 0.6, name: 'opacity' });
  const colormap = select(COLORMAPS.map((c) => [c, c]), 'viridis', 'colormap');
  const queryLabel = el('span', { className: 'image-query' });
  const reset = el('button', { type: 'button', textContent: 'query: class token' });
  const note = el('p', { className: 'image-note' });
  const canvas = el('canvas', { className: 'image-overlay', title: 'click a patch to make it the query' });
  const saliency = el('canvas', { className: 'image-saliency' });
  const salCaption = el('figcaption', { textContent: SAL_CAPTION });
  const attCaption = el('figcaption');
  const label = (text, input, key) => {
    const l = el('label', {}, `${text} `, input);
    l.dataset.part = `controls ${key}`;
    return l;
  };
  const controls = el('div', { className: 'image-controls' },
    label('layer', layer, 'layer'), label('head', head, 'head'), label('show', source, 'source'), label('head fusion', fusion, 'fusion'),
    label('opacity', opacity, 'opacity'), label('colours', colormap, 'colormap'), reset, queryLabel);
  controls.dataset.part = 'controls';
  const cursor = el('div', { className: 'image-cursor', hidden: true });
  const out = readout();
  const attBar = colourBar(), salBar = colourBar();
  salBar.set({ colourAt: (t) => colour(colormap.value, t), ticks: evenTicks(0, 1), label: 'saliency' });
  const attFigure = el('figure', {}, el('div', { className: 'image-overlay-box' }, canvas, cursor), out, attBar.root, attCaption);
  const salCursor = el('div', { className: 'image-cursor', hidden: true });
  const salOut = readout();
  const salFigure = el('figure', {}, el('div', { className: 'image-overlay-box' }, saliency, salCursor), salOut, salBar.root, salCaption);
  /** Mean saliency over patch (c, r) of the grid (the decoder's output is per pixel). */
  const salMean = (r, c) => {
    const { width: w, height: h, gridW, gridH, saliency: sal } = state.result;
    const x0 = Math.floor((c * w) / gridW), x1 = Math.floor(((c + 1) * w) / gridW), y0 = Math.floor((r * h) / gridH), y1 = Math.floor(((r + 1) * h) / gridH);
    let s = 0;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) s += sal[y * w + x];
    return s / Math.max(1, (x1 - x0) * (y1 - y0));
  };
  const salNav = cellNav(saliency, {
    label: 'saliency per image patch',
    size: () => (state?.result?.saliency ? [state.result.gridH, state.result.gridW] : [0, 0]),
    describe: (r, c) => `patch (${c + 1}, ${r + 1}): mean saliency ${salMean(r, c).toFixed(3)}`,
    out: salOut,
    onMove(cell) {
      salCursor.hidden = !cell || !state?.result;
      if (salCursor.hidden) return;
      const { gridW, gridH } = state.result;
      Object.assign(salCursor.style, { left: `${(100 * cell.c) / gridW}%`, top: `${(100 * cell.r) / gridH}%`, width: `${100 / gridW}%`, height: `${100 / gridH}%` });
    },
  });
  saliency.onmousemove = (e) => {
    const r = state?.result;
    if (r?.saliency) salNav.show(Math.floor(e.offsetY / saliency.clientHeight * r.gridH), Math.floor(e.offsetX / saliency.clientWidth * r.gridW));
  };
  const patchName = (p) => (p === 0 ? 'class token' : `patch (${(p - 1) % state.result.gridW + 1}, ${Math.floor((p - 1) / state.result.gridW) + 1})`);
  const nav = cellNav(canvas, {
    label: 'attention over the image patches',
    size: () => (state?.result ? [state.result.gridH, state.result.gridW] : [0, 0]),
    describe: (r, c) => `${patchName(query)} → ${patchName(1 + r * state.result.gridW + c)}: ${shown?.map ? shown.map[r * state.result.gridW + c].toFixed(4) : 'no map'}`,
    out,
    onMove(cell) {
      cursor.hidden = !cell || !state?.result;
      if (cursor.hidden) return;
      const { gridW, gridH } = state.result;
      Object.assign(cursor.style, { left: `${(100 * cell.c) / gridW}%`, top: `${(100 * cell.r) / gridH}%`, width: `${100 / gridW}%`, height: `${100 / gridH}%` });
    },
    onPick(r, c) {
      query = 1 + r * state.result.gridW + c;
      redraw();
      onQuery(query);
      onChange();
    },
  });
  attFigure.dataset.part = 'image-overlay';
  salFigure.dataset.part = 'image-saliency';
  const root = el('div', { className: 'image-main' }, controls, el('div', { className: 'image-panels' }, attFigure, salFigure), note);

  let pending = { layer: null, head: null };

  function fill(r) {
    // Keep the chosen layer across images; the last layer at first.
    const keepLayer = layer.value === '' ? r.layers - 1 : Math.min(Number(layer.value), r.layers - 1);
    layer.replaceChildren(...[...Array(r.layers).keys()].map((l) => el('option', { value: String(l), textContent: String(l + 1) })));
    layer.value = String(keepLayer);
    const keepHead = head.value;
    head.replaceChildren(el('option', { value: '-1', textContent: 'mean of heads' }),
      ...[...Array(r.heads).keys()].map((h) => el('option', { value: String(h), textContent: String(h + 1) })));
    head.value = keepHead === '' ? '-1' : keepHead;
    if (pending.layer !== null && pending.layer < r.layers) layer.value = String(pending.layer);
    if (pending.head !== null && pending.head < r.heads) head.value = String(pending.head);
    pending = { layer: null, head: null };
  }

  /** Row `query` of the rollout up to `layer` (tokens), or null when unavailable. */
  async function rolloutRow(r, l) {
    if (typeof pg.rollout !== 'function') return null;
    const t = r.tokens, m = await rolloutOf(pg, r, l, { residual: true, headFusion: fusion.value });
    return m.subarray(query * t + 1, query * t + 1 + r.gridW * r.gridH);
  }

  async function redraw() {
    if (!state?.result) return;
    const r = state.result;
    const l = Number(layer.value), h = Number(head.value);
    const scale = DISPLAY / Math.max(r.width, r.height);
    canvas.width = Math.round(r.width * scale);
    canvas.height = Math.round(r.height * scale);
    const ctx = canvas.getContext('2d');
    const { sx, sy, sw, sh } = state.crop;
    ctx.drawImage(state.bitmap, sx, sy, sw, sh, 0, 0, canvas.width, canvas.height);
    let map = null;
    note.textContent = '';
    if (source.value === 'rollout') {
      map = await rolloutRow(r, l).catch((e) => { note.textContent = `rollout failed: ${e?.message ?? e}`; return null; });
      if (!map && !note.textContent) note.textContent = 'rollout needs Playground.rollout, which this build lacks';
    } else {
      map = patchRow(r, l, h, query);
    }
    const who = query === 0 ? 'class token' : `patch (${(query - 1) % r.gridW + 1}, ${Math.floor((query - 1) / r.gridW) + 1})`;
    attCaption.textContent = source.value === 'rollout'
      ? `rollout through layer ${l + 1} (${fusion.value} over heads), query: ${who}`
      : `layer ${l + 1}, ${h < 0 ? 'mean of heads' : `head ${h + 1}`}, query: ${who}`;
    if (map) {
      drawMap(canvas, map, r.gridW, r.gridH, { colormap: colormap.value, alpha: Number(opacity.value) });
      let lo = Infinity, hi = -Infinity;
      for (const x of map) (lo = Math.min(lo, x)), (hi = Math.max(hi, x));
      attBar.set({ colourAt: (t) => colour(colormap.value, t), ticks: [0, 0.5, 1].map((t) => [t, String(Number((lo + t * (hi - lo)).toPrecision(2)))]), label: 'attention weight (this map’s lowest to highest)' });
    }
    salBar.set({ colourAt: (t) => colour(colormap.value, t), ticks: evenTicks(0, 1), label: 'saliency' });
    shown = { map, layer: l, head: h, query, source: source.value, fusion: fusion.value, colormap: colormap.value, alpha: Number(opacity.value) };
    if (query > 0) markPatch(canvas, (query - 1) % r.gridW, Math.floor((query - 1) / r.gridW), r.gridW, r.gridH);
    nav.refresh();
    salNav.refresh();
    queryLabel.textContent = query === 0 ? '' : `query: ${who}`;
    fusion.disabled = source.value !== 'rollout';
    head.disabled = source.value === 'rollout';

    // Only the built-in model has a saliency decoder: without one the caption says so.
    saliency.hidden = salBar.root.hidden = salOut.hidden = !r.saliency;
    salCaption.textContent = r.saliency ? SAL_CAPTION : `no saliency map: ${state.model ?? 'this model'} has no saliency decoder (only the built-in DINOv2 has one)`;
    if (r.saliency) {
      saliency.width = canvas.width;
      saliency.height = canvas.height;
      drawMap(saliency, r.saliency, r.width, r.height, { colormap: colormap.value, normalize: false });
    }
  }

  canvas.onclick = (e) => {
    if (!state?.result) return;
    const r = state.result;
    const px = Math.floor(e.offsetX / canvas.clientWidth * r.gridW);
    const py = Math.floor(e.offsetY / canvas.clientHeight * r.gridH);
    if (px < 0 || py < 0 || px >= r.gridW || py >= r.gridH) return;
    query = 1 + py * r.gridW + px;
    nav.show(py, px);
    redraw();
    onQuery(query);
    onChange();
  };
  canvas.onmousemove = (e) => {
    const r = state?.result;
    if (r) nav.show(Math.floor(e.offsetY / canvas.clientHeight * r.gridH), Math.floor(e.offsetX / canvas.clientWidth * r.gridW));
  };
  reset.onclick = () => { query = 0; redraw(); onQuery(query); onChange(); };
  for (const c of [layer, head, source, fusion, opacity, colormap]) c.oninput = () => (redraw(), onChange());
  const pickOpt = (s, v) => v !== undefined && [...s.options].some((o) => o.value === v) && ((s.value = v), true);
  const exportSize = () => ({ w: canvas.width, h: canvas.height });

  return {
    root,
    get query() { return query; },
    state: () => ({
      layer: layer.value === '' ? undefined : String(Number(layer.value) + 1),
      head: head.value === '' || head.value === '-1' ? 'mean' : String(Number(head.value) + 1),
      source: source.value, fusion: fusion.value, opacity: opacity.value, colormap: colormap.value, query: String(query),
    }),
    /** Applies URL / attribute state (1-based layer/head); layer and head wait for the first image. */
    set(st) {
      const l = Number(st.layer), h = st.head === 'mean' ? -1 : Number(st.head) - 1;
      if (Number.isInteger(l) && l >= 1 && !pickOpt(layer, String(l - 1))) pending.layer = l - 1;
      if (st.head !== undefined && Number.isInteger(h) && h >= -1 && !pickOpt(head, String(h))) pending.head = h;
      pickOpt(source, st.source);
      pickOpt(fusion, st.fusion);
      pickOpt(colormap, st.colormap);
      if (st.opacity !== undefined && Number.isFinite(Number(st.opacity))) opacity.value = st.opacity;
      const q = Number(st.query);
      if (st.query !== undefined && Number.isInteger(q) && q >= 0 && (!state?.result || q < state.result.tokens)) {
        query = q;
        if (state?.result) onQuery(query);
      }
      redraw();
    },
    exporters: {
      'image-overlay': {
        png: () => canvasPNG(canvas),
        /** The photo as <image>, the map as one translucent <rect class="cell"> per patch. */
        svg() {
          const { w, h } = exportSize(), s = svgWriter(w, h);
          if (state?.bitmap) {
            const c = el('canvas', { width: w, height: h });
            const { sx, sy, sw, sh } = state.crop;
            c.getContext('2d').drawImage(state.bitmap, sx, sy, sw, sh, 0, 0, w, h);
            s.raw(`<image href="${c.toDataURL('image/jpeg', 0.85)}" x="0" y="0" width="${w}" height="${h}"/>`);
          }
          const r = state?.result;
          if (r && shown?.map) mapSVG(s, shown.map, r.gridW, r.gridH, 0, 0, w, h, { colormap: shown.colormap, alpha: shown.alpha });
          return s.done();
        },
        json() {
          const r = state?.result;
          return {
            view: 'image-overlay', model: state?.model ?? BUILT_IN, backend: pg.backend, image: state?.name,
            gridW: r?.gridW, gridH: r?.gridH, layer: (shown?.layer ?? 0) + 1, head: shown?.head < 0 ? 'mean' : (shown?.head ?? 0) + 1,
            query: shown?.query, source: shown?.source, fusion: shown?.fusion,
            weights: shown?.map ? Array.from(shown.map) : [],
          };
        },
      },
      'image-saliency': {
        png: () => canvasPNG(saliency),
        svg() {
          const r = state?.result, { w, h } = exportSize(), s = svgWriter(w, h);
          if (r?.saliency) mapSVG(s, r.saliency, r.width, r.height, 0, 0, w, h, { colormap: colormap.value, normalize: false });
          return s.done();
        },
        json: () => ({ view: 'image-saliency', model: state?.model ?? BUILT_IN, backend: pg.backend, image: state?.name,
          width: state?.result?.width, height: state?.result?.height, saliency: state?.result?.saliency ? Array.from(state.result.saliency) : [] }),
      },
    },
    draw(s) {
      if (s.result !== state?.result && state?.result) query = 0;
      if (query >= s.result.tokens - (s.result.registers ?? 0)) query = 0; // patches only
      state = s;
      fill(s.result);
      redraw();
    },
    select(l, h) {
      layer.value = String(l);
      head.value = String(h);
      source.value = 'attention';
      redraw();
    },
  };
}
