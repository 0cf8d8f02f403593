// All layers × heads maps (72 for DINOv2 ViT-S) for the current query, as small thumbnails:
// rows are layers, columns heads. Click one to open it in the main overlay.
import { drawMap, patchRow } from './image-draw.js';

const THUMB = 64; // longer side of a thumbnail, px

export function gridPanel({ onPick }) {
  const root = document.createElement('div');
  root.className = 'image-grid';
  const caption = document.createElement('p');
  const table = document.createElement('div');
  table.className = 'image-grid-maps';
  root.append(caption, table);

  return {
    root,
    draw(state, query = 0) {
      const r = state?.result;
      if (!r) return;
      const scale = THUMB / Math.max(r.gridW, r.gridH);
      table.style.gridTemplateColumns = `auto repeat(${r.heads}, auto)`;
      const cells = [document.createElement('span')];
      for (let h = 0; h < r.heads; h++) {
        const s = document.createElement('span');
        s.textContent = `head ${h + 1}`;
        cells.push(s);
      }
      for (let l = 0; l < r.layers; l++) {
        const s = document.createElement('span');
        s.textContent = `layer ${l + 1}`;
        cells.push(s);
        for (let h = 0; h < r.heads; h++) {
          const c = document.createElement('canvas');
          c.width = Math.round(r.gridW * scale);
          c.height = Math.round(r.gridH * scale);
          c.title = `layer ${l + 1}, head ${h + 1}`;
          c.dataset.layer = String(l);
          c.dataset.head = String(h);
          drawMap(c, patchRow(r, l, h, query), r.gridW, r.gridH);
          c.onclick = () => onPick(l, h);
          cells.push(c);
        }
      }
      table.replaceChildren(...cells);
      caption.textContent = `all ${r.layers * r.heads} maps (${r.layers} layers × ${r.heads} heads), query: ${query === 0 ? 'class token' : `patch ${query}`}; click one to open it`;
    },
  };
}
