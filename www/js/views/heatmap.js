// A [rows, cols] weight matrix as a canvas heatmap with token labels. Labels are text nodes
// (textContent), never HTML. Exact zeros (sparsemax, masks) stay white.

const MAX_PX = 520;

/** A [rows, cols] map as ImageData, one pixel per cell (also used by thumbnails elsewhere). */
export function shade(weights, nr, nc) {
  const img = new ImageData(Math.max(nc, 1), Math.max(nr, 1));
  for (let i = 0; i < nr * nc; i++) {
    const w = Math.min(1, Math.max(0, weights[i]));
    // white → deep blue; a perceptual-ish ramp via sqrt so small weights stay visible
    const t = Math.sqrt(w);
    img.data[4 * i] = 255 - t * 222;
    img.data[4 * i + 1] = 255 - t * 168;
    img.data[4 * i + 2] = 255 - t * 43;
    img.data[4 * i + 3] = 255;
  }
  return img;
}

/** Creates the heatmap inside `root`; returns { draw(weights, rowLabels, colLabels) }. */
export function heatmap(root) {
  root.classList.add('heatmap');
  const cols = document.createElement('div');
  cols.className = 'cols';
  const rows = document.createElement('div');
  rows.className = 'rows';
  const canvas = document.createElement('canvas');
  const tip = document.createElement('div');
  tip.className = 'tip';
  tip.hidden = true;
  root.append(document.createElement('div'), cols, rows, canvas);
  document.body.append(tip);
  let state = null;

  function labels(el, names, cell, vertical) {
    el.replaceChildren(...names.map((n) => {
      const s = document.createElement('span');
      s.textContent = n;
      s.title = n;
      s.style[vertical ? 'width' : 'height'] = `${cell}px`;
      return s;
    }));
  }

  canvas.onmousemove = (e) => {
    if (!state) return;
    const { weights, nc, cell, rowLabels, colLabels } = state;
    const r = Math.floor(e.offsetY / cell), c = Math.floor(e.offsetX / cell);
    if (r < 0 || c < 0 || r >= rowLabels.length || c >= nc) return (tip.hidden = true);
    tip.textContent = `${rowLabels[r]} → ${colLabels[c]}: ${weights[r * nc + c].toFixed(4)}`;
    tip.style.left = `${e.clientX + 12}px`;
    tip.style.top = `${e.clientY + 12}px`;
    tip.hidden = false;
  };
  canvas.onmouseleave = () => (tip.hidden = true);

  return {
    draw(weights, rowLabels, colLabels) {
      const nr = rowLabels.length, nc = colLabels.length;
      const cell = Math.max(6, Math.min(28, Math.floor(MAX_PX / Math.max(nr, nc, 1))));
      canvas.width = nc * cell;
      canvas.height = nr * cell;
      const ctx = canvas.getContext('2d');
      const img = shade(weights, nr, nc);
      // Draw at one pixel per cell, then scale up without smoothing.
      const small = new OffscreenCanvas(Math.max(nc, 1), Math.max(nr, 1));
      small.getContext('2d').putImageData(img, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
      labels(cols, colLabels, cell, true);
      labels(rows, rowLabels, cell, false);
      root.dataset.tokens = String(nr);
      state = { weights, nc, cell, rowLabels, colLabels };
    },
  };
}
