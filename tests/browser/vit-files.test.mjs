// pg.loadVisionModelFiles: a Hugging Face image encoder's folder, as File objects, converted in the
// page. The tiny ViT / DINOv2 / DINOv2-with-registers folders of tests/vit_files.rs against their
// PyTorch references (attention max |Δ| ≤ 5e-4: the reference is f16), directly and through the
// engine worker; malformed folders rejected with clear messages, the loaded model kept; the Image
// tab's model control; and, when `make dinov2-hf-folder` has written it, a real DINOv2 ViT-S/14
// folder giving the built-in model's attention.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readSafetensors } from './safetensors.mjs';

const DIR = fileURLToPath(new URL('../fixtures/vit-files/', import.meta.url));
const HF_DINOV2 = fileURLToPath(new URL('../../.cache/dinov2-small-hf/', import.meta.url));

/** A folder's files as { name, b64 } (order reversed: weights first), for File objects in the page. */
function folder(dir, name) {
  return readdirSync(`${dir}${name}`).sort().reverse().map((f) => ({ name: f, b64: readFileSync(`${dir}${name}/${f}`).toString('base64') }));
}

function reference(name) {
  const { header, data, halfs } = readSafetensors(`${DIR}${name}-reference.safetensors`);
  const [height, width] = header.image.shape;
  const rgb = data('image');
  const rgba = [];
  for (let i = 0; i < width * height; i++) rgba.push(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255);
  return { width, height, rgba, attention: halfs('attention'), registers: data('registers').readInt32LE(0) };
}

/** In the page: File objects from { name, b64 }. */
const MAKE_FILES = `(list) => list.map(({ name, b64 }) => new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name))`;

/** Loads `name`'s folder into a fresh Playground and runs its reference image; returns the info and result. */
async function loadAndRun(page, name, ref, backend = 'auto') {
  return page.evaluate(async ({ files, ref, make, backend }) => {
    const pg = await window.ap.Playground.create({ backend });
    const progress = [];
    const info = await pg.loadVisionModelFiles(eval(make)(files), (p) => progress.push(p.loaded));
    const r = await pg.runImage(new Uint8Array(ref.rgba), ref.width, ref.height);
    return { info, backend: pg.backend, progress: progress.length, r: { ...r, attention: Array.from(r.attention), saliency: r.saliency ?? null } };
  }, { files: folder(DIR, name), ref: { rgba: ref.rgba, width: ref.width, height: ref.height }, make: MAKE_FILES, backend });
}

/** Max |Δ| between our [L, H, T, T] (class, patches, registers) and HF's (class, registers, patches). */
function attentionDiff(r, ref) {
  const t = r.tokens, n = r.gridW * r.gridH, R = ref.registers;
  const hf = (i) => (i === 0 ? 0 : i <= n ? i + R : i - n);
  let max = 0;
  for (let lh = 0; lh < r.layers * r.heads; lh++) {
    for (let i = 0; i < t; i++) {
      for (let j = 0; j < t; j++) max = Math.max(max, Math.abs(r.attention[(lh * t + i) * t + j] - ref.attention[(lh * t + hf(i)) * t + hf(j)]));
    }
  }
  return max;
}

async function parity({ harness, expectBackend, assert, mode }, names, query) {
  const page = await harness(query);
  for (const name of names) {
    const ref = reference(name);
    const { info, backend, progress, r } = await loadAndRun(page, name, ref);
    assert.equal(backend, expectBackend);
    assert.deepEqual(
      { layers: info.layers, heads: info.heads, hidden: info.hidden, patch: info.patch, saliency: info.saliency, registers: info.registers, imageSize: info.imageSize },
      { layers: 2, heads: 3, hidden: 48, patch: 8, saliency: false, registers: ref.registers, imageSize: 96 });
    assert.equal(info.modelType, name.startsWith('vit') ? 'vit' : name === 'dinov2' ? 'dinov2' : 'dinov2_with_registers');
    assert.ok(progress >= 2, 'progress was reported');
    assert.deepEqual([r.gridW, r.gridH, r.tokens, r.registers, r.width, r.height], [12, 8, 1 + 96 + ref.registers, ref.registers, 96, 64]);
    assert.equal(r.saliency, null);
    const max = attentionDiff(r, ref);
    console.log(`    ${backend}${query ? ` ${query}` : ''} ${name}: attention max |Δ| ${max.toExponential(2)} (mode ${mode})`);
    assert.ok(max <= 5e-4, `${name}: attention max |Δ| ${max}`);
  }
}

export default {
  async 'loadVisionModelFiles: tiny ViT (erf and tanh GELU), DINOv2 and DINOv2-with-registers folders match PyTorch'(ctx) {
    await parity(ctx, ['vit', 'dinov2', 'dinov2-registers', 'vit-gelu-new']);
  },

  async 'loadVisionModelFiles through the engine worker (Files cloned into it)'(ctx) {
    if (ctx.mode !== 'cpu') return;
    await parity(ctx, ['dinov2-registers'], '?worker=1');
  },

  async 'malformed folders are rejected with clear messages; the model loaded before stays'({ harness, assert }) {
    const page = await harness();
    const ref = reference('vit');
    const out = await page.evaluate(async ({ vit, ref, make }) => {
      const files = eval(make)(vit);
      const pg = await window.ap.Playground.create({ backend: 'cpu' });
      const msg = async (p) => { try { await p; return 'resolved'; } catch (e) { return String(e.message ?? e); } };
      await pg.loadVisionModelFiles(files);
      const bert = new File(['{"model_type": "bert"}'], 'config.json');
      const errors = {
        notArray: await msg(pg.loadVisionModelFiles('config.json')),
        empty: await msg(pg.loadVisionModelFiles([])),
        noWeights: await msg(pg.loadVisionModelFiles(files.filter((f) => f.name !== 'model.safetensors'))),
        noConfig: await msg(pg.loadVisionModelFiles(files.filter((f) => f.name !== 'config.json'))),
        bert: await msg(pg.loadVisionModelFiles([bert, ...files.filter((f) => f.name !== 'config.json')])),
        truncated: await msg(pg.loadVisionModelFiles([...files.filter((f) => f.name !== 'model.safetensors'), new File([files.find((f) => f.name === 'model.safetensors').slice(0, 5000)], 'model.safetensors')])),
      };
      const r = await pg.runImage(new Uint8Array(ref.rgba), ref.width, ref.height);
      return { errors, tokens: r.tokens };
    }, { vit: folder(DIR, 'vit'), ref: { rgba: ref.rgba, width: ref.width, height: ref.height }, make: MAKE_FILES });
    assert.match(out.errors.notArray, /loadVisionModelFiles: files must be an array of File objects/);
    assert.match(out.errors.empty, /empty/);
    assert.match(out.errors.noWeights, /model\.safetensors is missing/);
    assert.match(out.errors.noConfig, /config\.json is missing/);
    assert.match(out.errors.bert, /model_type "bert" is not supported for images/);
    assert.match(out.errors.truncated, /safetensors|beyond the end/);
    assert.equal(out.tokens, 97, 'the ViT loaded before still runs');
  },

  async 'the Image tab converts a picked model folder, draws it without saliency, and goes back to DINOv2'({ open, assert, mode }) {
    if (mode !== 'cpu') return; // what is tested is the page (it runs on ?backend=cpu, as image-page.test.mjs)
    const page = await open('index.html?view=image&backend=cpu');
    await page.waitForFunction(() => window.imageView?.state?.result, null, { timeout: 300000 });
    const dir = `${DIR}dinov2-registers/`;
    await page.locator('details.image-model summary').click();
    await page.locator('input[name="model-files"]').setInputFiles(readdirSync(dir).map((f) => `${dir}${f}`));
    await page.waitForFunction(() => window.imageView.state.result?.registers === 3, null, { timeout: 60000 });
    const shown = await page.evaluate(() => ({
      status: document.querySelector('.image-model-status').textContent,
      name: document.querySelector('.image-model-name').textContent,
      caption: [...document.querySelectorAll('.image-view figcaption')].map((c) => c.textContent).join(' | '),
      saliencyHidden: document.querySelector('canvas.image-saliency').hidden,
      heads: document.querySelectorAll('select[name="head"] option').length,
      main: document.querySelector('.image-status').textContent,
    }));
    assert.match(shown.status, /dinov2_with_registers, 2 layers × 3 heads, 8-pixel patches, 96 px, 3 registers\): converted in \d+ ms/);
    assert.match(shown.caption, /no saliency map: .* has no saliency decoder/);
    assert.equal(shown.saliencyHidden, true);
    assert.equal(shown.heads, 4); // mean + 3 heads
    assert.match(shown.main, /3 registers, not drawn on the image/);
    // A bad folder: a plain message, the model stays.
    await page.locator('input[name="model-files"]').setInputFiles([`${dir}config.json`]);
    await page.waitForFunction(() => /cannot be used/.test(document.querySelector('.image-model-status').textContent));
    assert.match(await page.locator('.image-model-status').textContent(), /model\.safetensors is missing.*unchanged/);
    // Back to the built-in model, by keyboard.
    await page.locator('.image-model button').focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => window.imageView.state.result?.saliency && window.imageView.state.model === 'DINOv2 ViT-S/14', null, { timeout: 120000 });
    assert.equal(await page.locator('.image-model-name').textContent(), 'DINOv2 ViT-S/14');
  },

  async 'a real DINOv2 ViT-S/14 Hugging Face folder gives the built-in model\'s attention'({ harness, assert, mode }) {
    if (mode !== 'cpu') return;
    if (!existsSync(`${HF_DINOV2}model.safetensors`)) return console.log('       SKIPPED: no .cache/dinov2-small-hf (make dinov2-hf-folder)');
    const page = await harness();
    const { rgba, width, height } = reference('dinov2');
    const files = readdirSync(HF_DINOV2).map((f) => `${HF_DINOV2}${f}`);
    // Big files go in through a file input (no base64 round trip).
    await page.evaluate(() => document.body.append(Object.assign(document.createElement('input'), { type: 'file', multiple: true, id: 'f' })));
    await page.locator('#f').setInputFiles(files);
    const out = await page.evaluate(async ({ rgba, width, height }) => {
      const manifest = await (await fetch('models/manifest.json')).json();
      const img = new Uint8Array(rgba);
      const a = await window.ap.Playground.create({ backend: 'cpu' });
      await a.loadVisionModel(`models/${manifest.vision}`);
      const ra = await a.runImage(img, width, height);
      const b = await window.ap.Playground.create({ backend: 'cpu' });
      const info = await b.loadVisionModelFiles([...document.querySelector('#f').files]);
      const rb = await b.runImage(img, width, height);
      let max = 0;
      for (let i = 0; i < ra.attention.length; i++) max = Math.max(max, Math.abs(ra.attention[i] - rb.attention[i]));
      return { max, same: ra.attention.length === rb.attention.length, info, tokens: [ra.tokens, rb.tokens] };
    }, { rgba, width, height });
    console.log(`    built-in vs HF folder: attention max |Δ| ${out.max.toExponential(2)}, tokens ${out.tokens}`);
    assert.ok(out.same, `attention sizes differ: ${out.tokens}`);
    assert.equal(out.info.modelType, 'dinov2');
    assert.ok(out.max <= 5e-3, `attention max |Δ| ${out.max}`);
  },
};
