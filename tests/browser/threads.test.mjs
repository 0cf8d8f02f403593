// The threads builds (relaxed SIMD: the one init() loads in this cross-origin-isolated Chromium;
// SIMD128: Firefox's and Safari's) on 2 threads, and on 1, give the same bits as the
// single-threaded build of the same SIMD: MiniLM attention and embedding on a
// 128-token text, DINOv2 attention and saliency on the chelsea fixture. Parity with PyTorch and
// onnxruntime (text.test.mjs, vision.test.mjs, which run the default build on 1 thread) therefore
// holds on any thread count. CPU browser only.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readSafetensors } from './safetensors.mjs';

const TEXT = 'The quick brown fox jumps over the lazy dog near the river bank. '.repeat(9);
const IMAGE = fileURLToPath(new URL('../fixtures/vision/chelsea.safetensors', import.meta.url));

/** FNV-1a over the bytes of each result array, and their lengths: equal digests, equal bits. */
async function digests(page, threads, image) {
  return page.evaluate(async ({ threads, text, image }) => {
    const ap = window.ap;
    const used = await ap.initThreads(threads);
    const manifest = await (await fetch('models/manifest.json')).json();
    const pg = await ap.Playground.create({ backend: 'cpu' });
    await pg.loadTextModel(`models/${manifest.text}`);
    await pg.loadVisionModel(`models/${manifest.vision}`);
    const t = await pg.runText(text);
    const v = await pg.runImage(new Uint8Array(image.rgba), image.width, image.height);
    const digest = (a) => {
      const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      let h = 0x811c9dc5;
      for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193) >>> 0;
      return `${a.length}:${h.toString(16)}`;
    };
    const out = { used, threads: ap.threads(), wasm: ap.wasmSimd(), tokens: t.tokens.length };
    for (const [k, a] of Object.entries({ textAttention: t.attention, embedding: t.embedding, imageAttention: v.attention, saliency: v.saliency })) out[k] = digest(a);
    return out;
  }, { threads, text: TEXT, image });
}

export default {
  async 'a page that is not cross-origin isolated loads a single-threaded build; initThreads resolves to 1'({ open, assert }) {
    const page = await open('harness.html');
    // The same server without COOP/COEP: the page is no longer cross-origin isolated.
    await page.route('**/*', async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers['cross-origin-opener-policy'];
      delete headers['cross-origin-embedder-policy'];
      await route.fulfill({ response, headers });
    });
    await page.reload();
    await page.waitForFunction(() => window.apReady || window.apError);
    const r = await page.evaluate(async () => ({
      error: window.apError ?? null, isolated: crossOriginIsolated, sab: typeof SharedArrayBuffer,
      simd: window.ap.wasmSimd(), initThreads: await window.ap.initThreads(4), threads: window.ap.threads(),
    }));
    assert.deepEqual(r, { error: null, isolated: false, sab: 'undefined', simd: 'relaxed', initThreads: 1, threads: 1 });
  },

  async 'the threads builds on 2 threads give the single-threaded builds\' bits (MiniLM, DINOv2), relaxed SIMD and SIMD128'({ harness, mode, assert }) {
    if (mode !== 'cpu') return;
    const st = readSafetensors(IMAGE);
    const [height, width] = st.header.image.shape;
    const rgb = st.data('image');
    const rgba = new Array(width * height * 4);
    for (let i = 0; i < width * height; i++) [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2], rgba[4 * i + 3]] = [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255];
    const image = { rgba, width, height };

    // init()'s choice here (Chromium has relaxed SIMD): the relaxed-SIMD threads build; then the
    // SIMD128 one (what Firefox and Safari get), each against the single-threaded build of its SIMD.
    for (const [threads, single] of [['', 'relaxed'], ['?wasm=threads', 'simd128']]) {
      const threaded = await harness(threads);
      assert.equal(await threaded.evaluate(() => crossOriginIsolated), true, 'the test server isolates its pages');
      const two = await digests(threaded, 2, image);
      assert.equal(two.used, 2, 'initThreads(2) starts two threads');
      assert.equal(two.threads, 2);
      assert.equal(two.wasm, single);
      const twoOnOne = await digests(threaded, 1, image);
      assert.equal(twoOnOne.used, 1, 'a second initThreads(1) uses one thread of the pool');
      const one = await digests(await harness(`?wasm=${single}`), 1, image);
      assert.equal(one.used, 1, 'the single-threaded build stays on one thread');
      console.log(`    ${two.tokens} tokens; threads build ${JSON.stringify(two)}; ${single} build ${JSON.stringify(one)}`);
      for (const k of ['textAttention', 'embedding', 'imageAttention', 'saliency']) {
        assert.equal(two[k], one[k], `${k}: the same bits on 2 threads as in the ${single} build`);
        assert.equal(twoOnOne[k], one[k], `${k}: the same bits on 1 thread of the threads build as in the ${single} build`);
      }
    }
  },

  async 'in the engine worker (as the page runs it), initThreads through the proxy sets the threads the CPU path uses'({ harness, mode, assert }) {
    if (mode !== 'cpu') return;
    const page = await harness('?worker=1');
    const r = await page.evaluate(async () => {
      const ap = window.ap;
      const started = ap.threads();
      const one = await ap.initThreads(1);
      const after = ap.threads();
      const two = await ap.initThreads(2);
      return { thread: ap.engineThread().thread, started, one, after, two, simd: ap.wasmSimd() };
    });
    const cores = await page.evaluate(() => Math.min(navigator.hardwareConcurrency, 8));
    assert.deepEqual(r, { thread: 'worker', started: cores, one: 1, after: 1, two: Math.min(2, cores), simd: 'relaxed' });
  },
};
