// Queries and keys as points (issue 18): pg.project's PCA on the active backend against numpy
// (tests/fixtures/text/pca.safetensors, scripts/make-pca-fixture.py) and against a CPU Playground
// in the same page (the WebGPU parity, in the webgpu mode), with clear errors, and one GPU submission
// and one readback per call (counted in the engine worker); then the Text tab's
// panel (CPU mode: the page tests run MiniLM, which SwiftShader runs slowly and the projection
// test above already covers there): it draws a sentence, hover and keys focus a token, the
// built-in set runs, the export carries the coordinates, the URL holds its state, the
// `text-qk` embed view renders, and a 390 px phone fits it.
import { fileURLToPath } from 'node:url';
import { readSafetensors } from './safetensors.mjs';

const FIXTURE = fileURLToPath(new URL('../fixtures/text/pca.safetensors', import.meta.url));
const f32s = (file, key) => {
  const d = file.data(key);
  return Array.from({ length: d.length / 4 }, (_, i) => d.readFloatLE(4 * i));
};
const maxDiff = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

async function textPage(open, query = '') {
  const page = await open(`index.html?view=text${query}`);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('section[data-view="text"]')?.dataset.state));
  const ok = (await page.locator('section[data-view="text"]').getAttribute('data-state')) === 'ready';
  return ok ? page : null;
}
const updates = (page) => page.evaluate(() => Number(document.getElementById('text-qk').dataset.updates ?? 0));
const nextUpdate = async (page, before) => page.waitForFunction((n) => Number(document.getElementById('text-qk').dataset.updates ?? 0) > n, before);

export default {
  async 'pg.project: numpy PCA of MiniLM queries and keys, CPU = active backend, clear errors'({ harness, expectBackend, assert }) {
    const page = await harness();
    await page.waitForFunction(() => window.apReady || window.apError);
    if (!(await page.evaluate(() => typeof window.ap?.Playground?.prototype?.project === 'function'))) return console.log('       SKIPPED: no pg.project in this pkg/');
    const fix = readSafetensors(FIXTURE);
    const clouds = Object.keys(fix.header).filter((k) => k.endsWith('.points')).map((k) => {
      const key = k.slice(0, -'.points'.length), [rows, dim] = fix.header[k].shape;
      return { key, rows, dim, points: f32s(fix, k) };
    });
    assert.equal(clouds.length, 5);
    const got = await page.evaluate(async (clouds) => {
      const pg = await window.ap.Playground.create({ backend: 'auto' });
      const cpu = await window.ap.Playground.create({ backend: 'cpu' });
      const out = [];
      for (const c of clouds) {
        const p = await pg.project(new Float32Array(c.points), c.rows, c.dim, { method: 'pca' });
        const q = await cpu.project(c.points, c.rows, c.dim);
        out.push({ backend: p.backend, cpuBackend: q.backend, method: p.method, coords: Array.from(p.coords), components: Array.from(p.components), explained: Array.from(p.explained), mean: p.mean.length,
          cpu: { coords: Array.from(q.coords), components: Array.from(q.components), explained: Array.from(q.explained) } });
      }
      const msg = async (f) => { try { await f(); return 'resolved'; } catch (e) { return String(e.message ?? e); } };
      const errors = {
        nan: await msg(() => pg.project(new Float32Array([0, 1, NaN, 3]), 2, 2)),
        empty: await msg(() => pg.project(new Float32Array(0), 0, 4)),
        mismatch: await msg(() => pg.project(new Float32Array(7), 2, 4)),
        oneDim: await msg(() => pg.project(new Float32Array(4), 4, 1)),
        notArray: await msg(() => pg.project('1,2,3,4', 2, 2)),
        method: await msg(() => pg.project(new Float32Array(4), 2, 2, { method: 'tsne' })),
        option: await msg(() => pg.project(new Float32Array(4), 2, 2, { perplexity: 30 })),
        rows: await msg(() => pg.project(new Float32Array(4), 2.5, 2)),
      };
      const after = (await pg.project([0, 0, 1, 1, 2, 0], 3, 2)).coords.length; // still usable
      pg.free();
      cpu.free();
      return { out, errors, after };
    }, clouds);
    clouds.forEach((c, i) => {
      const g = got.out[i], label = `${c.key} (${c.rows}×${c.dim})`;
      assert.equal(g.backend, expectBackend, label);
      assert.equal(g.cpuBackend, 'cpu');
      assert.equal(g.method, 'pca');
      assert.equal(g.mean, c.dim);
      const scale = Math.max(...f32s(fix, `${c.key}.coords`).map(Math.abs));
      // numpy: f64 eigh of the covariance; the engine sums the covariance in f32 (measured ≤ 2e-6).
      assert.ok(maxDiff(g.components, f32s(fix, `${c.key}.components`)) < 1e-4, `${label}: components vs numpy`);
      assert.ok(maxDiff(g.explained, f32s(fix, `${c.key}.explained`)) < 1e-4, `${label}: explained vs numpy`);
      assert.ok(maxDiff(g.coords, f32s(fix, `${c.key}.coords`)) / scale < 1e-4, `${label}: coords vs numpy`);
      // The active backend against the CPU.
      assert.ok(maxDiff(g.coords, g.cpu.coords) / scale < 1e-4, `${label}: coords vs CPU`);
      assert.ok(maxDiff(g.components, g.cpu.components) < 1e-4, `${label}: components vs CPU`);
    });
    const e = got.errors;
    assert.match(e.nan, /project: points\[2\] must be a finite number/);
    assert.match(e.empty, /at least 2 points/);
    assert.match(e.mismatch, /points has 7 values, expected rows × dim = 2 × 4 = 8/);
    assert.match(e.oneDim, /at least 2 channels/);
    assert.match(e.notArray, /project: points must be a Float32Array/);
    assert.match(e.method, /options.method must be 'pca', got 'tsne'/);
    assert.match(e.option, /unknown option 'perplexity'/);
    assert.match(e.rows, /project: rows must be a whole number/);
    assert.equal(got.after, 6);
  },

  async 'pg.project through the worker: on the GPU one submission and one readback per call'({ harness, expectBackend, assert }) {
    const page = await harness('?worker=1');
    await page.evaluate(() => window.ap.Playground.create({ backend: 'auto' }).then((pg) => (window.pg = pg)));
    if (!(await page.evaluate(() => typeof window.pg.project === 'function'))) return console.log('       SKIPPED: no pg.project in this pkg/');
    const worker = page.workers().find((w) => w.url().endsWith('/engine-worker.js'));
    assert.ok(worker, 'no engine worker');
    await worker.evaluate(() => {
      const c = (self.__qk = { submits: 0, maps: 0 });
      if (self.GPUQueue) {
        const submit = GPUQueue.prototype.submit, mapAsync = GPUBuffer.prototype.mapAsync;
        GPUQueue.prototype.submit = function (...a) { c.submits++; return submit.apply(this, a); };
        GPUBuffer.prototype.mapAsync = function (...a) { c.maps++; return mapAsync.apply(this, a); };
      }
    });
    const got = await page.evaluate(async () => {
      const pts = Float32Array.from({ length: 1024 * 32 }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 32)));
      const p = await window.pg.project(pts, 1024, 32);
      return { backend: p.backend, rows: p.coords.length / 2 };
    });
    const c = await worker.evaluate(() => self.__qk);
    assert.equal(got.backend, expectBackend);
    assert.equal(got.rows, 1024);
    if (expectBackend === 'webgpu') assert.deepEqual(c, { submits: 1, maps: 1 });
    else assert.deepEqual(c.submits, 0);
  },

  async 'Text tab: the panel draws a sentence; hover, keys and the picker focus a token'({ open, mode, assert }) {
    if (mode !== 'cpu') return console.log('       SKIPPED: the CPU mode runs the page (the projection test covers WebGPU)');
    const page = await textPage(open);
    if (!page) return console.log('       SKIPPED: no text model');
    await page.locator('#text-qk summary').click();
    await page.waitForFunction(() => document.getElementById('text-qk').dataset.updates);
    const info = await page.evaluate(() => ({ ...document.getElementById('text-qk').dataset, tokens: document.getElementById('qk-plot').dataset.tokens }));
    assert.equal(info.tokens, '13'); // [CLS] the cat … warm . [SEP]
    assert.equal(info.view, '0,0,sentence');
    assert.ok(Number(info.projectMs) >= 0 && Number(info.drawMs) >= 0);
    // The drawn projection is the engine's: the plot's JSON equals a direct pg.project of the capture.
    const check = await page.evaluate(async () => {
      const pg = window.playground.pg;
      const r = await pg.runText('The cat sat on the mat because it was warm.', undefined, { capture: { layer: 0, head: 0 } });
      const n = r.tokens.length, d = r.capture.q.length / n;
      const pts = new Float32Array(2 * n * d);
      pts.set(r.capture.q);
      pts.set(r.capture.k, n * d);
      const p = await pg.project(pts, 2 * n, d);
      const json = window.playground.view.exporters['text-qk'].json();
      return { coords: Array.from(p.coords), queries: json.queries.flat(), keys: json.keys.flat(), tokens: json.tokens, method: json.method };
    });
    assert.equal(check.method, 'pca');
    assert.equal(check.tokens[2], 'cat');
    assert.ok(maxDiff(check.coords, [...check.queries, ...check.keys]) < 1e-6);

    // Hover a query that no other mark is near (the SVG has the canvas's layout, one circle.query
    // per token in order): that token is focused, its strongest keys listed.
    await page.locator('#qk-canvas').scrollIntoViewIfNeeded();
    const box = await page.locator('#qk-canvas').boundingBox();
    const { t, at } = await page.evaluate(() => {
      const svg = new DOMParser().parseFromString(window.playground.view.exporters['text-qk'].svg(), 'image/svg+xml');
      const q = [...svg.querySelectorAll('circle.query')].map((c) => [Number(c.getAttribute('cx')), Number(c.getAttribute('cy'))]);
      const k = [...svg.querySelectorAll('rect.key')].map((r) => [Number(r.getAttribute('x')) + 3.5, Number(r.getAttribute('y')) + 3.5]);
      const all = [...q, ...k];
      const t = q.findIndex(([x, y], i) => all.every(([u, v], j) => j === i || Math.hypot(u - x, v - y) > 16));
      return { t, at: q[t] };
    });
    assert.ok(t >= 0, 'some query stands alone');
    await page.mouse.move(box.x + (at[0] * box.width) / 520, box.y + (at[1] * box.height) / 400);
    await page.waitForFunction((t) => document.getElementById('qk-plot').dataset.focus === String(t), t);
    const rows = await page.locator('.qk-table tbody tr').count();
    assert.equal(rows, 6);
    assert.match(await page.locator('.qk-readout').textContent(), new RegExp(`\\(token ${t}\\) attends most to`));
    // The table's weights are the model's attention row (layer 1, head 1, query t), heaviest first.
    const table = await page.evaluate(() => [...document.querySelectorAll('.qk-table tbody tr')].map((tr) => [Number(tr.dataset.key), Number(tr.querySelector('td').textContent)]));
    const row = await page.evaluate(async (t) => {
      const r = await window.playground.pg.runText('The cat sat on the mat because it was warm.');
      const n = r.tokens.length;
      return Array.from(r.attention.subarray(t * n, (t + 1) * n));
    }, t);
    const order = row.map((w, j) => [j, w]).sort((a, b) => b[1] - a[1]).slice(0, 6);
    assert.deepEqual(table.map(([k]) => k), order.map(([j]) => j));
    table.forEach(([, w], i) => assert.ok(Math.abs(w - order[i][1]) < 6e-4));
    // The SVG draws one line per strongest key above 1 %, one circle and one square per token.
    const svg = await page.evaluate(() => {
      const s = new DOMParser().parseFromString(window.playground.view.exporters['text-qk'].svg(), 'image/svg+xml');
      return { q: s.querySelectorAll('circle.query').length, k: s.querySelectorAll('rect.key').length, lines: s.querySelectorAll('line.line').length };
    });
    assert.deepEqual([svg.q, svg.k], [13, 13]);
    assert.equal(svg.lines, order.filter(([, w]) => w >= 0.01).length);

    // Keyboard: the arrow keys move the focus; Escape clears it.
    await page.locator('#qk-canvas').focus();
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction((t) => document.getElementById('qk-plot').dataset.focus === String(Math.min(t + 1, 12)), t);
    await page.keyboard.press('Home');
    await page.waitForFunction(() => document.getElementById('qk-plot').dataset.focus === '0');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.getElementById('qk-plot').dataset.focus === '-1');
    assert.equal(await page.locator('.qk-table tbody tr').count(), 0);
    await page.locator('#qk-token').selectOption('5');
    await page.waitForFunction(() => document.getElementById('qk-plot').dataset.focus === '5');
    assert.match(await page.locator('#qk-canvas').getAttribute('aria-label'), /13 tokens’ queries \(circles\) and keys \(squares\)/);

    // PNG export is the canvas.
    const png = await page.evaluate(async () => {
      const b = await createImageBitmap(await window.playground.view.exporters['text-qk'].png());
      return [b.width, b.height];
    });
    assert.deepEqual(png, [520, 400]);
  },

  async 'Text tab: the built-in set runs through one head; the URL keeps the panel state'({ open, mode, assert }) {
    if (mode !== 'cpu') return console.log('       SKIPPED: the CPU mode runs the page');
    const page = await textPage(open, '&qk=1&qkLayer=3&qkHead=5&qkMode=set&qkToken=4');
    if (!page) return console.log('       SKIPPED: no text model');
    await page.waitForFunction(() => document.getElementById('text-qk').dataset.updates);
    const got = await page.evaluate(() => ({
      view: document.getElementById('text-qk').dataset.view,
      open: document.querySelector('#text-qk details').open,
      focus: document.getElementById('qk-plot').dataset.focus,
      json: window.playground.view.exporters['text-qk'].json(),
    }));
    assert.equal(got.view, '2,4,set');
    assert.ok(got.open);
    assert.equal(got.focus, '4');
    const j = got.json;
    assert.equal(j.layer, 3);
    assert.equal(j.head, 5);
    assert.equal(j.inputs.length, 8);
    assert.equal(new Set(j.input).size, 8, 'tokens from every sentence');
    assert.equal(j.tokens.length, j.queries.length);
    assert.equal(j.keys.length, j.queries.length);
    assert.ok(j.queries.flat().every(Number.isFinite));
    assert.ok(j.tokens.filter((t) => t === '[CLS]').length === 8);

    // The reader's own list; the URL follows (after its 250 ms throttle).
    const before = await updates(page);
    await page.locator('#qk-mode').selectOption('own');
    await page.locator('#qk-sentences').fill('one two\nthree four five');
    await nextUpdate(page, before);
    await page.waitForFunction(() => document.getElementById('text-qk').dataset.tokens === '9');
    await page.waitForFunction(() => new URLSearchParams(location.search).get('qkSentences') === 'one two\nthree four five');
    const params = await page.evaluate(() => Object.fromEntries(new URLSearchParams(location.search)));
    assert.equal(params.qk, '1');
    assert.equal(params.qkLayer, '3');
    assert.equal(params.qkHead, '5');
    assert.equal(params.qkSentences, 'one two\nthree four five');

    // Reopening that URL restores the same projection.
    const again = await open(`index.html?${new URLSearchParams(params)}`);
    await again.waitForFunction(() => document.getElementById('text-qk')?.dataset.updates);
    const j2 = await again.evaluate(() => window.playground.view.exporters['text-qk'].json());
    const j1 = await page.evaluate(() => window.playground.view.exporters['text-qk'].json());
    assert.deepEqual(j2.tokens, j1.tokens);
    assert.ok(maxDiff(j2.queries.flat(), j1.queries.flat()) < 1e-6);
    assert.equal(j2.mode, 'own');
  },

  async 'embed view text-qk renders alone and exports; a 390 px phone fits the panel'({ harness, open, mode, assert }) {
    if (mode !== 'cpu') return console.log('       SKIPPED: the CPU mode runs the page');
    const page = await harness();
    const got = await page.evaluate(async () => {
      await import('./pkg/element.js');
      document.body.insertAdjacentHTML('beforeend', '<attention-playground id="qk" view="text-qk" text="The cat sat on the mat." qkLayer="2" qkHead="3"></attention-playground>');
      const e = document.getElementById('qk');
      await e.ready;
      const root = e.shadowRoot;
      const t0 = performance.now();
      while (!root.getElementById('text-qk')?.dataset.updates && performance.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 50));
      const json = await e.exportJSON();
      const svg = new DOMParser().parseFromString(await e.exportSVG(), 'image/svg+xml');
      const png = await createImageBitmap(await e.exportPNG());
      return {
        updates: root.getElementById('text-qk').dataset.updates,
        matrixHidden: getComputedStyle(root.querySelector('[data-part~="text-matrix"]')).display === 'none',
        json: { view: json.view, layer: json.layer, head: json.head, tokens: json.tokens.length, queries: json.queries.length },
        svg: svg.querySelectorAll('circle.query').length,
        png: [png.width, png.height],
        state: e.state,
      };
    });
    assert.ok(got.updates);
    assert.ok(got.matrixHidden);
    assert.deepEqual(got.json, { view: 'text-qk', layer: 2, head: 3, tokens: 9, queries: 9 });
    assert.equal(got.svg, 9);
    assert.deepEqual(got.png, [520, 400]);
    assert.equal(got.state.qk, '1');

    const phone = await textPage(open, '&qk=1');
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.waitForFunction(() => document.getElementById('text-qk').dataset.updates);
    await phone.locator('#qk-token').selectOption('3');
    const fit = await phone.evaluate(() => {
      const box = document.getElementById('text-qk');
      const small = [...box.querySelectorAll('summary, select')].filter((e) => {
        const b = e.getBoundingClientRect();
        return b.width < 44 || b.height < 44;
      }).map((e) => e.outerHTML.slice(0, 80));
      const wide = [...box.querySelectorAll('*')].filter((e) => e.getBoundingClientRect().right > 390.5 && !e.closest('.qk-scroll')).map((e) => e.outerHTML.slice(0, 80));
      return { small, wide };
    });
    assert.deepEqual(fit, { small: [], wide: [] });
  },

  async 'runImage capture: softmax(q·kᵀ/√d) is the returned map, clear errors (CPU)'({ harness, mode, assert }) {
    if (mode !== 'cpu') return console.log('       SKIPPED: DINOv2 on SwiftShader takes minutes (tests/vision_capture.rs covers the GPU)');
    const page = await harness();
    await page.waitForFunction(() => window.apReady || window.apError);
    const got = await page.evaluate(async () => {
      const manifest = await (await fetch('models/manifest.json')).json();
      const pg = await window.ap.Playground.create({ backend: 'cpu' });
      await pg.loadVisionModel(`models/${manifest.vision}`);
      const rgba = Uint8Array.from({ length: 98 * 70 * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 7919) % 251));
      const r = await pg.runImage(rgba, 98, 70, { capture: { layer: 10, head: 2 } });
      const plain = await pg.runImage(rgba, 98, 70);
      const T = r.tokens, c = r.capture, d = c.q.length / T;
      let worst = 0;
      for (const i of [0, 1, T >> 1, T - 1]) {
        const s = Array.from({ length: T }, (_, j) => { let x = 0; for (let k = 0; k < d; k++) x += c.q[i * d + k] * c.k[j * d + k]; return x / Math.sqrt(d); });
        const top = Math.max(...s), e = s.map((x) => Math.exp(x - top)), sum = e.reduce((a, b) => a + b, 0);
        const base = ((10 * r.heads + 2) * T + i) * T;
        e.forEach((x, j) => (worst = Math.max(worst, Math.abs(x / sum - r.attention[base + j]))));
      }
      const msg = async (p) => { try { await p; return 'resolved'; } catch (e) { return String(e.message ?? e); } };
      return {
        T, grid: [r.gridW, r.gridH], d, layer: c.layer, head: c.head, lengths: [c.q.length, c.k.length, c.v.length, c.x.length], worst,
        plainHasCapture: 'capture' in plain,
        errors: {
          layer: await msg(pg.runImage(rgba, 98, 70, { capture: { layer: 12, head: 0 } })),
          unknown: await msg(pg.runImage(rgba, 98, 70, { capture: { layer: 1, head: 0 }, heads: 1 })),
        },
      };
    });
    assert.deepEqual(got.grid, [16, 11]);
    assert.equal(got.T, 1 + 16 * 11);
    assert.deepEqual([got.layer, got.head, got.d], [10, 2, 64]);
    assert.deepEqual(got.lengths, [got.T * 64, got.T * 64, got.T * 64, got.T * 384]);
    assert.ok(got.worst < 1e-4, `softmax(q·kᵀ/√d) vs the returned map: ${got.worst}`);
    assert.equal(got.plainHasCapture, false);
    assert.match(got.errors.layer, /capture.layer must be at most 11/);
    assert.match(got.errors.unknown, /runImage: options: unknown option 'heads'/);
  },

  async 'Image tab: patch queries and keys; hovering the image picks that patch; the image-qk embed view'({ open, harness, mode, assert }) {
    if (mode !== 'cpu') return console.log('       SKIPPED: the CPU mode runs the page');
    const page = await open('index.html?view=image&qk=1&qkLayer=12&qkHead=3&qkToken=0');
    await page.waitForFunction(() => document.getElementById('image-qk')?.dataset.updates, null, { timeout: 120_000 });
    const info = await page.evaluate(() => ({ ...document.getElementById('image-qk').dataset, json: window.playground.view.exporters['image-qk'].json() }));
    assert.equal(info.view, '11,2');
    assert.equal(info.tokens, '257'); // 16 × 16 patches + the class token
    assert.equal(info.json.queries.length, 257);
    assert.equal(info.json.tokens[0], '[CLS]');
    assert.equal(info.json.tokens[1], 'patch 1,1');
    assert.equal(info.json.focus, 0);
    // Hover the image at the centre of patch (row 9, column 5): that token is focused and outlined.
    const canvas = page.locator('#image-qk-patch');
    await canvas.scrollIntoViewIfNeeded();
    const b = await canvas.boundingBox();
    await page.mouse.move(b.x + (4.5 / 16) * b.width, b.y + (8.5 / 16) * b.height);
    const want = 1 + 8 * 16 + 4;
    await page.waitForFunction((t) => document.getElementById('image-qk').dataset.patch === String(t), want);
    assert.equal(await page.evaluate(() => document.getElementById('image-qk-plot').dataset.focus), String(want));
    await page.waitForFunction((t) => new URLSearchParams(location.search).get('qkToken') === String(t), want);
    assert.match(await page.locator('#image-qk-plot .qk-readout').textContent(), /Query “patch 9,5”/);
    // Keyboard on the image: arrows move by patches, and the move is announced.
    await page.mouse.move(0, 0);
    await canvas.focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction((t) => document.getElementById('image-qk').dataset.patch === String(t), want + 17);
    assert.match(await page.locator('#image-qk-patch + .qk-readout').textContent(), /patch 10,6 \(token 150\)/);

    const h = await harness();
    const got = await h.evaluate(async () => {
      await import('./pkg/element.js');
      document.body.insertAdjacentHTML('beforeend', '<attention-playground id="iq" view="image-qk" image="chelsea" backend="cpu" qkHead="2"></attention-playground>');
      const e = document.getElementById('iq');
      await e.ready;
      const t0 = performance.now();
      while (!e.shadowRoot.getElementById('image-qk')?.dataset.updates && performance.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 50));
      const json = await e.exportJSON();
      return { tokens: json.tokens.length, head: json.head, view: json.view, overlayHidden: getComputedStyle(e.shadowRoot.querySelector('[data-part~="image-overlay"]')).display === 'none' };
    });
    assert.equal(got.view, 'image-qk');
    assert.equal(got.head, 2);
    assert.ok(got.tokens > 100);
    assert.ok(got.overlayHidden);
  },
};
