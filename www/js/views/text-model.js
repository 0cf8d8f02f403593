// Model view: every layer × head map as a thumbnail (rows = layers, columns = heads), one pixel
// per cell scaled up without smoothing (long inputs max-pooled first). Click a thumbnail to open that layer and head.
import { pickMap } from './text-maps.js';
import { shade } from './heatmap.js';

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

  function build(layers, heads) {
    grid = document.createElement('div');
    grid.className = 'text-model-grid';
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
        c.tabIndex = 0;
        c.setAttribute('role', 'button');
        c.onclick = () => onPick(l, h);
        c.onkeydown = (e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), onPick(l, h));
        canvases.push(c);
        grid.append(c);
      }
    }
    root.replaceChildren(grid);
  }

  return {
    draw(v) {
      const { r, keep } = v;
      if (canvases.length !== r.layers * r.heads) build(r.layers, r.heads);
      const m = keep.length, side = Math.max(1, Math.min(m, MAX_SIDE));
      for (let l = 0; l < r.layers; l++) {
        for (let h = 0; h < r.heads; h++) {
          const c = canvases[l * r.heads + h];
          c.width = c.height = side;
          const img = shade(pooled(pickMap(r, l, h, keep), m, side), side, side);
          c.getContext('2d').putImageData(img, 0, 0);
        }
      }
      this.select(v.layer, v.head);
    },
    /** Outlines the open map(s): one thumbnail, or the whole layer row for the mean of heads. */
    select(layer, head) {
      selected = { layer, head };
      for (const c of canvases) {
        const on = Number(c.dataset.layer) === layer && (head === 'mean' || Number(c.dataset.head) === head);
        c.classList.toggle('selected', on);
      }
      root.dataset.selected = `${selected.layer},${selected.head}`;
    },
  };
}
