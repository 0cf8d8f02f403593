// Queries and keys as points: one head's query and key vectors of every token, projected together
// onto their first two principal components (pg.project, on the engine's backend), drawn on a
// canvas as two marks: queries filled circles, keys hollow squares (the shape tells them apart,
// not only the colour). Hover or focus a token (arrow keys, or the token picker) to highlight its
// query, its key, and lines to the keys it attends to most, their width and opacity the weight.
// Shared by the Text tab (qk-text.js: one sentence, or a set of them) and the Image tab
// (qk-image.js: patches), which own the forward; this module draws, explains and exports.
//
// qkPlot(root, { id, onFocus }) → { draw(data), focus(t), png(), svg(), json(), drawMs }, with data:
//   { coords: Float32Array [2·T, 2] (queries 0..T−1, then keys), tokens: string[T],
//     group: number[T] | null (which input each token is from), groups: string[] (their names),
//     row(t) → Float32Array over the keys of t's input, keyStart(t) → the first of those keys,
//     explained: [2], focus: token index or −1 }
import { el } from '../util.js';
import { canvasPNG, svgWriter } from '../export.js';
import { HEAD_COLORS } from '../palette.js';

const W = 520, H = 400, M = 22; // canvas size (CSS scales it down to the panel), margin
const Q = '#2f5fd0', K = '#c25700'; // blue / orange: told apart under every colour-vision deficiency
const STRONGEST = 6; // keys drawn with lines and listed in the table
const LINE_MIN = 0.01; // lighter keys get no line
const HIT = 14; // pointer distance (canvas px) that picks a point

const fmt = (v) => v.toFixed(3).replace('-', '−');

export function qkPlot(root, { id, onFocus = () => {} }) {
  const canvas = el('canvas', { id: `${id}-canvas`, width: W, height: H, tabIndex: 0, className: 'qk-canvas' });
  // A keyboard-driven view (arrows move the focus), announced by the readout after it.
  canvas.setAttribute('role', 'application');
  canvas.setAttribute('aria-roledescription', 'scatter plot');
  canvas.setAttribute('aria-label', 'no projection yet');
  const legend = el('p', { className: 'qk-legend muted' },
    el('span', { className: 'qk-mark qk-q', ariaHidden: 'true' }), ' query  ',
    el('span', { className: 'qk-mark qk-k', ariaHidden: 'true' }), ' key  · lines: the focused query’s strongest keys, thicker = more attention');
  const tokenPick = el('select', { id: `${id}-token`, name: 'qkToken' });
  const readout = el('p', { className: 'qk-readout', role: 'status', textContent: 'The points appear here once the model has run.' });
  readout.setAttribute('aria-live', 'polite');
  const table = el('table', { className: 'qk-table' });
  const tableWrap = el('div', { className: 'qk-scroll', tabIndex: 0, role: 'region', ariaLabel: 'strongest keys of the focused query' }, table);
  tableWrap.hidden = true;
  root.replaceChildren(canvas, legend, el('label', { className: 'qk-pick' }, 'focus token ', tokenPick), readout, tableWrap);
  canvas.setAttribute('aria-describedby', readout.id = `${id}-readout`);

  let data = null, view = null, focus = -1, drawMs = 0, listed = '';

  /** Canvas position of every point: one scale on both axes, so distances read true. */
  function layout(coords) {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < coords.length; i += 2) {
      x0 = Math.min(x0, coords[i]); x1 = Math.max(x1, coords[i]);
      y0 = Math.min(y0, coords[i + 1]); y1 = Math.max(y1, coords[i + 1]);
    }
    const s = Math.min((W - 2 * M) / (x1 - x0 || 1), (H - 2 * M) / (y1 - y0 || 1));
    const cx = (W - s * (x1 - x0)) / 2, cy = (H - s * (y1 - y0)) / 2;
    const px = new Float32Array(coords.length);
    for (let i = 0; i < coords.length; i += 2) {
      px[i] = cx + (coords[i] - x0) * s;
      px[i + 1] = H - (cy + (coords[i + 1] - y0) * s); // PC2 up
    }
    return px;
  }

  /** The focused token's strongest keys: [{ key (global index), w }], heaviest first. */
  function strongest(t) {
    if (t < 0 || !data) return [];
    const row = data.row(t), start = data.keyStart(t);
    return Array.from(row, (w, j) => ({ key: start + j, w })).sort((a, b) => b.w - a.w).slice(0, STRONGEST);
  }

  const colours = () => {
    const set = data.groups.length > 1;
    return (t) => (set ? HEAD_COLORS[data.group[t] % HEAD_COLORS.length] : null);
  };

  /** Every mark, in the order both the canvas and the SVG draw them. */
  function marks() {
    const T = data.tokens.length, byGroup = colours(), top = strongest(focus);
    const lit = new Set([focus, ...top.map((s) => s.key)]);
    const out = { lines: [], points: [], labels: [] };
    const at = (i) => [view[2 * i], view[2 * i + 1]];
    for (let t = 0; t < T; t++) {
      const dim = focus >= 0 && !lit.has(t);
      out.points.push({ kind: 'key', t, xy: at(T + t), colour: byGroup(t) ?? K, dim });
      out.points.push({ kind: 'query', t, xy: at(t), colour: byGroup(t) ?? Q, dim });
    }
    if (focus >= 0) {
      for (const { key, w } of top) if (w >= LINE_MIN) out.lines.push({ from: at(focus), to: at(T + key), w });
      out.labels.push({ text: `q ${data.tokens[focus]}`, xy: at(focus), colour: Q });
      for (const { key } of top.slice(0, 3)) out.labels.push({ text: `k ${data.tokens[key]}`, xy: at(T + key), colour: K });
      out.ring = [at(focus), ...top.slice(0, 3).map((s) => at(T + s.key))];
    }
    return out;
  }

  function paint() {
    const t0 = performance.now();
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, W, H);
    if (!data) return;
    const m = marks();
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = '#555';
    ctx.fillText(`PC1 (${(100 * data.explained[0]).toFixed(0)}% of the variance) →`, M, H - 6);
    ctx.save();
    ctx.translate(11, H - M);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(`PC2 (${(100 * data.explained[1]).toFixed(0)}%) →`, 0, 0);
    ctx.restore();
    // One path per (mark, colour, dimmed): a path per point costs ~10× more at 1024 points.
    const batches = new Map();
    for (const p of m.points) {
      const key = `${p.kind}|${p.colour}|${p.dim}`;
      if (!batches.has(key)) batches.set(key, { ...p, all: [] });
      batches.get(key).all.push(p.xy);
    }
    for (const b of batches.values()) {
      ctx.globalAlpha = b.dim ? 0.18 : 0.85;
      ctx.beginPath();
      if (b.kind === 'query') {
        for (const [x, y] of b.all) ctx.moveTo(x + 3.5, y), ctx.arc(x, y, 3.5, 0, 2 * Math.PI);
        ctx.fillStyle = b.colour;
        ctx.fill();
      } else {
        for (const [x, y] of b.all) ctx.rect(x - 3.5, y - 3.5, 7, 7);
        ctx.strokeStyle = b.colour;
        ctx.lineWidth = 1.5;
        ctx.stroke();
      }
    }
    ctx.strokeStyle = '#1d1d1f';
    for (const l of m.lines) {
      ctx.globalAlpha = 0.35 + 0.65 * l.w;
      ctx.lineWidth = 0.75 + 5 * l.w;
      ctx.beginPath();
      ctx.moveTo(...l.from);
      ctx.lineTo(...l.to);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    ctx.lineWidth = 2;
    for (const [x, y] of m.ring ?? []) {
      ctx.beginPath();
      ctx.arc(x, y, 7, 0, 2 * Math.PI);
      ctx.stroke();
    }
    ctx.font = '600 12px system-ui, sans-serif';
    for (const l of m.labels) {
      ctx.fillStyle = l.colour;
      ctx.fillText(l.text, l.xy[0] + 9, l.xy[1] - 6);
    }
    drawMs = performance.now() - t0;
    root.dataset.drawMs = drawMs.toFixed(2);
  }

  function describe() {
    const T = data?.tokens.length ?? 0;
    canvas.setAttribute('aria-label', T
      ? `${T} tokens’ queries (circles) and keys (squares) on the first two principal components (${(100 * data.explained[0]).toFixed(0)}% and ${(100 * data.explained[1]).toFixed(0)}% of the variance). Arrow keys move the focus from token to token.`
      : 'no projection yet');
    if (focus < 0 || !data) {
      readout.textContent = T ? 'Hover or focus a token to see its strongest keys.' : '';
      table.replaceChildren();
      tableWrap.hidden = true;
      return;
    }
    const top = strongest(focus), T2 = T;
    const [qx, qy] = [data.coords[2 * focus], data.coords[2 * focus + 1]];
    const where = data.groups.length > 1 ? ` (input ${data.group[focus] + 1})` : '';
    readout.textContent = `Query “${data.tokens[focus]}” (token ${focus})${where} attends most to ${top.slice(0, 3).map((s) => `“${data.tokens[s.key]}” ${fmt(s.w)}`).join(', ')}.`;
    tableWrap.hidden = false;
    table.replaceChildren(
      el('caption', { textContent: `Strongest keys of the query “${data.tokens[focus]}”` }),
      el('thead', {}, el('tr', {}, ...['key', 'attention', 'distance in the plane'].map((h) => el('th', { scope: 'col', textContent: h })))),
      el('tbody', {}, ...top.map(({ key, w }) => {
        const d = Math.hypot(data.coords[2 * (T2 + key)] - qx, data.coords[2 * (T2 + key) + 1] - qy);
        const tr = el('tr', {}, el('th', { scope: 'row', textContent: `${key - data.keyStart(focus)}: ${data.tokens[key]}` }),
          el('td', { className: 'num', textContent: fmt(w) }), el('td', { className: 'num', textContent: fmt(d) }));
        tr.dataset.key = String(key);
        return tr;
      })));
  }

  function setFocus(t, notify = true) {
    const T = data?.tokens.length ?? 0;
    const next = T && Number.isInteger(t) && t >= 0 && t < T ? t : -1;
    if (next === focus) return;
    focus = next;
    tokenPick.value = String(focus);
    root.dataset.focus = String(focus);
    paint();
    describe();
    if (notify) onFocus(focus);
  }

  function nearest(e) {
    const r = canvas.getBoundingClientRect();
    const x = ((e.clientX - r.left) * W) / r.width, y = ((e.clientY - r.top) * H) / r.height;
    let best = -1, bestD = HIT * HIT;
    const T = data.tokens.length;
    for (let i = 0; i < 2 * T; i++) {
      const d = (view[2 * i] - x) ** 2 + (view[2 * i + 1] - y) ** 2;
      if (d < bestD) (bestD = d), (best = i % T);
    }
    return best;
  }
  canvas.addEventListener('pointermove', (e) => {
    if (!data) return;
    const t = nearest(e);
    if (t >= 0) setFocus(t);
  });
  canvas.addEventListener('keydown', (e) => {
    if (!data) return;
    const T = data.tokens.length;
    const to = { ArrowRight: focus + 1, ArrowDown: focus + 1, ArrowLeft: focus - 1, ArrowUp: focus - 1, Home: 0, End: T - 1, Escape: -1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    setFocus(e.key === 'Escape' ? -1 : Math.max(0, Math.min(T - 1, focus < 0 && to < 0 ? 0 : to)));
  });
  tokenPick.onchange = () => setFocus(Number(tokenPick.value));

  /** The scene as SVG: one circle.query, rect.key per token, line.line per drawn weight. */
  function svg() {
    const w = svgWriter(W, H);
    w.rect(0, 0, W, H, '#fff');
    if (!data) return w.done();
    const m = marks();
    w.text(`PC1 (${(100 * data.explained[0]).toFixed(0)}% of the variance)`, M, H - 8, { size: 11, fill: '#555' });
    w.text(`PC2 (${(100 * data.explained[1]).toFixed(0)}%)`, 11, H - M, { size: 11, fill: '#555', extra: ` transform="rotate(-90 11 ${H - M})"` });
    for (const p of m.points) {
      const [x, y] = p.xy, op = p.dim ? 0.18 : 0.85;
      const title = `<title>${p.kind} ${data.tokens[p.t].replace(/[&<>"]/g, '')}</title>`;
      if (p.kind === 'query') w.raw(`<circle class="query" cx="${x.toFixed(2)}" cy="${y.toFixed(2)}" r="3.5" fill="${p.colour}" opacity="${op}">${title}</circle>`);
      else w.raw(`<rect class="key" x="${(x - 3.5).toFixed(2)}" y="${(y - 3.5).toFixed(2)}" width="7" height="7" fill="none" stroke="${p.colour}" stroke-width="1.5" opacity="${op}">${title}</rect>`);
    }
    for (const l of m.lines) w.line(...l.from, ...l.to, '#1d1d1f', (0.75 + 5 * l.w).toFixed(2), ` class="line" opacity="${(0.35 + 0.65 * l.w).toFixed(3)}"`);
    for (const l of m.labels) w.text(l.text, l.xy[0] + 9, l.xy[1] - 6, { fill: l.colour, extra: ' font-weight="600"' });
    return w.done();
  }

  return {
    /** Draws a new projection (see the file header); keeps the focus when the token still exists. */
    draw(d) {
      data = d;
      view = layout(d.coords);
      const T = d.tokens.length;
      const names = d.tokens.map((t, i) => `${i}: ${t}${d.groups.length > 1 ? ` (input ${d.group[i] + 1})` : ''}`);
      // 513 options cost more than the whole paint: rebuilt only when the tokens change.
      if (names.join('\n') !== listed) {
        listed = names.join('\n');
        tokenPick.replaceChildren(new Option('none', '-1'), ...names.map((n, i) => new Option(n, String(i))));
      }
      focus = -2; // forces setFocus to repaint
      root.dataset.tokens = String(T);
      setFocus(d.focus ?? -1, false);
      return drawMs;
    },
    focus: (t) => setFocus(t, false),
    get focused() { return focus; },
    get drawMs() { return drawMs; },
    png: () => canvasPNG(canvas),
    svg,
    json() {
      if (!data) return {};
      const T = data.tokens.length, pairs = (from) => Array.from({ length: T }, (_, t) => [data.coords[2 * (from + t)], data.coords[2 * (from + t) + 1]]);
      return {
        method: 'pca',
        explained: Array.from(data.explained),
        tokens: data.tokens,
        ...(data.groups.length > 1 ? { inputs: data.groups, input: Array.from(data.group) } : {}),
        queries: pairs(0),
        keys: pairs(T),
        focus,
        strongest: strongest(focus).map(({ key, w }) => ({ key, token: data.tokens[key], weight: w })),
      };
    },
  };
}
