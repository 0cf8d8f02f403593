// Embedding (issue 14): <attention-playground> elements on one page share one wasm module and one
// copy of each model; a page of model-free views downloads no weights; the page's URL holds its
// whole state (reopening it restores the view, pixels and numbers); every view exports a PNG of
// its size, an SVG with one element per cell/line, and JSON with the numbers it drew.

/** The URLs this page and its workers (the engine's) fetched (Resource Timing), by path. */
const fetched = async (page) => {
  const paths = () => performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname);
  const all = await page.evaluate(paths);
  // Only the engine's worker: the CPU thread pool's workers sit blocked in Atomics.wait, where
  // an evaluate would never run.
  for (const w of page.workers().filter((w) => w.url().endsWith('/engine-worker.js'))) all.push(...(await w.evaluate(paths)));
  return all;
};
const count = (urls, re) => urls.filter((u) => re.test(u)).length;
const ready = (page) => page.evaluate(() => Promise.all([...document.querySelectorAll('attention-playground')].map((e) => e.ready)).then(() => true));

/** The element's export decoded in the page: PNG size, SVG element counts, JSON. */
const exported = (page, id, panel) => page.evaluate(async ([id, panel]) => {
  const el = document.getElementById(id);
  const png = await createImageBitmap(await el.exportPNG(panel));
  const svg = new DOMParser().parseFromString(await el.exportSVG(panel), 'image/svg+xml');
  return {
    png: [png.width, png.height],
    svgError: svg.querySelector('parsererror')?.textContent ?? null,
    root: svg.documentElement.tagName,
    cells: svg.querySelectorAll('rect.cell').length,
    lines: svg.querySelectorAll('line.line').length,
    images: svg.querySelectorAll('image').length,
    json: await el.exportJSON(panel),
  };
}, [id, panel]);

/** The harness page with these elements (pkg/element.js imported), once they have drawn. */
async function withElements(harness, html) {
  const page = await harness();
  await page.evaluate(async (html) => {
    await import('./pkg/element.js');
    document.body.insertAdjacentHTML('beforeend', html);
    await Promise.all([...document.querySelectorAll('attention-playground')].map((e) => e.ready));
  }, html);
  return page;
}
const SENTENCE = 'The cat sat on the mat because it was warm.';
const TOY = '<attention-playground id="toy" view="attention" text="The cat sat on the mat."></attention-playground>';
const MATRIX = `<attention-playground id="matrix" view="text-matrix" text="${SENTENCE}" layer="3" head="5" hide="controls"></attention-playground>`;

/** Size of the first canvas under a part of an element's shadow root. */
const canvasSize = (page, id, sel) => page.evaluate(([id, sel]) => {
  const c = document.getElementById(id).shadowRoot.querySelector(sel);
  return [c.width, c.height];
}, [id, sel]);

export default {
  async 'embed.html: five elements render, sharing one wasm fetch and one fetch of each model'({ open, baseUrl, assert }) {
    // The page as shipped, but its image element on the CPU: DINOv2 on a software GPU takes minutes.
    const page = await open('harness.html'); // a start page: the route must be set before embed.html loads
    await page.route('**/embed.html', async (route) => {
      const res = await route.fetch();
      route.fulfill({ response: res, body: (await res.text()).replace('image="chelsea"', 'image="chelsea" backend="cpu"') });
    });
    await page.goto(new URL('embed.html', baseUrl).href);
    await ready(page);
    const urls = await fetched(page);
    assert.equal(count(urls, /\.wasm$/), 1, `wasm fetches: ${urls.filter((u) => u.endsWith('.wasm'))}`);
    assert.equal(count(urls, /\/models\/manifest\.json$/), 1);
    const weights = urls.filter((u) => u.includes('/models/') && !u.endsWith('manifest.json'));
    assert.equal(weights.length, 2, `model files fetched: ${weights}`); // text once (two elements), vision once
    assert.equal(new Set(weights).size, 2);
    const state = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('attention-playground')].map((e) => [e.id, {
      tokens: e.shadowRoot.querySelector('.heatmap, #text-headview')?.dataset.tokens ?? null,
      canvases: e.shadowRoot.querySelectorAll('canvas').length,
    }])));
    assert.equal(state.toy.tokens, '7');
    assert.equal(state.head.tokens, '13');
    assert.equal(state.matrix.tokens, '13');
    assert.ok(state.demo.canvases >= 3 && state.image.canvases >= 1, JSON.stringify(state));
    // Panel views show their panel only; hide="controls" hides the text box.
    assert.equal(await page.evaluate(() => getComputedStyle(document.getElementById('head').shadowRoot.querySelector('#text-input')).display), 'none');
    assert.equal(await page.evaluate(() => getComputedStyle(document.getElementById('head').shadowRoot.querySelector('[data-part~="text-matrix"]')).display), 'none');
  },

  async 'a page of mechanisms and toy attention fetches no weights'({ harness, assert }) {
    const page = await withElements(harness, '<attention-playground view="mechanisms" demo="5"></attention-playground><attention-playground view="attention" text="a b c"></attention-playground>');
    await page.waitForFunction(() => Number(document.querySelector('attention-playground').shadowRoot.querySelector('article[data-demo="masks"]')?.dataset.updates) > 0);
    const urls = await fetched(page);
    assert.deepEqual(urls.filter((u) => u.includes('/models/')), []);
    assert.ok(count(urls, /\.wasm$/) <= 2, 'more than the harness\'s own wasm and the engine\'s'); // the harness loads the glue itself
    const shown = await page.evaluate(() => [...document.querySelector('attention-playground').shadowRoot.querySelectorAll('article')].filter((a) => a.getClientRects().length).map((a) => a.dataset.demo));
    assert.deepEqual(shown, ['masks']);
  },

  async 'element: attributes are live, properties mirror them, the reader\'s edits fire change'({ harness, assert }) {
    const page = await withElements(harness, TOY + MATRIX);
    const view = () => page.evaluate(() => document.getElementById('matrix').shadowRoot.querySelector('#text-matrix').dataset.view);
    // layer="3" head="5", 1-based; the first result may still be on its way (no debounce).
    await page.waitForFunction(() => document.getElementById('matrix').shadowRoot.querySelector('#text-matrix')?.dataset.view === '2,4', null, { timeout: 10000 }).catch(() => {});
    assert.equal(await view(), '2,4');
    await page.evaluate(() => document.getElementById('matrix').setAttribute('layer', '6'));
    await page.waitForFunction(() => document.getElementById('matrix').shadowRoot.querySelector('#text-matrix').dataset.view === '5,4');
    assert.equal(await page.evaluate(() => document.getElementById('matrix').layer), '6');
    await page.evaluate(() => { document.getElementById('matrix').head = 'mean'; });
    await page.waitForFunction(() => document.getElementById('matrix').shadowRoot.querySelector('#text-matrix').dataset.view === '5,mean');
    await page.evaluate(() => document.getElementById('toy').addEventListener('change', (e) => (window.changed = e.detail)));
    await page.locator('#toy').locator('select[name="normalizer"]').selectOption('sparsemax');
    await page.waitForFunction(() => window.changed?.normalizer === 'sparsemax');
    await page.evaluate(() => document.getElementById('toy').setAttribute('text', 'one two'));
    await page.waitForFunction(() => document.getElementById('toy').shadowRoot.querySelector('.heatmap').dataset.tokens === '2');
  },

  async 'export: PNG of the view\'s size, SVG with one element per cell or line, JSON of the numbers drawn'({ harness, assert }) {
    // The image on the CPU: export does not depend on the backend, and DINOv2 on a software GPU is slow.
    const page = await withElements(harness, TOY + MATRIX +
      `<attention-playground id="head" view="text-head" text="${SENTENCE}" layer="3" head="5"></attention-playground>
       <attention-playground id="demo" view="mechanisms" demo="3"></attention-playground>
       <attention-playground id="image" view="image-overlay" image="chelsea" layer="12" backend="cpu"></attention-playground>`);
    // Live views (no debounce) draw their first result after `ready`: wait for the text views'.
    await page.waitForFunction(() => document.getElementById('matrix').shadowRoot.querySelector('#text-matrix')?.dataset.view === '2,4', null, { timeout: 60000 });
    // The matrix: 13 × 13 cells; its numbers are layer 3, head 5 of the model's attention.
    const m = await exported(page, 'matrix');
    assert.equal(m.svgError, null);
    assert.equal(m.root, 'svg');
    assert.deepEqual(m.png, await canvasSize(page, 'matrix', '#text-matrix canvas'));
    assert.equal(m.cells, 13 * 13);
    assert.equal(m.json.layer, 3);
    assert.equal(m.json.head, 5);
    assert.equal(m.json.model, 'all-MiniLM-L6-v2');
    assert.equal(m.json.tokens.length, 13);
    const rowSums = m.json.weights.map((r) => r.reduce((a, b) => a + b, 0));
    rowSums.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-4, `row sum ${s}`));
    const direct = await page.evaluate(async () => {
      const el = document.getElementById('matrix');
      const r = await el.playground.runText(el.text);
      const n = r.tokens.length, base = (2 * r.heads + 4) * n * n;
      return Array.from(r.attention.subarray(base, base + n * n));
    });
    m.json.weights.flat().forEach((w, i) => assert.ok(Math.abs(w - direct[i]) < 1e-5, `cell ${i}: ${w} vs ${direct[i]}`));
    // The head view: one <line> per line drawn.
    const h = await exported(page, 'head');
    assert.equal(h.svgError, null);
    const drawn = await page.evaluate(() => Number(document.getElementById('head').shadowRoot.querySelector('#text-headview').dataset.lines));
    assert.ok(drawn > 0);
    assert.equal(h.lines, drawn);
    assert.equal(h.json.lines.length, drawn);
    assert.deepEqual(h.png, await canvasSize(page, 'head', '#text-headview canvas'));
    // Toy attention: the JSON is what pg.attention returns for these options.
    const t = await exported(page, 'toy');
    assert.equal(t.cells, 49);
    assert.deepEqual(t.json.tokens, ['The', 'cat', 'sat', 'on', 'the', 'mat', '.']);
    // Image overlay: the photo as one <image>, the map as one <rect> per patch.
    const i = await exported(page, 'image');
    assert.equal(i.images, 1);
    assert.equal(i.cells, i.json.gridW * i.json.gridH);
    assert.equal(i.json.weights.length, i.json.gridW * i.json.gridH);
    assert.equal(i.json.layer, 12);
    assert.deepEqual(i.png, await canvasSize(page, 'image', 'canvas.image-overlay'));
    // A mechanisms demo: its plots as vector bars.
    const d = await exported(page, 'demo');
    assert.equal(d.svgError, null);
    assert.equal(d.json.figures.length, 3);
  },

  async 'page URL round trip: the text tab\'s state survives reopening the link'({ open, assert }) {
    const page = await open('index.html?view=text');
    await page.waitForFunction(() => document.querySelector('section[data-view="text"]')?.dataset.state === 'ready');
    await page.locator('#text-input').fill('Dogs chase cats.');
    await page.waitForFunction(() => document.querySelector('#text-matrix .rows span:nth-child(2)')?.textContent === 'dogs');
    await page.locator('#text-layer').selectOption('4'); // layer 5
    await page.locator('#text-head-pick').selectOption('2'); // head 3
    await page.locator('#text-hide').check();
    await page.locator('#text-rollout select').selectOption('max');
    await page.locator('#text-headview button[data-head="6"]').click(); // head 7 on as well
    await page.waitForFunction(() => new URLSearchParams(location.search).get('fusion') === 'max');
    await page.waitForFunction(() => new URLSearchParams(location.search).get('heads') === '3,7');
    const url = await page.evaluate(() => location.href);
    const q = new URL(url).searchParams;
    assert.equal(q.get('view'), 'text');
    assert.equal(q.get('text'), 'Dogs chase cats.');
    assert.equal(q.get('layer'), '5');
    assert.equal(q.get('head'), '3');
    assert.equal(q.get('hideSpecial'), '1');
    const snap = (p) => p.evaluate(() => ({
      view: document.getElementById('text-matrix').dataset.view,
      labels: [...document.querySelectorAll('#text-matrix .rows span')].map((s) => s.textContent),
      matrix: document.querySelector('#text-matrix canvas').toDataURL(),
      heads: document.getElementById('text-headview').dataset.heads,
      fusion: document.querySelector('#text-rollout select').value,
    }));
    await page.waitForFunction(() => document.getElementById('text-rollout').dataset.state === 'ready');
    const before = await snap(page);
    assert.equal(before.heads, '2,6');
    const again = await open(url.replace(/^https?:\/\/[^/]+\//, ''));
    await again.waitForFunction(() => document.querySelector('section[data-view="text"]')?.dataset.state === 'ready');
    await again.waitForFunction(() => document.getElementById('text-matrix').dataset.view === '4,2');
    assert.equal(await again.locator('#text-input').inputValue(), 'Dogs chase cats.');
    assert.equal(await again.locator('#text-hide').isChecked(), true);
    assert.deepEqual(await snap(again), before);
  },

  async 'page URL round trip: the image tab\'s sample, layer, head and query patch'({ open, assert }) {
    const LONG = { timeout: 300_000 };
    const page = await open('index.html?view=image&backend=cpu');
    await page.waitForFunction(() => window.imageView?.state.result, null, LONG);
    await page.locator('.image-samples button[data-sample="coffee"]').click();
    await page.waitForFunction(() => window.imageView.state.name === 'coffee', null, LONG);
    await page.locator('.image-controls [name="layer"]').selectOption({ value: '3' });
    await page.locator('.image-controls [name="head"]').selectOption({ value: '2' });
    const box = await page.locator('canvas.image-overlay').boundingBox();
    await page.locator('canvas.image-overlay').click({ position: { x: box.width * (4.5 / 16), y: box.height * (2.5 / 10) } });
    await page.waitForFunction(() => new URLSearchParams(location.search).get('query') === String(1 + 2 * 16 + 4));
    const q = new URL(await page.evaluate(() => location.href)).searchParams;
    assert.deepEqual([q.get('image'), q.get('layer'), q.get('head')], ['coffee', '4', '3']);
    const snap = (p) => p.evaluate(() => ({
      caption: document.querySelector('.image-panels figcaption').textContent,
      pixels: document.querySelector('canvas.image-overlay').toDataURL(),
      grid: document.querySelector('.image-grid p').textContent,
    }));
    const before = await snap(page);
    const again = await open(`index.html?${q}`);
    await again.waitForFunction(() => window.imageView?.state.name === 'coffee', null, LONG);
    await again.waitForFunction((c) => document.querySelector('.image-panels figcaption').textContent === c, before.caption, LONG);
    assert.deepEqual(await snap(again), before);
  },

  async 'the image view shows a progress bar with MB loaded'({ harness, assert }) {
    const page = await harness();
    await page.route('**/models/manifest.json', (route) => route.fulfill({ json: { vision: 'stand-in.bin' } }));
    await page.evaluate(async () => {
      const pg = { backend: 'cpu', loadVisionModel: (url, onProgress) => (onProgress({ loaded: 2e6, total: 8e6 }), new Promise(() => {})) };
      const section = document.createElement('section');
      document.body.append(section);
      (await import('./js/views/image.js')).mount(section, { pg, status() {}, onBackendChange() {} });
    });
    await page.waitForFunction(() => document.querySelector('.image-status')?.textContent.includes('2.0 / 8.0 MB'));
    assert.equal(await page.locator('.image-progress').evaluate((p) => [p.value, p.max].join('/')), '2000000/8000000');
  },

  async 'page URL round trip: attention controls, a mechanisms demo, and ?embed= shows one view'({ open, assert }) {
    const page = await open('index.html');
    await page.waitForFunction(() => document.getElementById('heatmap')?.dataset.tokens === '11');
    await page.locator('#text').fill('one two three four');
    await page.locator('select[name="normalizer"]').selectOption('sparsemax');
    await page.locator('select[name="mask"]').selectOption('window');
    await page.waitForFunction(() => new URLSearchParams(location.search).get('mask') === 'window:2');
    const url = await page.evaluate(() => location.href.replace(/^https?:\/\/[^/]+\//, ''));
    await page.waitForFunction(() => document.getElementById('heatmap').dataset.tokens === '4');
    const pixels = await page.evaluate(() => document.querySelector('#heatmap canvas').toDataURL());
    const again = await open(url);
    await again.waitForFunction(() => document.getElementById('heatmap')?.dataset.tokens === '4');
    assert.equal(await again.locator('select[name="normalizer"]').inputValue(), 'sparsemax');
    assert.equal(await again.evaluate(() => document.querySelector('#heatmap canvas').toDataURL()), pixels);
    // Mechanisms: a demo's control goes into the URL and comes back.
    const mech = await open('index.html?view=mechanisms&masks-size=3&masks-mask=window');
    await mech.waitForFunction(() => Number(document.querySelector('article[data-demo="masks"]')?.dataset.updates) > 0, null, { timeout: 300_000 });
    assert.equal(await mech.locator('article[data-demo="masks"] input[name="size"]').inputValue(), '3');
    assert.equal(await mech.locator('article[data-demo="masks"] select[name="mask"]').inputValue(), 'window');
    assert.deepEqual(JSON.parse(await mech.locator('article[data-demo="masks"]').getAttribute('data-visible')).slice(0, 3), [4, 5, 6]);
    // ?embed=: one view alone, no header or tabs, controls hidden.
    const embed = await open('index.html?embed=attention-matrix&hide=controls&text=alpha+beta');
    await embed.waitForFunction(() => document.getElementById('heatmap')?.dataset.tokens === '2');
    assert.equal(await embed.locator('header').isVisible(), false);
    assert.equal(await embed.locator('#text').isVisible(), false);
    assert.equal(await embed.locator('#heatmap canvas').isVisible(), true);
  },
};
