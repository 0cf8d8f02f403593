// Image view: DINOv2 ViT-S/14 attention on any photo. Input by file picker, drag-and-drop,
// paste or the bundled samples; the browser decodes it (huge images are downscaled first), wasm
// runs the model (pg.runImage), and the panels draw from the returned typed arrays:
//   image-overlay.js  the image with a class-token / clicked-patch / rollout map over it
//   image-grid.js     all layers × heads maps for the current query
// A file that cannot be decoded shows a message and leaves the previous result in place.
// image-model.js swaps in the reader's own image encoder (pg.loadVisionModelFiles) and back; the
// current image runs again on the new model. Such a model has no saliency decoder.
// State (URL keys / element attributes): image (a sample's name or a URL), and the overlay's
// layer, head, source, fusion, opacity, colormap, query.
import { el, useCss } from '../util.js';
import { getVisionModel, manifest, modelsUrl } from '../engine.js';
import { modelControl, BUILT_IN } from './image-model.js';
import { overlayPanel } from './image-overlay.js';
import { gridPanel } from './image-grid.js';
import { imageQk } from './qk-image.js';
import { glossary, explain } from '../glossary.js';

const SAMPLES = [
  ['astronaut', 'Eileen Collins (NASA)'],
  ['coffee', 'a cup of coffee'],
  ['chelsea', 'Chelsea the cat'],
  ['rocket', 'a rocket launch'],
];
const MAX_DECODE = 1024; // larger images are downscaled in the browser before reaching wasm

const SAMPLE_DIR = new URL('../../samples/', import.meta.url);
/** An `image` state value as a URL: a sample's name, or a URL relative to the page. */
const imageUrl = (v) => (SAMPLES.some(([n]) => n === v) ? new URL(`${v}.jpg`, SAMPLE_DIR).href : new URL(v, document.baseURI).href);

export async function mount(root, app) {
  const { pg } = app;
  const changed = () => app.changed?.();
  useCss(app, 'image');
  const status = el('p', { className: 'image-status', role: 'status' });
  const progress = el('progress', { className: 'image-progress' });
  const picker = el('input', { type: 'file', accept: 'image/*' });
  const samples = el('div', { className: 'image-samples' }, 'samples: ',
    ...SAMPLES.map(([name, title]) => {
      const b = el('button', { type: 'button', title }, el('img', { src: imageUrl(name), alt: title, width: 48, height: 48 }));
      b.dataset.sample = name;
      b.onclick = () => (source = name, changed(), fromUrl(imageUrl(name), name));
      return b;
    }));
  const drop = el('div', { className: 'image-drop' }, el('label', {}, 'choose an image ', picker), ' · drop one here · or paste (Ctrl+V)');
  const overlay = overlayPanel(app, { onQuery: (q) => grid.draw(state, q), onChange: changed });
  const grid = gridPanel({ onPick: (layer, head) => (overlay.select(layer, head), changed()) });
  const qk = imageQk(app, app.initial ?? {});
  const models = modelControl({
    load: (files, onProgress) => pg.loadVisionModelFiles(files, onProgress),
    reset: async () => pg.loadVisionModel(`${modelsUrl(app.models)}${(await manifest(app.models)).vision}`),
    onLoaded(name, info) {
      model = name;
      modelSide = info.imageSize ?? 224;
      if (last) run(last.blob, last.name);
    },
  });
  // The model's label, the longer side its input is resized to (224 built in; then cropped to
  // whole patches), and the last image run ({ blob, name }).
  let model = BUILT_IN, modelSide = 224, last = null;
  const inputs = el('div', { className: 'image-inputs' }, drop, samples, models.root);
  inputs.dataset.part = 'controls image';
  const about = explain('DINOv2 cuts the image into 14 × 14-pixel patches, one token each, plus a class token. The overlay shows how much one query (the class token, or the patch you click) attends to every patch: bright = much, dark = little. Try: click an eye or the background; compare layer 1 with layer 12; switch to rollout. Focus the image and use the arrow keys to read each patch, Enter to make it the query.');
  about.dataset.part = 'intro explain';
  root.append(el('div', { className: 'image-view' }, about, glossary(['patch', 'classToken', 'heads', 'layer', 'rollout', 'residual'], 'What do these words mean?', 'intro glossary'), inputs, el('div', { className: 'image-load' }, progress, status), overlay.root, grid.root, qk.root));
  // Shown alone (the image-qk embed view): open, since nothing else is there to open it.
  if (getComputedStyle(root.querySelector('[data-part~="image-overlay"]')).display === 'none' && getComputedStyle(qk.root).display !== 'none') qk.open();
  overlay.set(app.initial ?? {});
  let source = app.initial?.image ?? SAMPLES[0][0]; // the image state: a sample's name or a URL

  const state = { result: null, bitmap: null, name: '' };
  const say = (text, warn = false) => {
    status.textContent = text;
    status.classList.toggle('warn', warn);
  };

  // Model: the manifest names the file; progress while it downloads.
  say('loading the vision model…');
  const controller = {
    exporters: { ...overlay.exporters, 'image-grid': grid.exporter, 'image-qk': { ...qk.exporter, json: () => ({ model, backend: pg.backend, ...qk.exporter.json() }) } },
    main: 'image-overlay',
    state: () => ({ image: source, ...overlay.state(), ...qk.state() }),
    set(s) {
      overlay.set(s);
      qk.set(s);
      if (s.image !== undefined && s.image !== source) {
        source = s.image;
        return fromUrl(imageUrl(source), source);
      }
    },
  };
  try {
    await getVisionModel(pg, app.models, ({ loaded, total }) => {
      const mb = (x) => (x / 1e6).toFixed(1);
      if (total) {
        progress.max = total;
        progress.value = loaded;
      }
      say(`loading ${BUILT_IN}… ${mb(loaded)}${total ? ` / ${mb(total)}` : ''} MB`);
    });
    progress.hidden = true;
    say('model ready: choose, drop or paste an image, or pick a sample');
  } catch (e) {
    progress.hidden = true;
    say(`the vision model could not be loaded: ${e?.message ?? e}`, true);
    return controller;
  }

  /** Decodes a Blob into an ImageBitmap no larger than MAX_DECODE on its longer side. */
  async function decode(blob) {
    let bmp = await createImageBitmap(blob);
    const scale = MAX_DECODE / Math.max(bmp.width, bmp.height);
    if (scale < 1) {
      const small = await createImageBitmap(bmp, {
        resizeWidth: Math.max(1, Math.round(bmp.width * scale)),
        resizeHeight: Math.max(1, Math.round(bmp.height * scale)),
        resizeQuality: 'high',
      });
      bmp.close();
      bmp = small;
    }
    return bmp;
  }

  async function run(blob, name) {
    let bmp;
    try {
      bmp = await decode(blob);
    } catch {
      say(`"${name}" could not be read as an image (corrupt, or not an image format this browser decodes); the previous result is kept`, true);
      return;
    }
    const c = el('canvas', { width: bmp.width, height: bmp.height });
    const ctx = c.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(bmp, 0, 0);
    const pixels = ctx.getImageData(0, 0, bmp.width, bmp.height);
    say(`running ${model} on "${name}" (${bmp.width}×${bmp.height})…`);
    last = { blob, name };
    try {
      const t0 = performance.now();
      const result = await pg.runImage(pixels.data, bmp.width, bmp.height);
      const ms = performance.now() - t0;
      app.status(ms, 'per image forward');
      state.bitmap?.close();
      Object.assign(state, { result, bitmap: bmp, name, model, crop: crop(bmp.width, bmp.height, result, modelSide) });
      const regs = result.registers ? ` (${result.registers} registers, not drawn on the image)` : '';
      say(`"${name}"${model === BUILT_IN ? '' : ` on ${model}`}: ${result.gridW}×${result.gridH} patches, ${result.tokens} tokens${regs}, ${ms.toFixed(0)} ms on ${pg.backend}`);
      overlay.draw(state);
      grid.draw(state, overlay.query);
      qk.draw(state);
    } catch (e) {
      bmp.close();
      say(`"${name}" could not be processed: ${e?.message ?? e}; the previous result is kept`, true);
    }
  }

  async function fromUrl(url, name) {
    try {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      await run(await res.blob(), name);
    } catch (e) {
      say(`could not fetch ${url}: ${e?.message ?? e}`, true);
    }
  }

  picker.onchange = () => picker.files[0] && run(picker.files[0], picker.files[0].name);
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add('over'); };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer.files[0];
    if (f) run(f, f.name); else say('nothing to use in that drop: drop an image file', true);
  };
  document.addEventListener('paste', (e) => {
    if (root.closest('section')?.hidden) return;
    const f = e.clipboardData?.files?.[0];
    if (f) run(f, f.name || 'pasted image'); else say('the clipboard holds no image file', true);
  });
  app.onBackendChange(() => state.result && say(`now on ${pg.backend}; the next image runs there`));
  window.imageView = { run, fromUrl, state, useModelFiles: models.use }; // for the browser tests and the console

  await fromUrl(imageUrl(source), source);
  return controller;
}

/** The part of a w × h image the model saw: resized to a longer side of the model's image size,
 *  then centre-cropped to whole patches (as the Rust preprocessing does), in source pixels. */
function crop(w, h, r, modelSide) {
  const scale = modelSide / Math.max(w, h);
  const rw = w >= h ? modelSide : Math.max(1, Math.round(w * scale));
  const rh = w >= h ? Math.max(1, Math.round(h * scale)) : modelSide;
  const x0 = Math.floor((rw - r.width) / 2), y0 = Math.floor((rh - r.height) / 2);
  const kx = w / rw, ky = h / rh;
  return { sx: x0 * kx, sy: y0 * ky, sw: r.width * kx, sh: r.height * ky };
}
