// A [rows, cols] weight matrix as a canvas heatmap with token labels. Labels are text nodes
// (textContent), never HTML. Exact zeros (sparsemax, masks) stay white. `svg()` / `json()` give
// the same cells as vector <rect>s and as numbers (for export).
import { ramp, rgb } from '../util.js';
import { svgWriter, canvasPNG } from '../export.js';

const MAX_PX = 520;
const LABEL_W = 90; // px for the row labels (and the column labels' height) in the SVG

/** A [rows, cols] map as ImageData, one pixel per cell (also used by thumbnails elsewhere). */
export function shade(weights, nr, nc) {
  const img = new ImageData(Math.max(nc, 1), Math.max(nr, 1));
  for (let i = 0; i < nr * nc; i++) {
    const [r, g, b] = ramp(weights[i]);
    img.data.set([r, g, b, 255], 4 * i);
  }
  return img;
}

/** Creates the heatmap inside `root`; returns { draw(weights, rowLabels, colLabels), png, svg, json }. */
export function heatmap(root) {
  root.classList.add('heatmap');
  const cols = document.createElement('div');
  cols.className = 'cols';
  const rows = document.createElement('div');
  rows.className = 'rows';
  const canvas = document.createElement('canvas');
  const tip = document.createElement('div');
  tip.className = 'tip';
  tip.hidden = true;
  // The tip is position: fixed, so it can live in the heatmap (and in a shadow root with its styles).
  root.append(document.createElement('div'), cols, rows, canvas, tip);
  let state = null;

  function labels(el, names, cell, vertical) {
    el.replaceChildren(...names.map((n) => {
      const s = document.createElement('span');
      s.textContent = n;
      s.title = n;
      s.style[vertical ? 'width' : 'height'] = `${cell}px`;
      return s;
    }));
  }

  canvas.onmousemove = (e) => {
    if (!state) return;
    const { weights, nc, cell, rowLabels, colLabels } = state;
    const r = Math.floor(e.offsetY / cell), c = Math.floor(e.offsetX / cell);
    if (r < 0 || c < 0 || r >= rowLabels.length || c >= nc) return (tip.hidden = true);
    tip.textContent = `${rowLabels[r]} → ${colLabels[c]}: ${weights[r * nc + c].toFixed(4)}`;
    tip.style.left = `${e.clientX + 12}px`;
    tip.style.top = `${e.clientY + 12}px`;
    tip.hidden = false;
  };
  canvas.onmouseleave = () => (tip.hidden = true);

  const api = {
    canvas,
    draw(weights, rowLabels, colLabels) {
      const nr = rowLabels.length, nc = colLabels.length;
      const cell = Math.max(6, Math.min(28, Math.floor(MAX_PX / Math.max(nr, nc, 1))));
      canvas.width = nc * cell;
      canvas.height = nr * cell;
      const ctx = canvas.getContext('2d');
      const img = shade(weights, nr, nc);
      // Draw at one pixel per cell, then scale up without smoothing.
      const small = new OffscreenCanvas(Math.max(nc, 1), Math.max(nr, 1));
      small.getContext('2d').putImageData(img, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
      labels(cols, colLabels, cell, true);
      labels(rows, rowLabels, cell, false);
      root.dataset.tokens = String(nr);
      state = { weights, nc, cell, rowLabels, colLabels };
    },
    png: () => canvasPNG(canvas),
    /** One <rect class="cell"> per cell, the labels as <text>. */
    svg() {
      const { weights, nc, cell, rowLabels, colLabels } = state ?? { weights: [], nc: 0, cell: 10, rowLabels: [], colLabels: [] };
      const s = svgWriter(LABEL_W + nc * cell + 2, LABEL_W + rowLabels.length * cell + 2);
      s.rect(0, 0, LABEL_W + nc * cell + 2, LABEL_W + rowLabels.length * cell + 2, '#fff');
      colLabels.forEach((t, j) => {
        const x = LABEL_W + j * cell + cell / 2;
        s.text(t, x, LABEL_W - 4, { anchor: 'start', size: Math.min(12, cell), extra: ` transform="rotate(-90 ${x} ${LABEL_W - 4})"` });
      });
      rowLabels.forEach((t, i) => s.text(t, LABEL_W - 4, LABEL_W + i * cell + cell / 2, { anchor: 'end', size: Math.min(12, cell) }));
      for (let i = 0; i < rowLabels.length; i++) {
        for (let j = 0; j < nc; j++) {
          const w = weights[i * nc + j];
          s.rect(LABEL_W + j * cell, LABEL_W + i * cell, cell, cell, rgb(ramp(w)), ' class="cell"');
        }
      }
      return s.done();
    },
    /** The numbers drawn: { rows, cols, weights: rows × cols }. */
    json() {
      if (!state) return { rows: [], cols: [], weights: [] };
      const { weights, nc, rowLabels, colLabels } = state;
      return { rows: rowLabels, cols: colLabels, weights: rowLabels.map((_, i) => Array.from(weights.slice(i * nc, (i + 1) * nc))) };
    },
  };
  // A card that holds several canvases exports each through these (see mechanisms.js).
  canvas.exportSVG = api.svg;
  canvas.exportJSON = api.json;
  return api;
}
