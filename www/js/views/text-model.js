// Model view: every layer × head map as a thumbnail (rows = layers, columns = heads), one pixel
// per cell scaled up without smoothing (long inputs max-pooled first). Click a thumbnail to open that layer and head.
import { pickMap } from './text-maps.js';
import { shade } from './heatmap.js';
import { ramp, rgb } from '../util.js';
import { svgWriter, composePNG } from '../export.js';
import { el } from '../util.js';
import { colourBar, evenTicks } from './colour-bar.js';
import { thumbGrid } from '../a11y.js';

const THUMB = 56; // px per thumbnail
const MAX_SIDE = 2 * THUMB; // longer inputs are max-pooled down to this many cells per side

/** [m, m] → [s, s] by the max of each block, so peaks survive (s = m when small enough). */
function pooled(map, m, s) {
  if (s === m) return map;
  const out = new Float32Array(s * s);
  const bin = Int32Array.from({ length: m }, (_, i) => Math.floor((i * s) / m));
  for (let i = 0; i < m; i++) {
    const row = bin[i] * s;
    for (let j = 0; j < m; j++) {
      const p = map[i * m + j], k = row + bin[j];
      if (p > out[k]) out[k] = p;
    }
  }
  return out;
}

export function modelView(root, onPick) {
  root.classList.add('text-model');
  let grid = null, canvases = [], selected = null;
  let thumbs = null; // { layers, heads, side, maps: [layers * heads] of [side, side] }, for export

  function build(layers, heads) {
    grid = document.createElement('div');
    grid.className = 'text-model-grid';
    grid.setAttribute('role', 'group');
    grid.setAttribute('aria-label', 'every layer and head: arrow keys move, Enter opens one');
    grid.style.gridTemplateColumns = `auto repeat(${heads}, ${THUMB}px)`;
    grid.append(document.createElement('span'));
    for (let h = 0; h < heads; h++) grid.append(Object.assign(document.createElement('span'), { textContent: `H${h + 1}` }));
    canvases = [];
    for (let l = 0; l < layers; l++) {
      grid.append(Object.assign(document.createElement('span'), { textContent: `L${l + 1}` }));
      for (let h = 0; h < heads; h++) {
        const c = document.createElement('canvas');
        c.dataset.layer = String(l);
        c.dataset.head = String(h);
        c.title = `layer ${l + 1}, head ${h + 1}: click to open`;
        c.style.width = c.style.height = `${THUMB}px`;
        canvases.push(c);
        grid.append(c);
      }
    }
    thumbGrid(canvases, heads, (i) => `layer ${Math.floor(i / heads) + 1}, head ${(i % heads) + 1}`, (i) => onPick(Math.floor(i / heads), i % heads));
    const bar = colourBar();
    bar.set({ colourAt: ramp, ticks: evenTicks(0, 1), label: 'weight (a long input: each pixel the largest of its block)' });
    root.replaceChildren(el('div', { className: 'text-model-scroll' }, grid), bar.root);
  }

  const LABEL = 28, GAP = 4;
  return {
    png: () => composePNG(root),
    /** Every thumbnail's cells as <rect class="cell">, with the layer/head labels. */
    svg() {
      const { layers = 0, heads = 0, side = 1, maps = [] } = thumbs ?? {};
      const px = THUMB / side, step = THUMB + GAP;
      const s = svgWriter(LABEL + heads * step, LABEL + layers * step);
      s.rect(0, 0, LABEL + heads * step, LABEL + layers * step, '#fff');
      for (let h = 0; h < heads; h++) s.text(`H${h + 1}`, LABEL + h * step + THUMB / 2, LABEL / 2, { anchor: 'middle', size: 11 });
      for (let l = 0; l < layers; l++) {
        s.text(`L${l + 1}`, LABEL - 4, LABEL + l * step + THUMB / 2, { anchor: 'end', size: 11 });
        for (let h = 0; h < heads; h++) {
          const map = maps[l * heads + h], x = LABEL + h * step, y = LABEL + l * step;
          for (let i = 0; i < side; i++) for (let j = 0; j < side; j++) s.rect(x + j * px, y + i * px, px, px, rgb(ramp(map[i * side + j])), ' class="cell"');
        }
      }
      return s.done();
    },
    /** The thumbnails' numbers: maps[layer][head] = side × side (max-pooled when the input is long). */
    json() {
      const { layers = 0, heads = 0, side = 0, maps = [] } = thumbs ?? {};
      return { side, maps: Array.from({ length: layers }, (_, l) => Array.from({ length: heads }, (_, h) => Array.from(maps[l * heads + h]))) };
    },
    draw(v) {
      for (let l = 0; l < v.r.layers; l++) this.drawLayer(v, l);
    },
    /** One layer's row of thumbnails (the page draws a layer per task while the reader types). */
    drawLayer(v, l) {
      const { r, keep } = v;
      if (canvases.length !== r.layers * r.heads) build(r.layers, r.heads);
      const m = keep.length, side = Math.max(1, Math.min(m, MAX_SIDE));
      if (l === 0 || thumbs?.side !== side) thumbs = { layers: r.layers, heads: r.heads, side, maps: [] };
      for (let h = 0; h < r.heads; h++) {
        const c = canvases[l * r.heads + h];
        c.width = c.height = side;
        const map = pooled(pickMap(r, l, h, keep), m, side);
        thumbs.maps[l * r.heads + h] = map;
        c.getContext('2d').putImageData(shade(map, side, side), 0, 0);
      }
      if (l === r.layers - 1) this.select(v.layer, v.head);
    },
    /** Outlines the open map(s): one thumbnail, or the whole layer row for the mean of heads. */
    select(layer, head) {
      selected = { layer, head };
      for (const c of canvases) {
        const on = Number(c.dataset.layer) === layer && (head === 'mean' || Number(c.dataset.head) === head);
        c.classList.toggle('selected', on);
        c.setAttribute('aria-pressed', String(on));
      }
      root.dataset.selected = `${selected.layer},${selected.head}`;
    },
  };
}
