// Model view: every layer × head map as a thumbnail (rows = layers, columns = heads), each cell
// scaled up without smoothing (long inputs max-pooled first). Click a thumbnail to open that
// layer and head.
// All thumbnails are drawn on ONE canvas, under a grid of 72 transparent buttons (the keyboard
// stops, accessible names, clicks): 72 canvases cost the compositor a layer and a canvas
// resource each in every frame while the reader types (notes/live-typing.md).
import { pickMap } from './text-maps.js';
import { ramp, rampInto, rgb, el } from '../util.js';
import { svgWriter, composePNG } from '../export.js';
import { colourBar, evenTicks } from './colour-bar.js';
import { thumbGrid } from '../a11y.js';

const THUMB = 56; // px per thumbnail
const GAP = 3; // px between thumbnails
const LABEL = 28, SVG_GAP = 4; // the SVG's label margin and spacing
const MAX_SIDE = 2 * THUMB; // longer inputs are max-pooled down to this many cells per side
const sideOf = (m) => Math.max(1, Math.min(m, MAX_SIDE));

// ramp(w) as 32-bit pixels, by sqrt(w) in 1/1023 steps (ramp's own curve; a step moves a channel
// by < 0.25, so a pixel is within 1 of ramp(w)): one lookup per cell instead of three roundings,
// for the ~70k cells the thumbnails have at 32 tokens on every keystroke. Byte order: the table
// is written as bytes and read as 32-bit words, as the strip is.
const LEVELS = 1023;
const RAMP = (() => {
  const bytes = new Uint8ClampedArray(4 * (LEVELS + 1));
  for (let i = 0; i <= LEVELS; i++) {
    rampInto(bytes, 4 * i, (i / LEVELS) ** 2);
    bytes[4 * i + 3] = 255;
  }
  return new Uint32Array(bytes.buffer);
})();

/** [m, m] → [s, s] by the max of each block, so peaks survive (s = m when small enough); into
 *  `out` when given (a scratch buffer: at 512 tokens 72 new maps per keystroke kept the GC busy). */
function pooled(map, m, s, out = new Float32Array(s * s)) {
  if (s === m) return map;
  out.fill(0);
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
  let grid = null, canvas = null, buttons = [], heads = 0, selected = null;
  let shown = null; // the view drawn last ({ r, keep }), for export
  let scratch = null; // a pooled map's buffer, reused
  // One layer's row of thumbnails in device pixels, reused while the sizes stay the same.
  let strip = null; // { img: ImageData, px: Uint32Array over it, key }
  let cells = null; // one thumbnail's colours [side, side] as 32-bit pixels, and the cell under each pixel

  function build(layers, count) {
    heads = count;
    grid = document.createElement('div');
    grid.className = 'text-model-grid';
    grid.setAttribute('role', 'group');
    grid.setAttribute('aria-label', 'every layer and head: arrow keys move, Enter opens one');
    grid.style.gap = `${GAP}px`;
    grid.style.gridTemplateColumns = `auto repeat(${heads}, ${THUMB}px)`;
    grid.style.gridTemplateRows = `auto repeat(${layers}, ${THUMB}px)`;
    const at = (e, row, col) => ((e.style.gridRow = String(row)), (e.style.gridColumn = String(col)), e);
    for (let h = 0; h < heads; h++) grid.append(at(Object.assign(document.createElement('span'), { textContent: `H${h + 1}` }), 1, h + 2));
    for (let l = 0; l < layers; l++) grid.append(at(Object.assign(document.createElement('span'), { textContent: `L${l + 1}` }), l + 2, 1));
    canvas = document.createElement('canvas');
    canvas.className = 'text-model-canvas';
    canvas.setAttribute('aria-hidden', 'true'); // the buttons over it carry the names
    canvas.style.gridRow = `2 / span ${layers}`;
    canvas.style.gridColumn = `2 / span ${heads}`;
    canvas.style.width = `${heads * THUMB + (heads - 1) * GAP}px`;
    canvas.style.height = `${layers * THUMB + (layers - 1) * GAP}px`;
    grid.append(canvas);
    buttons = [];
    for (let l = 0; l < layers; l++) {
      for (let h = 0; h < heads; h++) {
        const b = at(document.createElement('button'), l + 2, h + 2);
        b.type = 'button';
        b.className = 'text-model-thumb';
        b.dataset.layer = String(l);
        b.dataset.head = String(h);
        b.title = `layer ${l + 1}, head ${h + 1}: click to open`;
        b.setAttribute('aria-pressed', 'false');
        buttons.push(b);
        grid.append(b);
      }
    }
    thumbGrid(buttons, heads, (i) => `layer ${Math.floor(i / heads) + 1}, head ${(i % heads) + 1}`, (i) => onPick(Math.floor(i / heads), i % heads));
    const bar = colourBar();
    bar.set({ colourAt: ramp, ticks: evenTicks(0, 1), label: 'weight (a long input: each pixel the largest of its block)' });
    root.replaceChildren(el('div', { className: 'text-model-scroll' }, grid), bar.root);
    strip = null;
  }

  /** The canvas and one layer's strip in device pixels (sharp at any zoom); cleared on a change. */
  function geometry(layers, heads) {
    const dpr = window.devicePixelRatio || 1;
    const x = (h) => Math.round(h * (THUMB + GAP) * dpr); // a thumbnail's left edge
    const w = Math.round((heads * THUMB + (heads - 1) * GAP) * dpr), t = Math.round(THUMB * dpr);
    const key = `${w},${t},${layers}`;
    if (strip?.key !== key) {
      canvas.width = w;
      canvas.height = Math.round((layers * THUMB + (layers - 1) * GAP) * dpr);
      const img = new ImageData(w, t); // gaps stay transparent
      strip = { img, px: new Uint32Array(img.data.buffer), key, w, t, x, y: (l) => Math.round(l * (THUMB + GAP) * dpr) };
    }
    return strip;
  }

  /** Paints thumbnail `map` ([side, side]) into the strip at head `h`, nearest cell per pixel. */
  function paintThumb(g, map, side, h) {
    if (cells?.side !== side || cells.t !== g.t) {
      const at = Int32Array.from({ length: g.t }, (_, i) => Math.min(side - 1, Math.floor((i * side) / g.t)));
      cells = { side, t: g.t, px: new Uint32Array(side * side), at };
    }
    const { px, at } = cells, out = g.px, w = g.w, t = g.t, x0 = g.x(h);
    for (let i = 0; i < side * side; i++) px[i] = RAMP[Math.round(Math.sqrt(Math.min(1, Math.max(0, map[i]))) * LEVELS)];
    for (let dy = 0; dy < t; dy++) {
      const dst = dy * w + x0;
      // A pixel row that shows the same cells as the one above is a copy of it.
      if (dy > 0 && at[dy] === at[dy - 1]) out.copyWithin(dst, dst - w, dst - w + t);
      else for (let dx = 0, src = at[dy] * side; dx < t; dx++) out[dst + dx] = px[src + at[dx]];
    }
  }

  /** The thumbnails' maps of the view drawn last: { layers, heads, side, maps: [layers * heads] of [side, side] }. */
  function thumbs() {
    if (!shown) return {};
    const { r, keep } = shown, m = keep.length, side = sideOf(m);
    const maps = Array.from({ length: r.layers * r.heads }, (_, i) => pooled(pickMap(r, Math.floor(i / r.heads), i % r.heads, keep), m, side));
    return { layers: r.layers, heads: r.heads, side, maps };
  }

  return {
    png: () => composePNG(root),
    /** Every thumbnail's cells as <rect class="cell">, with the layer/head labels. */
    svg() {
      const { layers = 0, heads = 0, side = 1, maps = [] } = thumbs();
      const px = THUMB / side, step = THUMB + SVG_GAP;
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
      const { layers = 0, heads = 0, side = 0, maps = [] } = thumbs();
      return { side, maps: Array.from({ length: layers }, (_, l) => Array.from({ length: heads }, (_, h) => Array.from(maps[l * heads + h]))) };
    },
    draw(v) {
      for (let l = 0; l < v.r.layers; l++) this.drawLayer(v, l);
    },
    /** One layer's row of thumbnails (the page draws a layer per task while the reader types). */
    drawLayer(v, l) {
      const { r, keep } = v;
      if (buttons.length !== r.layers * r.heads) build(r.layers, r.heads);
      const m = keep.length, side = sideOf(m);
      shown = { r, keep };
      const g = geometry(r.layers, r.heads);
      if (scratch?.length !== side * side) scratch = new Float32Array(side * side);
      for (let h = 0; h < r.heads; h++) paintThumb(g, pooled(pickMap(r, l, h, keep), m, side, scratch), side, h);
      canvas.getContext('2d').putImageData(g.img, 0, g.y(l));
      if (l === r.layers - 1) this.select(v.layer, v.head);
    },
    /** Outlines the open map(s): one thumbnail, or the whole layer row for the mean of heads. */
    select(layer, head) {
      selected = { layer, head };
      buttons.forEach((b, i) => {
        const on = Math.floor(i / heads) === layer && (head === 'mean' || i % heads === head);
        if (b.classList.contains('selected') === on) return; // unchanged: no style work
        b.classList.toggle('selected', on);
        b.setAttribute('aria-pressed', String(on));
      });
      root.dataset.selected = `${selected.layer},${selected.head}`;
    },
  };
}
