// The image page (issue 4, "The page") in headless Chromium: every input route (file picker,
// drag-and-drop, paste, bundled samples), the attention overlay per head and averaged for any
// layer, clicking a patch to query it, rollout with each head fusion, the 72-map grid, opacity and
// colour maps, saliency beside attention, huge images downscaled before wasm, and a corrupt file
// leaving the previous result in place.
//
// The page runs on `?backend=cpu` in both browsers: a DINOv2 forward on SwiftShader takes minutes
// here, and what is tested is the page. WebGPU parity of the same model: vision.test.mjs.
import { fileURLToPath } from 'node:url';

const SAMPLES = fileURLToPath(new URL('../../www/samples/', import.meta.url));
const LONG = { timeout: 300_000 };

/** Opens the image view and waits for the first (default sample) result. */
async function openImagePage(open) {
  const page = await open('index.html?view=image&backend=cpu');
  await page.waitForFunction(() => window.imageView?.state.result, null, LONG);
  return page;
}

/** Resolves when the view shows a result for `name` (a new result object), or the status warns. */
const waitFor = (page, name) => page.waitForFunction((n) => window.imageView.state.name === n, name, LONG);

const caption = (page) => page.locator('.image-panels figcaption').first().textContent();
const pixels = (page, selector) => page.evaluate((s) => document.querySelector(s).toDataURL(), selector);
const control = (page, name) => page.locator(`.image-controls [name="${name}"]`);
/** Sets a range input as a user drag would (Playwright cannot fill() a range). */
const slide = (page, name, value) => page.evaluate(([n, v]) => {
  const e = document.querySelector(`.image-controls [name="${n}"]`);
  e.value = v;
  e.dispatchEvent(new Event('input', { bubbles: true }));
}, [name, value]);

/** A Blob-backed File of one of www/samples, built in the page (for drop and paste events). */
const sampleFileJs = `async (name, type = 'image/jpeg') => new File([await (await fetch('samples/' + name)).blob()], name, { type })`;

export default {
  async 'image page: file picker, drag-and-drop and paste each run the model'({ open, assert }) {
    const page = await openImagePage(open);
    assert.equal(await page.evaluate(() => window.imageView.state.name), 'astronaut');

    await page.locator('.image-drop input[type=file]').setInputFiles(`${SAMPLES}coffee.jpg`);
    await waitFor(page, 'coffee.jpg');
    assert.match(await page.locator('.image-status').textContent(), /"coffee.jpg": 16×10 patches, 161 tokens/);

    await page.evaluate(async (js) => {
      const dt = new DataTransfer();
      dt.items.add(await eval(js)('rocket.jpg'));
      document.querySelector('.image-drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, sampleFileJs);
    await waitFor(page, 'rocket.jpg');

    await page.evaluate(async (js) => {
      const dt = new DataTransfer();
      dt.items.add(await eval(js)('chelsea.jpg'));
      document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    }, sampleFileJs);
    await waitFor(page, 'chelsea.jpg');
    const r = await page.evaluate(() => {
      const { result } = window.imageView.state;
      return { layers: result.layers, heads: result.heads, gridW: result.gridW, gridH: result.gridH, n: result.attention.length };
    });
    assert.deepEqual(r, { layers: 12, heads: 6, gridW: 16, gridH: 10, n: 12 * 6 * 161 * 161 });

    // A drop or paste without a file says so and keeps the result.
    await page.evaluate(() => document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: new DataTransfer(), bubbles: true })));
    assert.match(await page.locator('.image-status').textContent(), /the clipboard holds no image file/);
    assert.equal(await page.evaluate(() => window.imageView.state.name), 'chelsea.jpg');
  },

  async 'image page: bundled samples, overlay per head / mean for any layer, patch query, grid, controls, saliency'({ open, assert }) {
    const page = await openImagePage(open);
    assert.equal(await page.locator('.image-samples button').count(), 4);
    await page.locator('.image-samples button[data-sample="coffee"]').click();
    await waitFor(page, 'coffee');
    assert.match(await caption(page), /^layer 12, mean of heads, query: class token$/);

    // Any layer, any head, or the mean: each draws a different map.
    const seen = new Set([await pixels(page, 'canvas.image-overlay')]);
    await control(page, 'layer').selectOption({ value: '2' }); // layer 3
    assert.match(await caption(page), /^layer 3, mean of heads/);
    seen.add(await pixels(page, 'canvas.image-overlay'));
    for (const h of ['0', '5']) {
      await control(page, 'head').selectOption({ value: h });
      assert.match(await caption(page), new RegExp(`^layer 3, head ${Number(h) + 1}, query: class token`));
      seen.add(await pixels(page, 'canvas.image-overlay'));
    }
    assert.equal(seen.size, 4, 'layer 12 mean, layer 3 mean, layer 3 head 1 and head 6 all differ');

    // Opacity and colour map change the drawing; opacity 0 shows the bare image.
    const before = await pixels(page, 'canvas.image-overlay');
    await control(page, 'colormap').selectOption('magma');
    const magma = await pixels(page, 'canvas.image-overlay');
    assert.notEqual(magma, before);
    await slide(page, 'opacity', '0');
    const bare = await pixels(page, 'canvas.image-overlay');
    assert.notEqual(bare, magma);
    await slide(page, 'opacity', '1');
    assert.notEqual(await pixels(page, 'canvas.image-overlay'), bare);

    // Click a patch: it becomes the query for the overlay and the grid.
    const box = await page.locator('canvas.image-overlay').boundingBox();
    const r = await page.evaluate(() => ({ gridW: window.imageView.state.result.gridW, gridH: window.imageView.state.result.gridH }));
    await page.locator('canvas.image-overlay').click({ position: { x: box.width * (2.5 / r.gridW), y: box.height * (1.5 / r.gridH) } });
    assert.match(await caption(page), /query: patch \(3, 2\)$/);
    assert.match(await page.locator('.image-grid p').textContent(), /query: patch 19;/); // 1 + 1·16 + 2
    await page.locator('.image-controls button', { hasText: 'query: class token' }).click();
    assert.match(await caption(page), /query: class token$/);

    // The grid: all 72 maps, labelled; clicking one opens it in the main overlay.
    assert.equal(await page.locator('.image-grid-maps canvas').count(), 72);
    assert.match(await page.locator('.image-grid p').textContent(), /^all 72 maps \(12 layers × 6 heads\)/);
    await page.locator('.image-grid-maps canvas[data-layer="7"][data-head="4"]').click();
    assert.match(await caption(page), /^layer 8, head 5, query: class token$/);

    // Saliency beside attention, drawn and the same size.
    const sal = await page.evaluate(() => {
      const s = document.querySelector('canvas.image-saliency'), a = document.querySelector('canvas.image-overlay');
      const d = s.getContext('2d').getImageData(0, 0, s.width, s.height).data;
      let lit = 0;
      for (let i = 0; i < d.length; i += 4) lit += d[i + 3] > 0 ? 1 : 0;
      return { hidden: s.hidden, same: s.width === a.width && s.height === a.height, lit: lit / (s.width * s.height),
        values: window.imageView.state.result.saliency.length };
    });
    assert.equal(sal.hidden, false);
    assert.ok(sal.same && sal.lit > 0.99, JSON.stringify(sal));
    assert.equal(sal.values, 224 * 140); // coffee 600×400 → 224×149 → cropped to 224×140
  },

  async 'image page: rollout overlay (residual-aware) with head fusion mean / max / min'({ open, assert }) {
    const page = await openImagePage(open);
    assert.equal(await page.evaluate(() => typeof window.playground.pg.rollout), 'function');
    await control(page, 'source').selectOption('rollout');
    const maps = new Set();
    for (const f of ['mean', 'max', 'min']) {
      await control(page, 'fusion').selectOption(f);
      await page.waitForFunction((f) => document.querySelector('.image-panels figcaption').textContent.includes(`(${f} over heads)`), f);
      assert.match(await caption(page), new RegExp(`^rollout through layer 12 \\(${f} over heads\\), query: class token$`));
      assert.equal(await page.locator('.image-note').textContent(), '');
      maps.add(await pixels(page, 'canvas.image-overlay'));
    }
    assert.equal(maps.size, 3, 'mean, max and min fusion give different rollouts');
    // Rollout through an earlier layer differs again; the head control is off while it shows.
    await control(page, 'layer').selectOption({ value: '0' });
    await page.waitForFunction(() => document.querySelector('.image-panels figcaption').textContent.startsWith('rollout through layer 1 '));
    assert.equal(await control(page, 'head').isDisabled(), true);
    // The rollout rows sum to 1 over all tokens: what is drawn is a distribution.
    const sum = await page.evaluate(async () => {
      const r = window.imageView.state.result, t = r.tokens;
      const m = await window.playground.pg.rollout(r.attention, r.layers, r.heads, t, { residual: true, headFusion: 'mean' });
      return m.subarray(0, t).reduce((a, b) => a + b, 0);
    });
    assert.ok(Math.abs(sum - 1) < 1e-4, `class-token rollout row sums to ${sum}`);
  },

  async 'image page: huge images are downscaled before wasm; a corrupt file keeps the previous result'({ open, assert }) {
    const page = await openImagePage(open);
    // A 4000×3000 image (made in the page): the model sees at most 1024 on the longer side.
    const seen = await page.evaluate(async () => {
      const c = new OffscreenCanvas(4000, 3000);
      const ctx = c.getContext('2d');
      const g = ctx.createLinearGradient(0, 0, 4000, 3000);
      g.addColorStop(0, '#203080');
      g.addColorStop(1, '#f0c040');
      ctx.fillStyle = g;
      ctx.fillRect(0, 0, 4000, 3000);
      ctx.fillStyle = '#fff';
      ctx.fillRect(1500, 1000, 1000, 1000);
      const sizes = [];
      const pg = window.playground.pg, run = pg.runImage.bind(pg);
      pg.runImage = (rgba, w, h) => (sizes.push([w, h, rgba.length]), run(rgba, w, h));
      await window.imageView.run(await c.convertToBlob({ type: 'image/png' }), 'huge.png');
      pg.runImage = run;
      return { sizes, name: window.imageView.state.name, grid: [window.imageView.state.result.gridW, window.imageView.state.result.gridH] };
    });
    assert.deepEqual(seen.sizes, [[1024, 768, 1024 * 768 * 4]]);
    assert.equal(seen.name, 'huge.png');
    assert.deepEqual(seen.grid, [16, 12]); // 224×168 → 16×12 patches, no remainder

    // Corrupt data, and a text file, through the file picker: a clear message; the result stays.
    for (const [name, mimeType, body] of [['broken.jpg', 'image/jpeg', 'definitely not a JPEG'], ['notes.txt', 'text/plain', 'hello']]) {
      await page.locator('.image-drop input[type=file]').setInputFiles({ name, mimeType, buffer: Buffer.from(body) });
      await page.waitForFunction((n) => document.querySelector('.image-status').textContent.includes(`"${n}"`), name);
      assert.match(await page.locator('.image-status').textContent(), new RegExp(`"${name.replace('.', '\\.')}" could not be read as an image .*the previous result is kept`));
      assert.equal(await page.evaluate(() => window.imageView.state.name), 'huge.png');
      assert.equal(await page.locator('.image-grid-maps canvas').count(), 72);
    }
  },
};
