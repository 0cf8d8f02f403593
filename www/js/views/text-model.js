// Model view: every layer × head map as a thumbnail (rows = layers, columns = heads), one pixel
// per cell scaled up without smoothing. Click a thumbnail to open that layer and head.
import { pickMap } from './text-maps.js';
import { shade } from './heatmap.js';

const THUMB = 56; // px per thumbnail

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
        c.onclick = () => onPick(l, h);
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
      const m = Math.max(1, keep.length);
      for (let l = 0; l < r.layers; l++) {
        for (let h = 0; h < r.heads; h++) {
          const c = canvases[l * r.heads + h];
          c.width = c.height = m;
          const img = shade(pickMap(r, l, h, keep), m, m);
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
