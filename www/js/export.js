// Export of a view as PNG (its canvas, or its canvases composed), SVG (vector: built from the
// same numbers the canvas draws) and JSON (those numbers). A view part registers an exporter
// { png(): Promise<Blob>, svg(): string, json(): object }; exportMenu() gives it a small menu.
import { el } from './util.js';

const XML = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
export const esc = (s) => String(s).replace(/[&<>"]/g, (c) => XML[c]);
const num = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(2));

/** A small SVG writer: collects elements, then `done()` wraps them in <svg width height>. */
export function svgWriter(w, h) {
  const parts = [];
  return {
    rect(x, y, rw, rh, fill, extra = '') {
      parts.push(`<rect x="${num(x)}" y="${num(y)}" width="${num(rw)}" height="${num(rh)}" fill="${fill}"${extra}/>`);
    },
    line(x1, y1, x2, y2, stroke, width = 1, extra = '') {
      parts.push(`<line x1="${num(x1)}" y1="${num(y1)}" x2="${num(x2)}" y2="${num(y2)}" stroke="${stroke}" stroke-width="${width}"${extra}/>`);
    },
    poly(points, stroke, width = 1) {
      parts.push(`<polyline fill="none" stroke="${stroke}" stroke-width="${width}" points="${points.map(([x, y]) => `${num(x)},${num(y)}`).join(' ')}"/>`);
    },
    circle(x, y, r, fill) { parts.push(`<circle cx="${num(x)}" cy="${num(y)}" r="${r}" fill="${fill}"/>`); },
    text(s, x, y, { anchor = 'start', size = 12, fill = '#1d1d1f', extra = '' } = {}) {
      parts.push(`<text x="${num(x)}" y="${num(y)}" font-size="${size}" text-anchor="${anchor}" dominant-baseline="middle" fill="${fill}"${extra}>${esc(s)}</text>`);
    },
    raw(s) { parts.push(s); },
    done() {
      return `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(w)}" height="${Math.ceil(h)}" viewBox="0 0 ${Math.ceil(w)} ${Math.ceil(h)}" font-family="system-ui, sans-serif">\n${parts.join('\n')}\n</svg>\n`;
    },
  };
}

/** One canvas as a PNG Blob at its own pixel size. */
export const canvasPNG = (c) => new Promise((resolve, reject) => c.toBlob((b) => (b ? resolve(b) : reject(new Error('the canvas could not be encoded'))), 'image/png'));

/** Every visible canvas under `root`, drawn where it sits on screen, as one PNG (CSS pixels × dpr). */
export function composePNG(root) {
  const canvases = [...root.querySelectorAll('canvas')].filter((c) => c.offsetParent !== null || c.getClientRects().length);
  if (canvases.length === 1) return canvasPNG(canvases[0]);
  const box = root.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
  const out = document.createElement('canvas');
  out.width = Math.max(1, Math.round(box.width * dpr));
  out.height = Math.max(1, Math.round(box.height * dpr));
  const ctx = out.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.imageSmoothingEnabled = false;
  for (const c of canvases) {
    const b = c.getBoundingClientRect();
    ctx.drawImage(c, (b.left - box.left) * dpr, (b.top - box.top) * dpr, b.width * dpr, b.height * dpr);
  }
  return canvasPNG(out);
}

function download(name, blob) {
  const a = el('a', { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** The exporter's three results as Blobs: `format` 'png' | 'svg' | 'json'. */
export async function exportBlob(exporter, format) {
  if (format === 'png') return exporter.png();
  if (format === 'svg') return new Blob([exporter.svg()], { type: 'image/svg+xml' });
  return new Blob([JSON.stringify(exporter.json(), null, 1)], { type: 'application/json' });
}

/** A "save" menu (PNG / SVG / JSON) appended to `parent`, saving `name`.png etc. */
export function exportMenu(parent, name, exporter) {
  const menu = el('details', { className: 'export-menu' }, el('summary', { textContent: 'save', title: `save this view (${name})` }));
  menu.dataset.part = 'export';
  for (const format of ['png', 'svg', 'json']) {
    const b = el('button', { type: 'button', textContent: format.toUpperCase() });
    b.dataset.export = format;
    b.onclick = async () => {
      try {
        download(`${name}.${format}`, await exportBlob(exporter, format));
      } catch (e) {
        b.title = `could not export: ${e?.message ?? e}`;
      }
      menu.open = false;
    };
    menu.append(b);
  }
  parent.append(menu);
  return menu;
}
