// All layers × heads maps (72 for DINOv2 ViT-S) for the current query, as small thumbnails:
// rows are layers, columns heads. Click one to open it in the main overlay.
import { drawMap, patchRow, mapSVG } from './image-draw.js';
import { svgWriter, composePNG } from '../export.js';
import { thumbGrid } from '../a11y.js';
import { colourBar } from './colour-bar.js';
import { colour } from '../util.js';

const THUMB = 64; // longer side of a thumbnail, px

export function gridPanel({ onPick }) {
  const root = document.createElement('div');
  root.className = 'image-grid';
  const caption = document.createElement('p');
  const table = document.createElement('div');
  table.className = 'image-grid-maps';
  const bar = colourBar();
  bar.set({ colourAt: (t) => colour('viridis', t), ticks: [[0, 'lowest'], [1, 'highest']], label: 'each map from its own lowest to highest weight' });
  root.append(caption, table, bar.root);
  root.dataset.part = 'image-grid';
  let last = null; // { r, query, maps: [layers * heads] }, for export
  let canvases = [];

  function build(layers, heads, w, h) {
    table.style.gridTemplateColumns = `auto repeat(${heads}, auto)`;
    const cells = [document.createElement('span')];
    for (let hd = 0; hd < heads; hd++) cells.push(Object.assign(document.createElement('span'), { textContent: `head ${hd + 1}` }));
    canvases = [];
    for (let l = 0; l < layers; l++) {
      cells.push(Object.assign(document.createElement('span'), { textContent: `layer ${l + 1}` }));
      for (let hd = 0; hd < heads; hd++) {
        const c = document.createElement('canvas');
        c.width = w;
        c.height = h;
        c.title = `layer ${l + 1}, head ${hd + 1}`;
        c.dataset.layer = String(l);
        c.dataset.head = String(hd);
        canvases.push(c);
        cells.push(c);
      }
    }
    table.replaceChildren(...cells);
    thumbGrid(canvases, heads, (i) => `layer ${Math.floor(i / heads) + 1}, head ${(i % heads) + 1}`,
      (i) => onPick(Math.floor(i / heads), i % heads));
  }

  const LABEL = 60, GAP = 4;
  return {
    root,
    exporter: {
      png: () => composePNG(table),
      /** Every map's patches as <rect class="cell">, with layer/head labels. */
      svg() {
        const r = last?.r, layers = r?.layers ?? 0, heads = r?.heads ?? 0;
        const scale = r ? THUMB / Math.max(r.gridW, r.gridH) : 1, w = r ? r.gridW * scale : 0, h = r ? r.gridH * scale : 0;
        const s = svgWriter(LABEL + heads * (w + GAP), 20 + layers * (h + GAP));
        for (let hd = 0; hd < heads; hd++) s.text(`head ${hd + 1}`, LABEL + hd * (w + GAP), 10, { size: 11 });
        for (let l = 0; l < layers; l++) {
          s.text(`layer ${l + 1}`, 2, 20 + l * (h + GAP) + h / 2, { size: 11 });
          for (let hd = 0; hd < heads; hd++) mapSVG(s, last.maps[l * heads + hd], r.gridW, r.gridH, LABEL + hd * (w + GAP), 20 + l * (h + GAP), w, h);
        }
        return s.done();
      },
      json: () => ({
        view: 'image-grid', model: last?.state?.model ?? 'DINOv2 ViT-S/14', gridW: last?.r.gridW, gridH: last?.r.gridH, query: last?.query,
        maps: last ? Array.from({ length: last.r.layers }, (_, l) => Array.from({ length: last.r.heads }, (_, h) => Array.from(last.maps[l * last.r.heads + h]))) : [],
      }),
    },
    draw(state, query = 0) {
      const r = state?.result;
      if (!r) return;
      const scale = THUMB / Math.max(r.gridW, r.gridH);
      const w = Math.round(r.gridW * scale), h = Math.round(r.gridH * scale);
      last = { r, query, maps: [], state };
      // The 72 canvases stay while the model and grid do: a click only repaints them.
      if (canvases.length !== r.layers * r.heads || canvases[0].width !== w || canvases[0].height !== h) build(r.layers, r.heads, w, h);
      for (let l = 0; l < r.layers; l++) {
        for (let hd = 0; hd < r.heads; hd++) {
          last.maps.push(patchRow(r, l, hd, query));
          drawMap(canvases[l * r.heads + hd], last.maps.at(-1), r.gridW, r.gridH);
        }
      }
      caption.textContent = `all ${r.layers * r.heads} maps (${r.layers} layers × ${r.heads} heads), query: ${query === 0 ? 'class token' : `patch ${query}`}; click one (or Enter on it) to open it`;
    },
  };
}
