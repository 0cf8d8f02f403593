// Head view (BertViz-style): the tokens in two columns — queries on the left, keys on the
// right — and a line from query i to key j for every enabled head, its opacity the attention
// weight, its colour the head. Hover a token to keep only its lines (and shade what it attends
// to, or what attends to it). Drawn on one canvas with fillText: token text is never HTML.
import { pickMap, headColor, sharpCanvas } from './text-maps.js';
import { textOn } from '../palette.js';
import { readout } from '../a11y.js';
import { svgWriter, canvasPNG } from '../export.js';

const ROW = 18; // px per token row
const FULL_W = 410; // px: two token columns of 120 and 170 between them for the lines (narrower boxes scale it)
const MIN_W = 0.01; // lines lighter than this are skipped: rows sum to 1, so at most 100 per row
const LEVELS = 16; // opacity buckets: one path per (head, bucket) keeps big inputs fast
// Rasterizing long anti-aliased lines is what costs (seconds for ~40k lines in software): draw at
// most this many, the strongest. A focused token's lines (≤ heads × n) are always all drawn.
const BUDGET = 2000;

/** The smallest weight to draw so that at most BUDGET lines of `maps` (heads `heads`) pass. */
function cutoff(maps, heads) {
  const BINS = 1024, hist = new Uint32Array(BINS);
  let count = 0;
  for (const h of heads) {
    for (const p of maps[h]) {
      if (p >= MIN_W) {
        hist[Math.min(BINS - 1, Math.floor(p * BINS))]++;
        count++;
      }
    }
  }
  if (count <= BUDGET) return MIN_W;
  let kept = 0;
  for (let b = BINS - 1; b > 0; b--) {
    kept += hist[b];
    if (kept >= BUDGET) return Math.max(MIN_W, (b + 1) / BINS);
  }
  return MIN_W;
}

export function headView(root, onToggle = () => {}) {
  root.classList.add('text-head');
  const toggles = document.createElement('div');
  toggles.className = 'text-head-toggles';
  const wrap = document.createElement('div');
  wrap.className = 'text-head-canvas';
  const canvas = document.createElement('canvas');
  wrap.append(canvas);
  const note = document.createElement('p');
  note.className = 'muted text-head-note';
  const out = readout();
  // The keyboard picks a token as hover does: Up/Down a token, Left/Right queries or keys.
  canvas.tabIndex = 0;
  canvas.setAttribute('role', 'application');
  canvas.setAttribute('aria-roledescription', 'head view');
  canvas.setAttribute('aria-label', 'head view: up and down arrows pick a token, left and right switch between queries and keys, Escape shows all lines');
  root.append(toggles, note, wrap, out);

  let COL = 120, GAP = 170; // px per token column, and between them; fit to the box in paint()
  let v = null; // the view drawn last: { r, layer, keep, labels }
  let maps = []; // [heads] of [m, m] maps for v.layer
  let enabled = null; // Set of enabled head indices
  let focus = null; // { side: 'q' | 'k', index } while hovering a token
  let wanted = null; // heads to enable once the toggles exist (from the URL)
  let drawn = []; // the lines of the last paint: [head, i, j, weight], for export
  const buttons = [];

  function buildToggles(heads) {
    if (buttons.length === heads) return;
    enabled = new Set(wanted?.filter((h) => h < heads) ?? [...Array(heads).keys()]);
    wanted = null;
    const all = Object.assign(document.createElement('button'), { type: 'button', textContent: 'all' });
    const none = Object.assign(document.createElement('button'), { type: 'button', textContent: 'none' });
    all.onclick = () => (setEnabled([...Array(heads).keys()]), onToggle());
    none.onclick = () => (setEnabled([]), onToggle());
    buttons.length = 0;
    for (let h = 0; h < heads; h++) {
      const b = Object.assign(document.createElement('button'), { type: 'button', textContent: `${h + 1}` });
      b.dataset.head = String(h);
      b.title = `head ${h + 1}: click to toggle, double-click to show only this head`;
      b.style.setProperty('--head', headColor(h, heads));
      b.style.setProperty('--on-head', textOn(h, heads));
      b.onclick = () => {
        if (enabled.has(h)) enabled.delete(h); else enabled.add(h);
        setEnabled([...enabled]);
        onToggle();
      };
      b.ondblclick = () => (setEnabled([h]), onToggle());
      buttons.push(b);
    }
    toggles.replaceChildren('heads ', ...buttons, ' ', all, none);
  }

  function setEnabled(list) {
    enabled = new Set(list);
    buttons.forEach((b, h) => b.setAttribute('aria-pressed', String(enabled.has(h))));
    paint();
  }

  // The box's width as of the last layout (kept by a ResizeObserver): reading clientWidth in
  // paint() would force a layout after the other views' changes, on every keystroke.
  const boxOf = () => root.closest('.text-panels, section, .body');
  let boxWidth = 0;
  const resize = new ResizeObserver(() => (boxWidth = boxOf()?.clientWidth ?? 0));
  queueMicrotask(() => resize.observe(boxOf() ?? root));

  function paint() {
    if (!v) return;
    const m = v.keep.length;
    boxWidth ||= boxOf()?.clientWidth ?? 0;
    const box = boxWidth || FULL_W;
    const w = Math.max(260, Math.min(FULL_W, box - 24));
    COL = Math.round((w * 120) / FULL_W);
    GAP = w - 2 * COL;
    const ctx = sharpCanvas(canvas, 2 * COL + GAP, Math.max(1, m) * ROW + 8);
    const x0 = COL + 6, x1 = COL + GAP - 6;
    const heads = [...enabled].sort((a, b) => a - b);

    // Shade the tokens the focused one attends to (or is attended by): mean over enabled heads.
    if (focus && heads.length) {
      ctx.fillStyle = 'rgba(53, 87, 212, 0.9)';
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (const hd of heads) s += focus.side === 'q' ? maps[hd][focus.index * m + j] : maps[hd][j * m + focus.index];
        ctx.globalAlpha = Math.min(1, s / heads.length);
        ctx.fillRect(focus.side === 'q' ? COL + GAP : 0, 4 + j * ROW, COL, ROW);
      }
      ctx.globalAlpha = 0.25;
      ctx.fillRect(focus.side === 'q' ? 0 : COL + GAP, 4 + focus.index * ROW, COL, ROW);
      ctx.globalAlpha = 1;
    }

    const min = focus ? MIN_W : cutoff(maps, heads);
    let lines = 0;
    drawn = [];
    // One CSS pixel: at a device pixel ratio of 1 Skia rasterizes these as hairlines, ~10× faster
    // in software than 2 px strokes (2000 lines: ~4 ms against ~40–55 ms per redraw, which made
    // every result a long task on the main thread while typing; notes/live-typing.md).
    ctx.lineWidth = 1;
    for (const hd of heads) {
      const map = maps[hd];
      const buckets = Array.from({ length: LEVELS }, () => new Path2D());
      const used = new Uint8Array(LEVELS);
      const rows = focus?.side === 'q' ? [focus.index] : [...Array(m).keys()];
      for (const i of rows) {
        for (let j = 0; j < m; j++) {
          if (focus?.side === 'k' && j !== focus.index) continue;
          const p = map[i * m + j];
          if (p < min) continue;
          lines++;
          drawn.push([hd, i, j, p]);
          const b = Math.min(LEVELS - 1, Math.floor(p * LEVELS));
          buckets[b].moveTo(x0, y(i));
          buckets[b].lineTo(x1, y(j));
          used[b] = 1;
        }
      }
      for (let b = 0; b < LEVELS; b++) {
        if (!used[b]) continue;
        ctx.strokeStyle = headColor(hd, maps.length, (b + 1) / LEVELS);
        ctx.stroke(buckets[b]);
      }
    }

    ctx.font = '13px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    ctx.fillStyle = getComputedStyle(root).color || '#1d1d1f';
    for (let i = 0; i < m; i++) {
      ctx.textAlign = 'right';
      ctx.fillText(v.labels[i], COL - 4, y(i), COL - 8);
      ctx.textAlign = 'left';
      ctx.fillText(v.labels[i], COL + GAP + 4, y(i), COL - 8);
    }
    root.dataset.tokens = String(m);
    root.dataset.lines = String(lines);
    note.textContent = min > MIN_W ? `showing the ${lines} strongest lines (weight ≥ ${min.toFixed(3)}); hover a token for all of its lines` : '';
    root.dataset.heads = heads.join(',');
    root.dataset.focus = focus ? `${focus.side}${focus.index}` : '';
  }

  /** What the focused token attends to (query side) or is attended by (key side), strongest first. */
  function describe() {
    if (!focus || !v) return '';
    const m = v.keep.length, heads = [...enabled];
    if (!heads.length) return 'no heads enabled';
    const w = Array.from({ length: m }, (_, j) => heads.reduce((s, hd) => s + (focus.side === 'q' ? maps[hd][focus.index * m + j] : maps[hd][j * m + focus.index]), 0) / heads.length);
    const top = [...w.keys()].sort((a, b) => w[b] - w[a]).slice(0, 3).map((j) => `${v.labels[j]} ${w[j].toFixed(3)}`);
    const who = v.labels[focus.index];
    return focus.side === 'q'
      ? `query ${who} (${focus.index + 1} of ${m}) attends most to: ${top.join(', ')}`
      : `key ${who} (${focus.index + 1} of ${m}) is attended most by: ${top.join(', ')}`;
  }
  const focusOn = (next) => {
    focus = next;
    paint();
    out.textContent = describe();
  };
  canvas.addEventListener('focus', () => v && !focus && focusOn({ side: 'q', index: 0 }));
  canvas.addEventListener('keydown', (e) => {
    if (!v || !v.keep.length) return;
    const m = v.keep.length, f = focus ?? { side: 'q', index: 0 };
    const next = {
      ArrowUp: { ...f, index: Math.max(0, f.index - 1) }, ArrowDown: { ...f, index: Math.min(m - 1, f.index + 1) },
      ArrowLeft: { ...f, side: 'q' }, ArrowRight: { ...f, side: 'k' }, Home: { ...f, index: 0 }, End: { ...f, index: m - 1 },
    }[e.key];
    if (next) {
      e.preventDefault();
      focusOn(next);
    } else if (e.key === 'Escape' && focus) {
      focusOn(null);
    }
  });
  canvas.addEventListener('blur', () => focus && focusOn(null));

  canvas.onmousemove = (e) => {
    if (!v) return;
    const i = Math.floor((e.offsetY - 4) / ROW);
    const side = e.offsetX < COL ? 'q' : e.offsetX > COL + GAP ? 'k' : null;
    const next = side && i >= 0 && i < v.keep.length ? { side, index: i } : null;
    if (next?.side !== focus?.side || next?.index !== focus?.index) focusOn(next);
  };
  canvas.onmouseleave = () => {
    if (focus) {
      focus = null;
      paint();
    }
  };

  const y = (i) => 4 + i * ROW + ROW / 2;
  return {
    png: () => canvasPNG(canvas),
    /** The lines drawn (one <line> each, its opacity the weight bucket) and the tokens as <text>. */
    svg() {
      const m = v?.keep.length ?? 0;
      const width = 2 * COL + GAP, s = svgWriter(width, Math.max(1, m) * ROW + 8);
      s.rect(0, 0, width, Math.max(1, m) * ROW + 8, '#fff');
      for (const [hd, i, j, p] of drawn) {
        const b = Math.min(LEVELS - 1, Math.floor(p * LEVELS));
        s.line(COL + 6, y(i), COL + GAP - 6, y(j), headColor(hd, maps.length, (b + 1) / LEVELS), 2, ` class="line" data-head="${hd + 1}"`);
      }
      for (let i = 0; i < m; i++) {
        s.text(v.labels[i], COL - 4, y(i), { anchor: 'end', size: 13 });
        s.text(v.labels[i], COL + GAP + 4, y(i), { size: 13 });
      }
      return s.done();
    },
    /** The lines drawn as { head, from, to, weight } (head 1-based, token positions among those shown). */
    json: () => ({
      heads: [...(enabled ?? [])].sort((a, b) => a - b).map((h) => h + 1),
      lines: drawn.map(([hd, i, j, p]) => ({ head: hd + 1, from: i, to: j, weight: p })),
    }),
    /** Draws layer `view.layer` of `view.r` over the tokens `view.keep`. */
    draw(view) {
      buildToggles(view.r.heads);
      v = view;
      maps = Array.from({ length: view.r.heads }, (_, h) => pickMap(view.r, view.layer, h, view.keep));
      if (focus && focus.index >= view.keep.length) focus = null;
      setEnabled([...enabled]);
    },
    /** Shows only these heads (all heads for 'mean'). */
    /** The enabled heads, 0-based. */
    heads: () => (enabled ? [...enabled].sort((a, b) => a - b) : wanted ?? []),
    /** Enables exactly these heads (0-based), now or once the toggles exist. */
    setHeads(list) {
      if (!enabled || !v) wanted = list;
      else setEnabled(list.filter((h) => h < v.r.heads));
    },
    showHeads(head) {
      if (!v) return;
      setEnabled(head === 'mean' ? [...Array(v.r.heads).keys()] : [head]);
    },
  };
}
