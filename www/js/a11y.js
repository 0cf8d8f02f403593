// Keyboard and screen-reader access shared by every view: a map drawn on a canvas becomes one
// focusable element whose arrow keys move a focused cell, and a visible readout (a polite live
// region) says what the cell holds; the page's tab list follows the ARIA tabs pattern.
import { el } from './util.js';

/** A visible line that also reads its changes to screen readers (aria-live polite). */
export function readout(className = 'readout') {
  const p = el('p', { className });
  p.setAttribute('aria-live', 'polite');
  return p;
}

/**
 * Cell-by-cell keyboard access to a map drawn on `target`:
 * - `size()` → [rows, cols] of what is drawn now; `describe(r, c)` → the text for one cell;
 * - `onMove(cell | null)` lets the view mark the focused cell; `onPick(r, c)` runs on Enter/Space;
 * - `out` (a readout) shows the description; pointer hover shows it too (`show(r, c)`).
 * Arrows move, Home/End go to the row's ends, PageUp/PageDown to the column's, Escape leaves.
 */
export function cellNav(target, { label, size, describe, onMove = () => {}, onPick, out }) {
  target.tabIndex = 0;
  target.setAttribute('role', 'application');
  target.setAttribute('aria-roledescription', 'map');
  let cell = null;
  const setLabel = () => {
    const [rows, cols] = size();
    target.setAttribute('aria-label', `${typeof label === 'function' ? label() : label}, ${rows} × ${cols}: arrow keys move between cells${onPick ? ', Enter picks one' : ''}`);
  };
  setLabel();

  function move(r, c) {
    const [rows, cols] = size();
    if (!rows || !cols) return;
    cell = { r: Math.min(rows - 1, Math.max(0, r)), c: Math.min(cols - 1, Math.max(0, c)) };
    out.textContent = describe(cell.r, cell.c);
    target.dataset.cell = `${cell.r},${cell.c}`;
    onMove(cell);
  }

  target.addEventListener('focus', () => {
    setLabel();
    const [rows, cols] = size();
    if (cell && (cell.r >= rows || cell.c >= cols)) cell = null;
    move(cell?.r ?? 0, cell?.c ?? 0);
  });
  target.addEventListener('blur', () => onMove(null));
  target.addEventListener('keydown', (e) => {
    const [rows, cols] = size();
    if (!cell) return;
    const step = {
      ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1],
      Home: [0, -cols], End: [0, cols], PageUp: [-rows, 0], PageDown: [rows, 0],
    }[e.key];
    if (step) {
      e.preventDefault();
      move(cell.r + step[0], cell.c + step[1]);
    } else if (onPick && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      onPick(cell.r, cell.c);
    } else if (e.key === 'Escape') {
      target.blur();
    }
  });
  return {
    /** Shows cell (r, c) in the readout (pointer hover); null clears nothing. */
    show(r, c) {
      const [rows, cols] = size();
      if (r >= 0 && c >= 0 && r < rows && c < cols) out.textContent = describe(r, c);
    },
    /** After a redraw: the label (sizes) and the focused cell's text follow the new map. */
    refresh() {
      setLabel();
      const [rows, cols] = size();
      if (!cell) return;
      if (cell.r >= rows || cell.c >= cols) cell = null;
      else out.textContent = describe(cell.r, cell.c); // (not onMove: a view may redraw there)
    },
    get cell() { return cell; },
  };
}

/**
 * The ARIA tabs pattern on `list` (role=tablist) holding buttons with data-view, each controlling
 * the panel `panelOf(button)`: ids, aria-controls / aria-labelledby, one tab stop (the selected
 * tab), arrow keys / Home / End move and open.
 */
export function tabList(list, panelOf, open) {
  const tabs = () => [...list.querySelectorAll('[role="tab"]')];
  for (const b of tabs()) {
    const p = panelOf(b);
    b.id ||= `tab-${b.dataset.view}`;
    p.id ||= `panel-${b.dataset.view}`;
    b.setAttribute('aria-controls', p.id);
    p.setAttribute('role', 'tabpanel');
    p.setAttribute('aria-labelledby', b.id);
  }
  list.addEventListener('keydown', (e) => {
    const all = tabs(), i = all.indexOf(e.target);
    if (i < 0) return;
    const j = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: all.length - 1 }[e.key];
    if (j === undefined) return;
    e.preventDefault();
    const next = all[(j + all.length) % all.length];
    next.focus();
    open(next.dataset.view);
  });
  return {
    /** Marks `view` selected: aria-selected, and the only tab in the Tab order. */
    select(view) {
      for (const b of tabs()) {
        const on = b.dataset.view === view;
        b.setAttribute('aria-selected', String(on));
        b.tabIndex = on ? 0 : -1;
      }
    },
  };
}

/**
 * A grid of thumbnails (`items`, row-major, `cols` per row) as buttons with one Tab stop: arrow
 * keys move between them, Enter or Space (and a click) runs `onPick(index)`. `name(i)` labels one.
 */
export function thumbGrid(items, cols, name, onPick) {
  items.forEach((c, i) => {
    c.tabIndex = i === 0 ? 0 : -1;
    c.setAttribute('role', 'button');
    c.setAttribute('aria-label', name(i));
    c.onclick = () => onPick(i);
    c.onkeydown = (e) => {
      if (e.key === 'Enter' || e.key === ' ') return void (e.preventDefault(), onPick(i));
      const rows = Math.ceil(items.length / cols), r = Math.floor(i / cols), k = i % cols;
      const [dr, dk] = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[e.key] ?? [0, 0];
      if (!dr && !dk) return;
      e.preventDefault();
      const next = items[Math.min(items.length - 1, Math.min(rows - 1, Math.max(0, r + dr)) * cols + Math.min(cols - 1, Math.max(0, k + dk)))];
      items.forEach((x) => (x.tabIndex = x === next ? 0 : -1));
      next.focus();
    };
  });
}
