// The engine in a Worker (www/js/worker-client.js, pkg/worker.js).
//
// 1. The key API tests of attention/mechanisms/text/vision.test.mjs, run again with the harness's
//    `window.ap` being the worker proxy (harness.html?worker=1): the same values, the same errors,
//    backend changes and device loss, across the worker boundary.
// 2. The page: its main thread never instantiates the wasm module; typing key by key ends on the
//    final text and never shows an older input after a newer one; without Worker it runs on the
//    main thread and says so.
import attention from './attention.test.mjs';
import mechanisms from './mechanisms.test.mjs';
import text from './text.test.mjs';
import vision from './vision.test.mjs';
import steps from './steps.test.mjs';

const THROUGH_WORKER = {
  attention: [attention, [
    'auto picks the expected backend; explicit choices behave',
    'every variant matches the reference within 1e-4',
    'wrong shapes, lengths and names throw JsErrors that say what is wrong',
    'a lost GPU device moves the instance to the CPU and reports it',
  ]],
  mechanisms: [mechanisms, [
    'Playground.sinusoidal is static and matches the formula; bad sizes throw',
    'pg.rollout matches the reference for every head fusion, with and without the residual',
    'pg.multiHead (self and cross) matches the reference',
    'rollout and multiHead refuse bad input with clear JsErrors',
  ]],
  text: [text, [
    'MiniLM tokens, attention and embedding match PyTorch',
    'runText and loadTextModel reject bad use with clear errors',
    'a GPU device loss mid-use moves runText to the CPU, still correct',
  ]],
  steps: [steps, [
    'runText capture: shapes, PyTorch values and clear errors on the active backend',
  ]],
  vision: [vision, [
    'DINOv2 attention matches onnxruntime (224², square)',
    'runImage rejects bad input with clear errors',
  ]],
};

const tests = {};
for (const [file, [suite, names]] of Object.entries(THROUGH_WORKER)) {
  for (const name of names) {
    if (!suite[name]) throw new Error(`worker.test: ${file}.test.mjs has no test '${name}'`);
    tests[`through the worker: ${file} › ${name}`] = async (ctx) => {
      // The models' parity through the worker on SwiftShader takes minutes: the CPU browser runs them.
      if (ctx.mode === 'webgpu' && (file === 'text' || file === 'vision' || file === 'steps')) return console.log('       SKIPPED on SwiftShader (model forwards take minutes); run in MODES=cpu');
      const harness = async (query) => {
        const page = await ctx.harness(query ? `${query}&worker=1` : '?worker=1');
        if (!(await page.evaluate(() => window.apMain && typeof window.ap.engineThread === 'function'))) throw new Error('harness.html did not load the worker proxy');
        return page;
      };
      await suite[name]({ ...ctx, harness });
      // Everything ran in the worker; the main thread only sent messages.
    };
  }
}

/** (in the page, before its scripts) counts WebAssembly instantiations in window.__wasmInstances. */
function countInstances(noWorker) {
  window.__wasmInstances = 0;
  const count = (f) => function (...args) {
    window.__wasmInstances++;
    return f.apply(this, args);
  };
  WebAssembly.instantiate = count(WebAssembly.instantiate);
  WebAssembly.instantiateStreaming = count(WebAssembly.instantiateStreaming);
  const Instance = WebAssembly.Instance;
  WebAssembly.Instance = new Proxy(Instance, { construct: (t, a) => (window.__wasmInstances++, new t(...a)) });
  if (noWorker) delete window.Worker;
}

/** A page of `path` whose main thread counts WebAssembly instantiations in window.__wasmInstances. */
async function countingWasm(open, path, { noWorker = false, body } = {}) {
  const page = await open('harness.html');
  await page.addInitScript(countInstances, noWorker);
  const url = new URL(path, page.url()).href;
  if (body) await page.route(url, (route) => route.fulfill({ contentType: 'text/html', body }));
  await page.goto(url);
  return page;
}

async function openText(page) {
  await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('section[data-view="text"]')?.dataset.state));
  if ((await page.locator('section[data-view="text"]').getAttribute('data-state')) === 'error') {
    throw new Error(`the text model did not load: ${await page.locator('.text-load').textContent()}`);
  }
  await page.waitForFunction(() => document.querySelector('section[data-view="text"]').dataset.updates >= 1);
}

Object.assign(tests, {
  async 'the page computes in the worker: its main thread instantiates no wasm'({ open, expectBackend, assert }) {
    const page = await countingWasm(open, 'index.html?view=text');
    await openText(page);
    await page.locator('[data-view="attention"][role="tab"]').click();
    await page.waitForFunction(() => document.getElementById('heatmap')?.dataset.tokens === '11');
    assert.equal(await page.locator('#backend').textContent(), expectBackend);
    assert.equal(await page.locator('#backend').getAttribute('data-thread'), 'worker');
    assert.equal(await page.locator('#thread-notice').isHidden(), true);
    assert.equal(await page.evaluate(() => window.__wasmInstances), 0, 'the main thread instantiated the wasm module');
    assert.equal(await page.evaluate(() => performance.getEntriesByType('resource').some((e) => e.name.endsWith('.wasm'))), false,
      'the main thread fetched a .wasm');
  },

  async 'an embedding page\'s <attention-playground> computes in the worker too'({ open, assert }) {
    const body = '<!doctype html><meta charset="utf-8"><script type="module" src="pkg/element.js"></script>' +
      '<attention-playground view="attention"></attention-playground>';
    const page = await countingWasm(open, 'element-only.html', { body });
    await page.waitForFunction(() => customElements.get('attention-playground') && document.querySelector('attention-playground').ready);
    await page.evaluate(() => document.querySelector('attention-playground').ready);
    assert.equal(await page.evaluate(() => document.querySelector('attention-playground').shadowRoot.querySelector('[data-tokens]')?.dataset.tokens), '11');
    assert.equal(await page.evaluate(() => window.__wasmInstances), 0, 'the main thread instantiated the wasm module');
    // The engine's worker (the threads build's pool adds workers of its own, blob: URLs).
    assert.equal(page.workers().filter((w) => w.url().endsWith('/engine-worker.js')).length, 1, 'the element started no engine worker');
  },

  async 'typing key by key ends on the final text; an older input never replaces a newer one'({ open, assert }) {
    const page = await open('index.html?view=text');
    await openText(page);
    await page.evaluate(() => {
      window.__shown = [];
      const s = document.querySelector('section[data-view="text"]');
      new MutationObserver(() => window.__shown.push(s.dataset.text)).observe(s, { attributeFilter: ['data-updates'] });
    });
    const sentence = 'Attention lets every token look at every other token in the sentence.';
    await page.locator('#text-input').fill('');
    await page.locator('#text-input').pressSequentially(sentence, { delay: 30 });
    await page.waitForFunction((want) => document.querySelector('section[data-view="text"]').dataset.text === want, sentence);
    await page.waitForTimeout(300); // nothing older may arrive after the final text
    const shown = await page.evaluate(() => window.__shown);
    assert.equal(shown.at(-1), sentence, `the last view is for "${shown.at(-1)}"`);
    for (let i = 1; i < shown.length; i++) {
      assert.ok(sentence.startsWith(shown[i]), `a view for text that was never typed: "${shown[i]}"`);
      assert.ok(shown[i].length >= shown[i - 1].length, `"${shown[i]}" was shown after the newer "${shown[i - 1]}"`);
    }
    const cols = await page.locator('#text-matrix .cols span').allTextContents();
    assert.deepEqual([cols[0], cols[1], cols.at(-2), cols.at(-1)], ['[CLS]', 'attention', '.', '[SEP]']);
  },

  async 'results cross as transferred buffers; on the GPU one submission and one readback per forward'({ harness, expectBackend, assert }) {
    const page = await harness('?worker=1');
    await page.evaluate(() => window.ap.Playground.create({ backend: 'auto' }).then((pg) => (window.pg = pg)));
    const worker = page.workers().find((w) => w.url().endsWith('/engine-worker.js'));
    assert.ok(worker, 'no engine worker');
    // In the worker: count queue submissions and map requests, and what each reply transfers.
    await worker.evaluate(() => {
      const c = (self.__counts = { submits: 0, maps: 0, sent: [] });
      if (self.GPUQueue) {
        const submit = GPUQueue.prototype.submit, mapAsync = GPUBuffer.prototype.mapAsync;
        GPUQueue.prototype.submit = function (...a) { c.submits++; return submit.apply(this, a); };
        GPUBuffer.prototype.mapAsync = function (...a) { c.maps++; return mapAsync.apply(this, a); };
      }
      const post = self.postMessage.bind(self);
      self.postMessage = (msg, transfer = []) => {
        post(msg, transfer);
        c.sent.push({ buffers: transfer.length, detached: transfer.every((b) => b.byteLength === 0) });
      };
    });
    const counts = () => worker.evaluate(() => {
      const c = self.__counts, out = { submits: c.submits, maps: c.maps, sent: c.sent };
      Object.assign(c, { submits: 0, maps: 0, sent: [] });
      return out;
    });
    // A model forward too: MiniLM on a short sentence (loading it is not counted).
    await page.evaluate(async () => {
      const m = await (await fetch('models/manifest.json')).json();
      await window.pg.loadTextModel(`models/${m.text}`);
    });
    const f32 = (n, seed) => Array.from({ length: n }, (_, i) => Math.sin(seed + i));
    const n = 6, d = 8;
    for (const [what, opts] of [
      ['attention', { q: f32(n * d, 1), k: f32(n * d, 2), v: f32(n * d, 3), heads: 1, seqQ: n, seqK: n, headDim: d }],
      ['multiHead', { x: f32(n * d, 1), wq: f32(d * d, 2), wk: f32(d * d, 3), wv: f32(d * d, 4), wo: f32(d * d, 5), heads: 2, seqQ: n, dModel: d, headDim: d / 2 }],
      ['runText', 'The cat sat.'],
    ]) {
      await counts();
      const len = await page.evaluate(([what, o]) => window.pg[what](o).then((r) => (r.weights ?? r.attention).length), [what, opts]);
      assert.ok(len > 0);
      const c = await counts();
      assert.equal(c.sent.length, 1, `${what}: one reply`);
      assert.ok(c.sent[0].buffers >= 2 && c.sent[0].detached, `${what}: the reply's typed arrays were not transferred (${JSON.stringify(c.sent)})`);
      if (expectBackend === 'webgpu') {
        assert.equal(c.submits, 1, `${what}: ${c.submits} queue submissions in one forward`);
        assert.ok(c.maps >= 1, `${what}: no readback`);
      } else {
        assert.deepEqual([c.submits, c.maps], [0, 0]);
      }
    }
  },

  async 'without Worker the page runs on the main thread and says so'({ open, expectBackend, assert }) {
    const page = await countingWasm(open, 'index.html', { noWorker: true });
    await page.waitForFunction(() => document.getElementById('heatmap')?.dataset.tokens === '11');
    assert.equal(await page.locator('#backend').textContent(), expectBackend);
    assert.equal(await page.locator('#backend').getAttribute('data-thread'), 'main');
    assert.match(await page.locator('#thread-notice').textContent(), /no Worker: running on the main thread/);
    assert.ok(await page.evaluate(() => window.__wasmInstances) > 0);
  },
});

export default tests;
