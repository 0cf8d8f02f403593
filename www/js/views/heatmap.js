// A [rows, cols] weight matrix as a canvas heatmap with token labels. Labels are text nodes
// (textContent), never HTML. Exact zeros (sparsemax, masks) stay white. `svg()` / `json()` give
// the same cells as vector <rect>s and as numbers (for export). The cells fit the width the map
// is given (a phone's too; past that it scrolls in its box), labels thin out when cells get
// smaller than their text, and the map is one focusable element: arrow keys move a focused
// cell, and a readout under it (a polite live region) says "row → column: weight", as does hover.
import { ramp, rampInto, rgb } from '../util.js';
import { svgWriter, canvasPNG } from '../export.js';
import { cellNav, readout } from '../a11y.js';
import { colourBar, evenTicks } from './colour-bar.js';

const MAX_PX = 520;
const MIN_CELL = 6; // px; below this the map scrolls in its box instead of shrinking
const LABEL_PX = 13; // a label needs this many px of cell to stay readable; fewer: every k-th
const LABEL_W = 90; // px for the row labels (and the column labels' height) in the SVG

/** A [rows, cols] map as ImageData, one pixel per cell (also used by thumbnails elsewhere). */
export function shade(weights, nr, nc) {
  const img = new ImageData(Math.max(nc, 1), Math.max(nr, 1)), d = img.data;
  // Every thumbnail of a long input passes here on each keystroke: no allocation per pixel.
  for (let i = 0; i < nr * nc; i++) {
    rampInto(d, 4 * i, weights[i]);
    d[4 * i + 3] = 255;
  }
  return img;
}

/** Creates the heatmap inside `root`; returns { draw(weights, rowLabels, colLabels), png, svg, json }.
 *  `opts.label` names the map for screen readers (default "attention map"). */
export function heatmap(root, opts = {}) {
  root.classList.add('heatmap');
  const cols = document.createElement('div');
  cols.className = 'cols';
  const rows = document.createElement('div');
  rows.className = 'rows';
  const canvas = document.createElement('canvas');
  const cursor = document.createElement('div');
  cursor.className = 'heatmap-cursor';
  cursor.hidden = true;
  const cells = document.createElement('div');
  cells.className = 'heatmap-cells';
  cells.append(canvas, cursor);
  const tip = document.createElement('div');
  tip.className = 'tip';
  tip.hidden = true;
  const out = readout('readout heatmap-readout');
  const bar = colourBar();
  bar.set({ colourAt: ramp, ticks: evenTicks(0, 1), label: opts.scale ?? 'weight (0 = none, 1 = all of the row)' });
  // The tip is position: fixed, so it can live in the heatmap (and in a shadow root with its styles).
  root.append(document.createElement('div'), cols, rows, cells, tip, out, bar.root);
  let state = null, small = null; // small: the map at one pixel per cell
  const describe = (r, c) => `${state.rowLabels[r]} → ${state.colLabels[c]}: ${state.weights[r * state.nc + c].toFixed(3)}`;
  const nav = cellNav(canvas, {
    label: opts.label ?? 'attention map (rows attend to columns)',
    size: () => (state ? [state.rowLabels.length, state.nc] : [0, 0]),
    describe,
    out,
    onMove(cell) {
      place(cell);
      if (cell) cursor.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
    },
  });
  function place(cell) {
    cursor.hidden = !cell || !state;
    if (!cursor.hidden) Object.assign(cursor.style, { left: `${cell.c * state.cell}px`, top: `${cell.r * state.cell}px`, width: `${state.cell}px`, height: `${state.cell}px` });
  }

  // The spans are kept and only what changed is written: while the reader types, most labels
  // stay, and new elements cost style and layout in every frame.
  function labels(el, names, cell, vertical) {
    const every = Math.ceil(LABEL_PX / cell), size = `${cell}px`, side = vertical ? 'width' : 'height';
    while (el.children.length > names.length) el.lastChild.remove();
    while (el.children.length < names.length) el.append(document.createElement('span'));
    names.forEach((n, i) => {
      const s = el.children[i];
      if (s.textContent !== n) (s.textContent = n), (s.title = n);
      if (s.style[side] !== size) s.style[side] = size;
      const thin = i % every ? 'thin' : ''; // kept (the text is the label), drawn invisible
      if (s.className !== thin) s.className = thin;
    });
  }

  // The widths the cells fit, as of the last layout (a ResizeObserver keeps them): reading them
  // in draw() would force a layout after every other view's changes. 0: not known yet, read now.
  const boxOf = () => root.closest('.mech-card, .text-panels, section, .body') ?? root.parentElement;
  let boxWidth = 0, rowsWidth = 0;
  /** The px per cell that fits the width the map has (its card, panel or page section). */
  function cellSize(n) {
    boxWidth ||= boxOf()?.clientWidth ?? 0;
    rowsWidth ||= rows.offsetWidth;
    const width = boxWidth ? Math.min(MAX_PX, boxWidth - Math.min(rowsWidth || 60, 110) - 28) : MAX_PX;
    return Math.max(MIN_CELL, Math.min(28, Math.floor(width / Math.max(n, 1))));
  }
  // A phone turned sideways, a panel resized, longer labels: redraw when the cells would change size.
  const resize = new ResizeObserver(() => {
    boxWidth = boxOf()?.clientWidth ?? 0;
    rowsWidth = rows.offsetWidth;
    if (state && cellSize(Math.max(state.rowLabels.length, state.nc)) !== state.cell) api.draw(state.weights, state.rowLabels, state.colLabels);
  });
  queueMicrotask(() => {
    const box = root.closest('.mech-card, .text-panels, section, .body');
    if (box) resize.observe(box);
    resize.observe(rows);
  });

  canvas.onmousemove = (e) => {
    if (!state) return;
    const { weights, nc, cell, rowLabels, colLabels } = state;
    const r = Math.floor(e.offsetY / cell), c = Math.floor(e.offsetX / cell);
    if (r < 0 || c < 0 || r >= rowLabels.length || c >= nc) return (tip.hidden = true);
    tip.textContent = `${rowLabels[r]} → ${colLabels[c]}: ${weights[r * nc + c].toFixed(4)}`;
    tip.style.left = `${e.clientX + 12}px`;
    tip.style.top = `${e.clientY + 12}px`;
    tip.hidden = false;
    nav.show(r, c);
  };
  canvas.onmouseleave = () => (tip.hidden = true);

  const api = {
    canvas,
    /** The readout line (what the focused or hovered cell holds). */
    readout: out,
    draw(weights, rowLabels, colLabels) {
      const nr = rowLabels.length, nc = colLabels.length;
      const cell = cellSize(Math.max(nr, nc));
      // Same size: every pixel is drawn over (the cells are opaque), so the bitmap is kept.
      if (canvas.width !== nc * cell) canvas.width = nc * cell;
      if (canvas.height !== nr * cell) canvas.height = nr * cell;
      const ctx = canvas.getContext('2d');
      const img = shade(weights, nr, nc);
      // Draw at one pixel per cell, then scale up without smoothing.
      if (small?.width !== img.width || small.height !== img.height) small = new OffscreenCanvas(img.width, img.height);
      small.getContext('2d').putImageData(img, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
      labels(cols, colLabels, cell, true);
      labels(rows, rowLabels, cell, false);
      root.dataset.tokens = String(nr);
      state = { weights, nc, cell, rowLabels, colLabels };
      nav.refresh();
      place(canvas.getRootNode().activeElement === canvas ? nav.cell : null);
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
