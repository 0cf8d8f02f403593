// Per-head entropy: a 6 × 12 grid (layers × heads) of mean row entropies, the chosen layer's row
// also drawn as bars. Low entropy = a head that looks at one token; ln(m) = uniform attention.
// Of the maps on screen: the model's own, whose row entropies the engine's attention kernels
// computed in the forward (runText's `stats`, in the worker, off this thread); with [CLS]/[SEP]
// hidden, the rows this page renormalized, whose entropy it computes itself.
import { pickMap, meanEntropy, headColor, sharpCanvas } from './text-maps.js';
import { ramp, rgb } from '../util.js';
import { svgWriter, canvasPNG } from '../export.js';
import { cellNav, readout } from '../a11y.js';
import { colourBar, evenTicks } from './colour-bar.js';

const CELL = 26, BAR_H = 70, LABEL = 28;

/** Darker = more focused (lower entropy), on the heatmaps' ramp. */
const shadeOf = (e, max) => ramp((1 - Math.min(1, e / max)) ** 2);

export function entropyView(root, onPick) {
  root.classList.add('text-entropy');
  const canvas = document.createElement('canvas');
  const caption = document.createElement('p');
  caption.className = 'muted';
  const out = readout();
  const bar = colourBar();
  root.append(canvas, out, bar.root, caption);
  let last = null, cache = null, lastView = null, kb = null;
  const nav = cellNav(canvas, {
    label: 'entropy per layer and head',
    size: () => (last ? [last.layers, last.heads] : [0, 0]),
    describe: (l, h) => `layer ${l + 1}, head ${h + 1}: ${cache.ent[l * last.heads + h].toFixed(3)} nats (uniform: ${last.max.toFixed(2)})`,
    out,
    onMove(cell) {
      kb = cell;
      if (lastView) api.draw(lastView);
    },
    onPick: (l, h) => onPick(l, h),
  });

  canvas.onmousemove = (e) => {
    if (!last) return;
    const h = Math.floor((e.offsetX - LABEL) / CELL), l = Math.floor((e.offsetY - BAR_H - 8) / CELL);
    if (e.offsetY < BAR_H) nav.show(last.layer, h); else nav.show(l, h);
  };
  canvas.onclick = (e) => {
    if (!last) return;
    const { layers, heads } = last;
    const h = Math.floor((e.offsetX - LABEL) / CELL), l = Math.floor((e.offsetY - BAR_H - 8) / CELL);
    if (h >= 0 && h < heads && l >= 0 && l < layers) onPick(l, h);
    else if (h >= 0 && h < heads && e.offsetY < BAR_H) onPick(last.layer, h);
  };

  const api = {
    png: () => canvasPNG(canvas),
    /** The bars and the grid as <rect>s (class "bar" / "cell"), the labels as <text>. */
    svg() {
      const { layers = 0, heads = 0, layer = 0, head = 'mean', max = 1 } = last ?? {};
      const ent = cache?.ent ?? [], top = BAR_H + 8;
      const s = svgWriter(LABEL + heads * CELL + 4, top + layers * CELL + 16);
      s.rect(0, 0, LABEL + heads * CELL + 4, top + layers * CELL + 16, '#fff');
      for (let h = 0; h < heads; h++) {
        const bh = (BAR_H - 4) * Math.min(1, ent[layer * heads + h] / max);
        s.rect(LABEL + h * CELL + 3, BAR_H - bh, CELL - 6, bh, headColor(h, heads, head === 'mean' || head === h ? 1 : 0.35), ' class="bar"');
        s.text(`${h + 1}`, LABEL + h * CELL + CELL / 2, top + layers * CELL + 8, { anchor: 'middle', size: 11, fill: '#6b6b70' });
      }
      for (let l = 0; l < layers; l++) {
        s.text(`L${l + 1}`, LABEL - 4, top + l * CELL + CELL / 2, { anchor: 'end', size: 11, fill: '#6b6b70' });
        for (let h = 0; h < heads; h++) s.rect(LABEL + h * CELL, top + l * CELL, CELL - 1, CELL - 1, rgb(shadeOf(ent[l * heads + h], max)), ' class="cell"');
      }
      return s.done();
    },
    /** Mean row entropy (nats) per layer × head, and ln m (uniform). */
    json() {
      const { layers = 0, heads = 0, max = 0 } = last ?? {};
      const ent = cache?.ent ?? [];
      return { uniform: max, entropy: Array.from({ length: layers }, (_, l) => Array.from(ent.slice(l * heads, (l + 1) * heads))) };
    },
    /** Computes one layer's entropies (the page spreads them over tasks; draw() does what is left). */
    prepare(v, l) {
      const { r, keep } = v;
      // Every map is read once per result (and visible set); layer/head picks reuse the numbers.
      if (cache?.r !== r || cache.keep !== keep) cache = { r, keep, ent: new Float32Array(r.layers * r.heads), done: new Set() };
      if (cache.done.has(l)) return;
      const n = r.tokens.length, m = keep.length;
      for (let h = 0; h < r.heads; h++) {
        if (r.entropy && m === n) {
          // The engine's entropy of each row [layers, heads, n]: their mean.
          let sum = 0;
          for (let i = (l * r.heads + h) * n, end = i + n; i < end; i++) sum += r.entropy[i];
          cache.ent[l * r.heads + h] = n ? sum / n : 0;
        } else {
          cache.ent[l * r.heads + h] = meanEntropy(pickMap(r, l, h, keep), m);
        }
      }
      cache.done.add(l);
    },
    draw(v) {
      lastView = v;
      const { r, keep, layer, head } = v;
      const m = keep.length, max = Math.log(Math.max(m, 2));
      for (let l = 0; l < r.layers; l++) this.prepare(v, l);
      const { ent } = cache;
      last = { layers: r.layers, heads: r.heads, layer, head, m, max };
      const ctx = sharpCanvas(canvas, LABEL + r.heads * CELL + 4, BAR_H + 8 + r.layers * CELL + 16);
      ctx.font = '11px system-ui, sans-serif';
      ctx.textBaseline = 'middle';

      // Bars: the chosen layer, one per head, full height = ln(m).
      for (let h = 0; h < r.heads; h++) {
        const e = ent[layer * r.heads + h], bh = (BAR_H - 4) * Math.min(1, e / max);
        ctx.fillStyle = headColor(h, r.heads, head === 'mean' || head === h ? 1 : 0.35);
        ctx.fillRect(LABEL + h * CELL + 3, BAR_H - bh, CELL - 6, bh);
      }
      ctx.fillStyle = '#6b6b70';
      ctx.textAlign = 'right';
      ctx.fillText(`L${layer + 1}`, LABEL - 4, BAR_H / 2);

      // Grid: all layers × heads, darker = more focused (lower entropy).
      const top = BAR_H + 8;
      for (let l = 0; l < r.layers; l++) {
        ctx.fillStyle = '#6b6b70';
        ctx.textAlign = 'right';
        ctx.fillText(`L${l + 1}`, LABEL - 4, top + l * CELL + CELL / 2);
        for (let h = 0; h < r.heads; h++) {
          ctx.fillStyle = rgb(shadeOf(ent[l * r.heads + h], max));
          ctx.fillRect(LABEL + h * CELL, top + l * CELL, CELL - 1, CELL - 1);
        }
      }
      ctx.strokeStyle = '#3557d4';
      ctx.lineWidth = 2;
      if (head === 'mean') ctx.strokeRect(LABEL - 1, top + layer * CELL - 1, r.heads * CELL + 1, CELL + 1);
      else ctx.strokeRect(LABEL + head * CELL - 1, top + layer * CELL - 1, CELL + 1, CELL + 1);
      ctx.fillStyle = '#6b6b70';
      ctx.textAlign = 'center';
      for (let h = 0; h < r.heads; h++) ctx.fillText(`${h + 1}`, LABEL + h * CELL + CELL / 2, top + r.layers * CELL + 8);

      if (kb && kb.r < r.layers && kb.c < r.heads) {
        ctx.setLineDash([3, 2]);
        ctx.strokeStyle = '#ff2d55';
        ctx.strokeRect(LABEL + kb.c * CELL + 1, top + kb.r * CELL + 1, CELL - 3, CELL - 3);
        ctx.setLineDash([]);
      }
      bar.set({ colourAt: (t) => shadeOf(t * max, max), ticks: evenTicks(0, max, 1), label: 'mean row entropy (nats)' });
      const e = head === 'mean' ? null : ent[layer * r.heads + head];
      caption.textContent = `Mean row entropy per head (nats; 0 = each token looks at one token, ln ${m} = ${max.toFixed(2)} = uniform). ` +
        `Bars: layer ${layer + 1}; grid: all layers, darker = more focused. ` +
        (e === null ? '' : `Layer ${layer + 1} head ${head + 1}: ${e.toFixed(3)}. `) + 'Click a cell, or focus the grid and press Enter, to open it.';
      root.dataset.entropy = Array.from(ent, (x) => x.toFixed(4)).join(',');
      nav.refresh();
    },
  };
  return api;
}
