// Drawing helpers for the image views: colour maps, a patch map as an overlay on the image, and
// the per-query maps read out of the [layers, heads, tokens, tokens] attention array.

// Colour maps as stops on [0, 1] (sampled from matplotlib's viridis/magma and a plain ramp).
const MAPS = {
  viridis: [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]],
  magma: [[0, 0, 4], [81, 18, 124], [183, 55, 121], [252, 137, 97], [252, 253, 191]],
  inferno: [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]],
  gray: [[0, 0, 0], [255, 255, 255]],
};
export const COLORMAPS = Object.keys(MAPS);

/** [r, g, b] for v in [0, 1]. */
export function colour(name, v) {
  const stops = MAPS[name] ?? MAPS.viridis;
  const x = Math.min(1, Math.max(0, v)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x)), t = x - i;
  return stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * t));
}

/** Row `query` of layer `layer`'s map, averaged over heads when head < 0; patch columns only
 *  (the class token's column dropped), so the result is a [gridH, gridW] map. */
export function patchRow(r, layer, head, query) {
  const { heads, tokens: t } = r;
  const n = t - 1;
  const out = new Float32Array(n);
  const hs = head < 0 ? [...Array(heads).keys()] : [head];
  for (const h of hs) {
    const base = ((layer * heads + h) * t + query) * t + 1;
    for (let j = 0; j < n; j++) out[j] += r.attention[base + j] / hs.length;
  }
  return out;
}

/** A gridW × gridH map scaled to [0, 1] (min → 0, max → 1). */
function normalized(map) {
  let lo = Infinity, hi = -Infinity;
  for (const v of map) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const span = hi - lo || 1;
  return Array.from(map, (v) => (v - lo) / span);
}

/** Draws `map` ([h, w] values; scaled to [0, 1] unless `normalize` is false) into `canvas`
 *  (already sized), stretched smoothly, with `alpha`. */
export function drawMap(canvas, map, w, h, { colormap = 'viridis', alpha = 1, clear = false, normalize = true } = {}) {
  const small = document.createElement('canvas');
  small.width = w;
  small.height = h;
  const sctx = small.getContext('2d');
  const img = sctx.createImageData(w, h);
  (normalize ? normalized(map) : map).forEach((v, i) => {
    const [r, g, b] = colour(colormap, v);
    img.data.set([r, g, b, 255], i * 4);
  });
  sctx.putImageData(img, 0, 0);
  const ctx = canvas.getContext('2d');
  if (clear) ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.save();
  ctx.globalAlpha = alpha;
  ctx.imageSmoothingEnabled = w * 4 < canvas.width;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
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
