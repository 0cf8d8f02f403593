// The Image tab's model control: the built-in DINOv2, or the reader's own image encoder from a
// Hugging Face folder's files (config.json + model.safetensors), converted in the page by
// pg.loadVisionModelFiles. Pick a folder, pick files, or drop either; "back to DINOv2" reloads
// the built-in model. A folder the converter cannot use leaves the current model in place.
import { el } from '../util.js';
import { filesFromInput, filesFromDrop } from '../model-files.js';

export const BUILT_IN = 'DINOv2 ViT-S/14';

/**
 * `load(files)` and `reset()` do the loading (they resolve to a VisionModelInfo, or reject);
 * `onLoaded(label, info)` runs after either succeeds.
 */
export function modelControl({ load, reset, onLoaded }) {
  const folder = el('input', { type: 'file', multiple: true, webkitdirectory: true, name: 'model-folder' });
  const files = el('input', { type: 'file', multiple: true, name: 'model-files', accept: '.json,.safetensors' });
  const current = el('strong', { className: 'image-model-name', textContent: BUILT_IN });
  const back = el('button', { type: 'button', textContent: `back to ${BUILT_IN}`, hidden: true });
  const status = el('p', { className: 'image-model-status', role: 'status' });
  const drop = el('div', { className: 'image-model-drop' },
    el('label', {}, 'pick a model folder ', folder), ' · ', el('label', {}, 'or its files ', files),
    ' · or drop them here');
  const root = el('details', { className: 'image-model' },
    el('summary', {}, 'model: ', current, ' · use your own'),
    el('p', {}, 'A Hugging Face image encoder (ViTModel, Dinov2Model or Dinov2WithRegistersModel): its config.json and model.safetensors, and preprocessor_config.json if it has one. It is converted here in the page; nothing is uploaded.'),
    drop, back, status);
  root.dataset.part = 'controls model';
  const say = (text, warn = false) => {
    status.textContent = text;
    status.classList.toggle('warn', warn);
  };
  let busy = false;

  async function use(list, folderName) {
    if (busy) return;
    if (!list.length) return say('no files were given: pick or drop a model folder’s config.json and model.safetensors', true);
    busy = true;
    const label = folderName || list.find((f) => f.name === 'config.json')?.webkitRelativePath?.split('/')[0] || 'your model';
    say(`converting ${label}…`);
    try {
      const t0 = performance.now();
      const info = await load(list, ({ loaded, total }) => say(`reading ${label}… ${(loaded / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB`));
      const name = info.name ?? label;
      const what = `${name} (${info.modelType}, ${info.layers} layers × ${info.heads} heads, ${info.patch}-pixel patches, ${info.imageSize} px${info.registers ? `, ${info.registers} registers` : ''})`;
      current.textContent = name;
      back.hidden = false;
      say(`${what}: converted in ${(performance.now() - t0).toFixed(0)} ms`);
      onLoaded(name, info);
    } catch (e) {
      say(`this folder cannot be used: ${e?.message ?? e}. The model in use is unchanged.`, true);
    } finally {
      busy = false;
    }
  }

  folder.onchange = () => { const { files: list, folder: name } = filesFromInput(folder); folder.value = ''; use(list, name); };
  files.onchange = () => { const { files: list } = filesFromInput(files); files.value = ''; use(list, null); };
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add('over'); };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const { files: list, folder: name } = await filesFromDrop(e.dataTransfer);
    use(list, name);
  };
  back.onclick = async () => {
    if (busy) return;
    busy = true;
    say(`loading ${BUILT_IN}…`);
    try {
      const info = await reset();
      current.textContent = BUILT_IN;
      back.hidden = true;
      say(`${BUILT_IN} is back`);
      onLoaded(BUILT_IN, info);
    } catch (e) {
      say(`${BUILT_IN} could not be loaded: ${e?.message ?? e}`, true);
    } finally {
      busy = false;
    }
  };
  return { root, use };
}
