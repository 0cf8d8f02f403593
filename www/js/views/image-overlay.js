// The image with one attention map over it, and the saliency decoder's output beside it.
// Controls: layer, head (or the mean over heads), attention or rollout (head fusion mean / max /
// min; residual-aware), opacity, colour map. Click a patch to make it the query; the class token
// is the default query.
import { COLORMAPS, drawMap, markPatch, patchRow } from './image-draw.js';

const DISPLAY = 448; // longer side of the drawn image, in CSS pixels

const el = (tag, props = {}, ...kids) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...kids);
  return e;
};
const select = (options, value, name) => {
  const s = el('select', { name });
  s.append(...options.map(([v, label]) => el('option', { value: String(v), textContent: label })));
  s.value = String(value);
  return s;
};

export function overlayPanel(app, { onQuery }) {
  const { pg } = app;
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
  const salCaption = el('figcaption', { textContent: 'saliency decoder output (where the model’s task looks)' });
  const attCaption = el('figcaption');
  const label = (text, input) => el('label', {}, `${text} `, input);
  const root = el('div', { className: 'image-main' },
    el('div', { className: 'image-controls' },
      label('layer', layer), label('head', head), label('show', source), label('head fusion', fusion),
      label('opacity', opacity), label('colours', colormap), reset, queryLabel),
    el('div', { className: 'image-panels' },
      el('figure', {}, canvas, attCaption),
      el('figure', {}, saliency, salCaption)),
    note);

  let state = null;
  let query = 0;
  const rolloutCache = new Map();

  function fill(r) {
    // Keep the chosen layer across images; the last layer at first.
    const keepLayer = layer.value === '' ? r.layers - 1 : Math.min(Number(layer.value), r.layers - 1);
    layer.replaceChildren(...[...Array(r.layers).keys()].map((l) => el('option', { value: String(l), textContent: String(l + 1) })));
    layer.value = String(keepLayer);
    const keepHead = head.value;
    head.replaceChildren(el('option', { value: '-1', textContent: 'mean of heads' }),
      ...[...Array(r.heads).keys()].map((h) => el('option', { value: String(h), textContent: String(h + 1) })));
    head.value = keepHead === '' ? '-1' : keepHead;
  }

  /** Row `query` of the rollout up to `layer` (tokens), or null when unavailable. */
  async function rolloutRow(r, l) {
    if (typeof pg.rollout !== 'function') return null;
    const key = `${l}/${fusion.value}`;
    if (!rolloutCache.has(key)) {
      const t = r.tokens, per = r.heads * t * t;
      const res = await pg.rollout(r.attention.subarray(0, (l + 1) * per), l + 1, r.heads, t, { residual: true, headFusion: fusion.value });
      const m = res instanceof Float32Array ? res : (res.rollout ?? res.weights);
      rolloutCache.set(key, m.length === t * t ? m : m.subarray(m.length - t * t));
    }
    const t = r.tokens;
    return rolloutCache.get(key).subarray(query * t + 1, query * t + t);
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
    if (map) drawMap(canvas, map, r.gridW, r.gridH, { colormap: colormap.value, alpha: Number(opacity.value) });
    if (query > 0) markPatch(canvas, (query - 1) % r.gridW, Math.floor((query - 1) / r.gridW), r.gridW, r.gridH);
    queryLabel.textContent = query === 0 ? '' : `query: ${who}`;
    fusion.disabled = source.value !== 'rollout';
    head.disabled = source.value === 'rollout';

    saliency.hidden = salCaption.hidden = !r.saliency;
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
    redraw();
    onQuery(query);
  };
  reset.onclick = () => { query = 0; redraw(); onQuery(query); };
  for (const c of [layer, head, source, fusion, opacity, colormap]) c.oninput = redraw;

  return {
    root,
    get query() { return query; },
    draw(s) {
      if (s.result !== state?.result) {
        rolloutCache.clear();
        query = 0;
      }
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
