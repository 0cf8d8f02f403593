// Small charts for the Mechanisms demos: bars for one attention row, lines for a sweep, points
// plus a curve for kernel regression. They only draw numbers they are given, through a pen that
// paints the canvas and writes the same marks as SVG (canvas.exportSVG / exportJSON, for export).
import { svgWriter } from '../export.js';

const W = 460, H = 180, PAD = 30;
const COLORS = ['#1f5fbf', '#c2410c', '#15803d', '#7e22ce', '#b91c1c', '#0e7490'];

/** A canvas of the demos' size, appended to `parent`. */
export function plotCanvas(parent, height = H) {
  const c = document.createElement('canvas');
  c.className = 'plot';
  c.width = W;
  c.height = height;
  parent.append(c);
  return c;
}

/** Draws on `c` and records the same marks as SVG; `data` is what exportJSON returns. */
function pen(c, data) {
  const ctx = c.getContext('2d'), s = svgWriter(c.width, c.height);
  ctx.clearRect(0, 0, c.width, c.height);
  ctx.font = '11px system-ui, sans-serif';
  c.exportJSON = () => data;
  c.exportSVG = () => svg;
  let svg = '';
  return {
    rect(x, y, w, h, color) {
      ctx.fillStyle = color;
      ctx.fillRect(x, y, w, h);
      s.rect(x, y, w, h, color, ' class="bar"');
    },
    poly(points, color, width = 2) {
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.beginPath();
      points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.stroke();
      s.poly(points, color, width);
    },
    dot(x, y, r, color) {
      ctx.fillStyle = color;
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fill();
      s.circle(x, y, r, color);
    },
    text(t, x, y, color = '#555') {
      ctx.fillStyle = color;
      ctx.fillText(t, x, y);
      s.text(t, x, y - 4, { size: 11, fill: color });
    },
    width: (t) => ctx.measureText(t).width,
    done() { svg = s.done(); },
  };
}

function frame(p, c, { xLabel = '', yLabel = '' } = {}) {
  p.poly([[PAD, 6], [PAD, c.height - PAD], [c.width - 6, c.height - PAD]], '#999', 1);
  p.text(xLabel, c.width - 6 - p.width(xLabel), c.height - 4);
  p.text(yLabel, 2, 12);
}

const extent = (xs) => {
  let lo = Infinity, hi = -Infinity;
  for (const x of xs) if (Number.isFinite(x)) (lo = Math.min(lo, x)), (hi = Math.max(hi, x));
  if (!(hi > lo)) hi = lo + 1;
  return [lo, hi];
};

/** Bars of `values` (one attention row), with optional labels under them; y from 0 to max(1, …). */
export function bars(c, values, labels = [], { color = COLORS[0], yMax = 1 } = {}) {
  const p = pen(c, { values, labels });
  frame(p, c);
  const n = values.length;
  const top = Math.max(yMax, ...values);
  const bw = (c.width - PAD - 10) / Math.max(n, 1);
  for (let i = 0; i < n; i++) {
    const h = (values[i] / top) * (c.height - PAD - 10);
    p.rect(PAD + i * bw + 1, c.height - PAD - h, Math.max(1, bw - 2), h, color);
  }
  labels.forEach((l, i) => p.text(String(l).slice(0, 6), PAD + i * bw + 1, c.height - PAD + 12));
  p.text(top.toFixed(2), 2, 16);
  p.done();
}

/**
 * Lines through (x, y) points: `series` = [{ name, xs, ys }]. `logX` / `logY` plot log2 / log10.
 */
export function lines(c, series, { logX = false, logY = false, xLabel = '', yLabel = '' } = {}) {
  const p = pen(c, { series, xLabel, yLabel });
  frame(p, c, { xLabel, yLabel });
  const tx = (x) => (logX ? Math.log2(x) : x), ty = (y) => (logY ? Math.log10(Math.max(y, 1e-30)) : y);
  const [x0, x1] = extent(series.flatMap((s) => s.xs.map(tx)));
  const [y0, y1] = extent(series.flatMap((s) => s.ys.map(ty)));
  const px = (x) => PAD + ((tx(x) - x0) / (x1 - x0)) * (c.width - PAD - 12);
  const py = (y) => c.height - PAD - ((ty(y) - y0) / (y1 - y0)) * (c.height - PAD - 12);
  series.forEach((s, k) => {
    const color = s.color ?? COLORS[k % COLORS.length];
    p.poly(s.xs.map((x, i) => [px(x), py(s.ys[i])]), color);
    s.xs.forEach((x, i) => p.rect(px(x) - 2, py(s.ys[i]) - 2, 4, 4, color));
  });
  // The legend, right-aligned on the top line, clear of the y axis title at the top left.
  let right = c.width - 6;
  for (let k = series.length - 1; k >= 0; k--) {
    const name = `■ ${series[k].name}`;
    right -= p.width(name);
    p.text(name, right, 14, series[k].color ?? COLORS[k % COLORS.length]);
    right -= 12;
  }
  // Axis ends as plain numbers (a log axis too: 251, not 1e2.4).
  const plain = (x) => (Math.abs(x) >= 1e5 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(1) : String(Number(x.toPrecision(3))));
  const yEnd = (v) => plain(logY ? 10 ** v : v);
  p.text(yEnd(y1), 2, 26);
  p.text(yEnd(y0), 2, c.height - PAD - 2);
  p.text(logX ? `${2 ** x0}` : x0.toPrecision(3), PAD, c.height - PAD + 12);
  p.text(logX ? `${2 ** x1}` : x1.toPrecision(3), c.width - 40, c.height - PAD + 12);
  p.done();
}

/** Sample points (dots) and a fitted curve (line) on shared axes. */
export function pointsAndCurve(c, points, curve) {
  const p = pen(c, { points, curve });
  frame(p, c, { xLabel: 'x', yLabel: 'y' });
  const [x0, x1] = extent([...points.xs, ...curve.xs]);
  const [y0, y1] = extent([...points.ys, ...curve.ys]);
  const px = (x) => PAD + ((x - x0) / (x1 - x0)) * (c.width - PAD - 12);
  const py = (y) => c.height - PAD - ((y - y0) / (y1 - y0)) * (c.height - PAD - 12);
  points.xs.forEach((x, i) => p.dot(px(x), py(points.ys[i]), 3, COLORS[1]));
  p.poly(curve.xs.map((x, i) => [px(x), py(curve.ys[i])]), COLORS[0]);
  p.done();
}
