// A colour bar: the scale a map is drawn with, as a gradient strip with numbered ticks and a
// caption, so a reader can turn a colour back into a number. Plain DOM (text stays text).
import { el, rgb } from '../util.js';

/** `set({ colourAt(t) → [r, g, b] for t in [0, 1], ticks: [[t, text]], label })` draws it. */
export function colourBar() {
  const strip = el('div', { className: 'colour-bar-strip' });
  const ticks = el('div', { className: 'colour-bar-ticks' });
  const caption = el('span', { className: 'colour-bar-label' });
  const root = el('div', { className: 'colour-bar' }, caption, el('div', { className: 'colour-bar-scale' }, strip, ticks));
  return {
    root,
    set({ colourAt, ticks: marks, label }) {
      const stops = Array.from({ length: 11 }, (_, i) => `${rgb(colourAt(i / 10))} ${i * 10}%`);
      strip.style.background = `linear-gradient(to right, ${stops.join(', ')})`;
      ticks.replaceChildren(...marks.map(([t, text]) => {
        const s = el('span', { textContent: text });
        s.style.left = `${t * 100}%`;
        return s;
      }));
      caption.textContent = label;
    },
  };
}

/** Ticks at 0, ¼, ½, ¾, 1 of [lo, hi], with `digits` decimals. */
export const evenTicks = (lo, hi, digits = 2) => [0, 0.25, 0.5, 0.75, 1].map((t) => [t, String(Number((lo + t * (hi - lo)).toFixed(digits)))]);
