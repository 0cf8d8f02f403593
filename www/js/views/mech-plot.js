// Small canvas charts for the Mechanisms demos: bars for one attention row, lines for a sweep,
// points plus a curve for kernel regression. They only draw numbers they are given.

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

function frame(ctx, c, { xLabel = '', yLabel = '' } = {}) {
  ctx.clearRect(0, 0, c.width, c.height);
  ctx.strokeStyle = '#999';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(PAD, 6);
  ctx.lineTo(PAD, c.height - PAD);
  ctx.lineTo(c.width - 6, c.height - PAD);
  ctx.stroke();
  ctx.fillStyle = '#555';
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillText(xLabel, c.width - 6 - ctx.measureText(xLabel).width, c.height - 4);
  ctx.fillText(yLabel, 2, 12);
}

const extent = (xs) => {
  let lo = Infinity, hi = -Infinity;
  for (const x of xs) if (Number.isFinite(x)) (lo = Math.min(lo, x)), (hi = Math.max(hi, x));
  if (!(hi > lo)) hi = lo + 1;
  return [lo, hi];
};

/** Bars of `values` (one attention row), with optional labels under them; y from 0 to max(1, …). */
export function bars(c, values, labels = [], { color = COLORS[0], yMax = 1 } = {}) {
  const ctx = c.getContext('2d');
  frame(ctx, c);
  const n = values.length;
  const top = Math.max(yMax, ...values);
  const bw = (c.width - PAD - 10) / Math.max(n, 1);
  ctx.fillStyle = color;
  for (let i = 0; i < n; i++) {
    const h = (values[i] / top) * (c.height - PAD - 10);
    ctx.fillRect(PAD + i * bw + 1, c.height - PAD - h, Math.max(1, bw - 2), h);
  }
  ctx.fillStyle = '#555';
  labels.forEach((l, i) => ctx.fillText(String(l).slice(0, 6), PAD + i * bw + 1, c.height - PAD + 12));
  ctx.fillText(top.toFixed(2), 2, 16);
}

/**
 * Lines through (x, y) points: `series` = [{ name, xs, ys }]. `logX` / `logY` plot log2 / log10.
 */
export function lines(c, series, { logX = false, logY = false, xLabel = '', yLabel = '' } = {}) {
  const ctx = c.getContext('2d');
  frame(ctx, c, { xLabel, yLabel });
  const tx = (x) => (logX ? Math.log2(x) : x), ty = (y) => (logY ? Math.log10(Math.max(y, 1e-30)) : y);
  const [x0, x1] = extent(series.flatMap((s) => s.xs.map(tx)));
  const [y0, y1] = extent(series.flatMap((s) => s.ys.map(ty)));
  const px = (x) => PAD + ((tx(x) - x0) / (x1 - x0)) * (c.width - PAD - 12);
  const py = (y) => c.height - PAD - ((ty(y) - y0) / (y1 - y0)) * (c.height - PAD - 12);
  series.forEach((s, k) => {
    ctx.strokeStyle = ctx.fillStyle = s.color ?? COLORS[k % COLORS.length];
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.xs.forEach((x, i) => (i ? ctx.lineTo(px(x), py(s.ys[i])) : ctx.moveTo(px(x), py(s.ys[i]))));
    ctx.stroke();
    s.xs.forEach((x, i) => ctx.fillRect(px(x) - 2, py(s.ys[i]) - 2, 4, 4));
    ctx.fillText(s.name, PAD + 8 + k * 120, 14);
  });
  ctx.fillStyle = '#555';
  const fmt = (v, log) => (log ? (logY ? `1e${v.toFixed(1)}` : `${2 ** v}`) : v.toPrecision(3));
  ctx.fillText(fmt(y1, logY), 2, 26);
  ctx.fillText(fmt(y0, logY), 2, c.height - PAD - 2);
  ctx.fillText(logX ? `${2 ** x0}` : x0.toPrecision(3), PAD, c.height - PAD + 12);
  ctx.fillText(logX ? `${2 ** x1}` : x1.toPrecision(3), c.width - 40, c.height - PAD + 12);
}

/** Sample points (dots) and a fitted curve (line) on shared axes. */
export function pointsAndCurve(c, points, curve) {
  const ctx = c.getContext('2d');
  frame(ctx, c, { xLabel: 'x', yLabel: 'y' });
  const [x0, x1] = extent([...points.xs, ...curve.xs]);
  const [y0, y1] = extent([...points.ys, ...curve.ys]);
  const px = (x) => PAD + ((x - x0) / (x1 - x0)) * (c.width - PAD - 12);
  const py = (y) => c.height - PAD - ((y - y0) / (y1 - y0)) * (c.height - PAD - 12);
  ctx.fillStyle = COLORS[1];
  points.xs.forEach((x, i) => {
    ctx.beginPath();
    ctx.arc(px(x), py(points.ys[i]), 3, 0, 2 * Math.PI);
    ctx.fill();
  });
  ctx.strokeStyle = COLORS[0];
  ctx.lineWidth = 2;
  ctx.beginPath();
  curve.xs.forEach((x, i) => (i ? ctx.lineTo(px(x), py(curve.ys[i])) : ctx.moveTo(px(x), py(curve.ys[i]))));
  ctx.stroke();
}
