// Drawing helpers for the image views: colour maps, a patch map as an overlay on the image, and
// the per-query maps read out of the [layers, heads, tokens, tokens] attention array.

import { colour, colourInto } from '../util.js';

export { COLORMAPS } from '../util.js';

/** Row `query` of layer `layer`'s map, averaged over heads when head < 0; patch columns only
 *  (the class token's column and any registers' dropped), so the result is a [gridH, gridW] map. */
export function patchRow(r, layer, head, query) {
  const { heads, tokens: t } = r;
  const n = r.gridW * r.gridH;
  const out = new Float32Array(n);
  const hs = head < 0 ? [...Array(heads).keys()] : [head];
  for (const h of hs) {
    const base = ((layer * heads + h) * t + query) * t + 1;
    for (let j = 0; j < n; j++) out[j] += r.attention[base + j] / hs.length;
  }
  return out;
}

/** A gridW × gridH map scaled to [0, 1] (min → 0, max → 1). */
export function normalized(map) {
  let lo = Infinity, hi = -Infinity;
  for (const v of map) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const span = hi - lo || 1;
  return Array.from(map, (v) => (v - lo) / span);
}

// One scratch canvas per map size (a patch click redraws ~74 maps: a canvas and a context each
// cost more than the pixels).
const scratches = new Map(); // `${w}x${h}` → { canvas, ctx, img }

/** Draws `map` ([h, w] values; scaled to [0, 1] unless `normalize` is false) into `canvas`
 *  (already sized), stretched smoothly, with `alpha`. */
export function drawMap(canvas, map, w, h, { colormap = 'viridis', alpha = 1, clear = false, normalize = true } = {}) {
  if (!scratches.has(`${w}x${h}`)) {
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    const ctx = c.getContext('2d');
    scratches.set(`${w}x${h}`, { canvas: c, ctx, img: ctx.createImageData(w, h) });
  }
  const scratch = scratches.get(`${w}x${h}`);
  const { data } = scratch.img;
  let lo = 0, span = 1;
  if (normalize) {
    let hi = -Infinity;
    lo = Infinity;
    for (const v of map) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
    span = hi - lo || 1;
  }
  for (let i = 0; i < map.length; i++) {
    colourInto(data, i * 4, colormap, (map[i] - lo) / span);
    data[i * 4 + 3] = 255;
  }
  scratch.ctx.putImageData(scratch.img, 0, 0);
  const ctx = canvas.getContext('2d');
  if (clear) ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.save();
  ctx.globalAlpha = alpha;
  ctx.imageSmoothingEnabled = w * 4 < canvas.width;
  ctx.drawImage(scratch.canvas, 0, 0, canvas.width, canvas.height);
  ctx.restore();
}

/** Outlines patch (px, py) of a gridW-wide grid on `canvas`. */
export function markPatch(canvas, px, py, gridW, gridH) {
  const ctx = canvas.getContext('2d');
  const cw = canvas.width / gridW, ch = canvas.height / gridH;
  ctx.save();
  ctx.strokeStyle = '#ff2d55';
  ctx.lineWidth = 2;
  ctx.strokeRect(px * cw + 1, py * ch + 1, cw - 2, ch - 2);
  ctx.restore();
}

/** `map` ([h, w] values, scaled like drawMap) as one <rect class="cell"> per value into the SVG
 *  writer `s`, filling the box (x, y, bw, bh). */
export function mapSVG(s, map, w, h, x, y, bw, bh, { colormap = 'viridis', alpha = 1, normalize = true } = {}) {
  const vals = normalize ? normalized(map) : map, cw = bw / w, ch = bh / h;
  const extra = alpha < 1 ? ` class="cell" fill-opacity="${alpha}"` : ' class="cell"';
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const [r, g, b] = colour(colormap, vals[i * w + j]);
      s.rect(x + j * cw, y + i * ch, cw, ch, `rgb(${r},${g},${b})`, extra);
    }
  }
}
