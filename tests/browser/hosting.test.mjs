// Hosting (README "Hosting"): a page on another origin that sends COEP require-corp can frame the
// playground and import its module; the server's caching headers.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../scripts/serve.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));

/** Runs `fn(courseUrl)` with tests/browser/pages served on another port: another origin. */
async function withCourseSite(fn) {
  const { server, url } = await startServer({ root: join(HERE, 'pages'), port: 0, quiet: true });
  try {
    return await fn(url);
  } finally {
    server.close();
  }
}

export default {
  async 'a COEP require-corp page on another origin frames the page and imports the module'({ open, baseUrl, expectBackend, assert }) {
    await withCourseSite(async (course) => {
      assert.notEqual(new URL(course).origin, new URL(baseUrl).origin);
      const page = await open(new URL('course.html', course).href);
      assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'the course page is not cross-origin isolated');

      await page.evaluate((src) => new Promise((loaded) => {
        const f = document.createElement('iframe');
        f.src = src;
        f.allow = 'cross-origin-isolated';
        f.width = 900;
        f.height = 600;
        f.onload = loaded;
        document.body.append(f);
      }), new URL('index.html?view=attention', baseUrl).href);
      const frame = page.frames().find((f) => f !== page.mainFrame());
      // A blocked response leaves Chromium's error page (chrome-error://) in the frame.
      assert.ok(frame.url().startsWith(baseUrl), `the frame shows ${frame.url()}, not the playground`);
      await frame.waitForFunction(() => document.getElementById('heatmap')?.dataset.tokens === '11');
      assert.equal(await frame.locator('#backend').textContent(), expectBackend);
      // COOP is ignored in a frame; with COEP and the parent's allow="cross-origin-isolated" the
      // framed page is isolated too.
      assert.equal(await frame.evaluate(() => crossOriginIsolated), true);

      const got = await page.evaluate(async ({ base }) => {
        await import(new URL('pkg/element.js', base).href);
        const out = { element: typeof customElements.get('attention-playground') };
        // The element itself, on this (other-origin) page: its module, wasm and CSS come across.
        const el = document.createElement('attention-playground');
        el.setAttribute('view', 'attention');
        document.body.append(el);
        await el.ready;
        out.elementTokens = el.shadowRoot.querySelector('#heatmap, [data-tokens]')?.dataset.tokens;
        // Its engine runs in a Worker started from a same-origin blob: module (pkg/worker.js is
        // the same module the element uses).
        const w = await import(new URL('pkg/worker.js', base).href);
        out.thread = w.engineThread();
        const wr = await (await w.Playground.create()).attention({ q: [1, 0, 0, 1], k: [1, 0, 0, 1], v: [1, 2, 3, 4], heads: 1, seqQ: 2, seqK: 2, headDim: 2, score: 'dot' });
        out.workerWeights = Array.from(wr.weights);
        const ap = await import(new URL('pkg/attention_playground.js', base).href);
        await ap.default();
        const pg = await ap.Playground.create();
        const r = await pg.attention({ q: [1, 0, 0, 1], k: [1, 0, 0, 1], v: [1, 2, 3, 4], heads: 1, seqQ: 2, seqK: 2, headDim: 2, score: 'dot' });
        return { ...out, backend: pg.backend, weights: Array.from(r.weights) };
      }, { base: baseUrl });
      assert.equal(got.backend, expectBackend);
      const e = Math.E / (Math.E + 1);
      const want = [e, 1 - e, 1 - e, e];
      got.weights.forEach((w, i) => assert.ok(Math.abs(w - want[i]) < 1e-6, `weights ${got.weights} ≠ ${want}`));
      assert.deepEqual(got.thread, { thread: 'worker', notice: null }, 'the element\'s engine is not in a worker on the other origin');
      assert.deepEqual(got.workerWeights, got.weights);
      assert.equal(got.element, 'function', '<attention-playground> is not defined after importing pkg/element.js');
      assert.equal(got.elementTokens, '11', 'the element did not draw its attention view on the other origin');
    });
  },

  async 'the server sends CORS, CORP and caching headers'({ baseUrl, assert }) {
    const manifest = await (await fetch(new URL('models/manifest.json', baseUrl))).json();
    const head = async (path, init) => fetch(new URL(path, baseUrl), { method: 'HEAD', ...init });
    for (const path of ['index.html', 'pkg/attention_playground.js', 'pkg/attention_playground_bg.wasm', `models/${manifest.text}`]) {
      const h = (await head(path)).headers;
      assert.equal(h.get('access-control-allow-origin'), '*', path);
      assert.equal(h.get('cross-origin-resource-policy'), 'cross-origin', path);
      assert.equal(h.get('cross-origin-embedder-policy'), 'require-corp', path);
      assert.equal(h.get('cross-origin-opener-policy'), 'same-origin', path);
    }
    const page = await head('index.html');
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    assert.equal((await head('index.html', { headers: { 'if-none-match': page.headers.get('etag') } })).status, 304);
    assert.equal((await head('index.html', { headers: { 'if-modified-since': page.headers.get('last-modified') } })).status, 304);
    assert.equal((await head('index.html', { headers: { 'if-none-match': '"other"' } })).status, 200);
  },
};
