// "Your own model" in the Text tab: pick (a folder, or files) or drop a Hugging Face BERT-architecture
// model folder; pg.loadTextModelFiles converts it in the engine (nothing leaves the page) and it
// replaces MiniLM for every panel until "Back to …" reloads the built-in model.
import { el } from '../util.js';
import { manifest, modelsUrl } from '../engine.js';
import { filesFromInput, filesFromDrop } from '../model-files.js';

const mb = (x) => (x / 1e6).toFixed(1);

/**
 * The box; `onModel(name, info)` is called after a model is in place (the built-in one's name
 * is `builtIn`), `onBusy(true/false)` around a load.
 */
export function modelFilesBox(pg, models, builtIn, { onModel, onBusy }) {
  const folder = el('input', { type: 'file', id: 'text-files-folder', webkitdirectory: true, multiple: true });
  const files = el('input', { type: 'file', id: 'text-files-pick', multiple: true, accept: '.json,.safetensors,.txt' });
  const status = el('p', { id: 'text-files-status', className: 'muted', role: 'status' });
  const error = el('p', { id: 'text-files-error', className: 'error', role: 'alert' });
  const back = el('button', { type: 'button', id: 'text-files-back', textContent: `Back to ${builtIn}` });
  back.hidden = true;
  const box = el('details', { className: 'text-files', id: 'text-files' },
    el('summary', { textContent: 'Your own model (a Hugging Face BERT folder)' }),
    el('p', { className: 'muted', textContent: 'Drop a model folder here, or pick it: config.json, model.safetensors and vocab.txt or tokenizer.json (BERT, MiniLM and the like). It is converted in this page; nothing is uploaded.' }),
    el('div', { className: 'text-files-pick' },
      el('label', {}, 'Folder: ', folder),
      el('label', {}, 'or files: ', files)),
    status, error, back);
  box.dataset.part = 'controls files';
  let busy = false;

  async function use(load, name) {
    if (busy) return;
    busy = true;
    error.textContent = '';
    box.dataset.state = 'loading';
    onBusy?.(true);
    try {
      const info = await load((p) => (status.textContent = `reading ${name}… ${mb(p.loaded)} / ${mb(p.total)} MB`));
      const shown = info.name ?? name;
      status.textContent = `${shown}: ${info.layers} layers × ${info.heads} heads, hidden ${info.hidden}, ${info.vocab} tokens in its vocabulary, up to ${info.maxTokens} tokens`;
      back.hidden = name === builtIn;
      box.dataset.model = shown;
      box.dataset.state = 'ready';
      onModel(shown, info);
    } catch (e) {
      // The engine keeps the model it had: say so with what was wrong.
      status.textContent = '';
      error.textContent = `${name} could not be used: ${e?.message ?? e}. The model loaded before is still in use.`;
      box.dataset.state = 'error';
    } finally {
      busy = false;
      onBusy?.(false);
    }
  }

  const fromFiles = async ({ files: list, folder: dir }) => {
    if (!list.length) return;
    const name = dir ?? (list.length === 1 ? list[0].name : `${list.length} files`);
    return use((progress) => pg.loadTextModelFiles(list, progress), name);
  };
  folder.onchange = () => fromFiles(filesFromInput(folder)).finally(() => (folder.value = ''));
  files.onchange = () => fromFiles(filesFromInput(files)).finally(() => (files.value = ''));
  box.addEventListener('dragover', (e) => {
    e.preventDefault();
    box.open = true;
    box.classList.add('over');
  });
  box.addEventListener('dragleave', () => box.classList.remove('over'));
  box.addEventListener('drop', async (e) => {
    e.preventDefault();
    box.classList.remove('over');
    fromFiles(await filesFromDrop(e.dataTransfer));
  });
  back.onclick = () => use(async (progress) => {
    const m = await manifest(models);
    return pg.loadTextModel(`${modelsUrl(models)}${m.text}`, progress);
  }, builtIn);

  return { root: box, use: fromFiles };
}
