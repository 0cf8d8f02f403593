// Per-head entropy: a 6 × 12 grid (layers × heads) of mean row entropies, the chosen layer's row
// also drawn as bars. Low entropy = a head that looks at one token; ln(m) = uniform attention.
// Computed in JS from the maps on screen (so hiding [CLS]/[SEP] changes it too).
import { pickMap, meanEntropy, headColor, sharpCanvas } from './text-maps.js';
import { ramp, rgb } from '../util.js';
import { svgWriter, canvasPNG } from '../export.js';

const CELL = 26, BAR_H = 70, LABEL = 28;

/** Darker = more focused (lower entropy), on the heatmaps' ramp. */
const shadeOf = (e, max) => ramp((1 - Math.min(1, e / max)) ** 2);

export function entropyView(root, onPick) {
  root.classList.add('text-entropy');
  const canvas = document.createElement('canvas');
  const caption = document.createElement('p');
  caption.className = 'muted';
  root.append(canvas, caption);
  let last = null, cache = null;

  canvas.onclick = (e) => {
    if (!last) return;
    const { layers, heads } = last;
    const h = Math.floor((e.offsetX - LABEL) / CELL), l = Math.floor((e.offsetY - BAR_H - 8) / CELL);
    if (h >= 0 && h < heads && l >= 0 && l < layers) onPick(l, h);
    else if (h >= 0 && h < heads && e.offsetY < BAR_H) onPick(last.layer, h);
  };

  return {
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
    draw(v) {
      const { r, keep, layer, head } = v;
      const m = keep.length, max = Math.log(Math.max(m, 2));
      // Every map is read once per result (and visible set); layer/head picks reuse the numbers.
      if (cache?.r !== r || cache.keep !== keep) {
        const ent = new Float32Array(r.layers * r.heads);
        for (let l = 0; l < r.layers; l++) {
          for (let h = 0; h < r.heads; h++) ent[l * r.heads + h] = meanEntropy(pickMap(r, l, h, keep), m);
        }
        cache = { r, keep, ent };
      }
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

      const e = head === 'mean' ? null : ent[layer * r.heads + head];
      caption.textContent = `Mean row entropy per head (nats; 0 = each token looks at one token, ln ${m} = ${max.toFixed(2)} = uniform). ` +
        `Bars: layer ${layer + 1}; grid: all layers, darker = more focused. ` +
        (e === null ? '' : `Layer ${layer + 1} head ${head + 1}: ${e.toFixed(3)}. `) + 'Click a cell to open it.';
      root.dataset.entropy = Array.from(ent, (x) => x.toFixed(4)).join(',');
    },
  };
}
