// The first page (www/index.html): it boots on the expected backend, live typing updates the
// heatmap, controls recompute, ?backend=cpu forces the CPU (and ?wasm= a build), and token text is never parsed as HTML.

async function updates(page) {
  return Number(await page.locator('section[data-view="attention"]').getAttribute('data-updates') ?? 0);
}

async function waitForTokens(page, n) {
  await page.waitForFunction((n) => document.getElementById('heatmap')?.dataset.tokens === String(n), n);
}

export default {
  async 'the page boots on the expected backend and draws the heatmap'({ open, expectBackend, assert }) {
    const page = await open('index.html');
    await waitForTokens(page, 11); // "The cat sat on the mat because it was warm ."
    assert.equal(await page.locator('#backend').textContent(), expectBackend);
    assert.match(await page.locator('#timing').textContent(), /\d+\.\d ms per computation/);
    const labels = await page.locator('#heatmap .rows span').allTextContents();
    assert.deepEqual(labels.slice(0, 3), ['The', 'cat', 'sat']);
  },

  async 'live typing updates the heatmap'({ open, assert }) {
    const page = await open('index.html');
    await waitForTokens(page, 11);
    const before = await updates(page);
    await page.locator('#text').fill('');
    await page.locator('#text').pressSequentially('attention is all you need', { delay: 15 });
    // Live: "attention is all you n" also has 5 tokens; wait for the last word.
    await page.waitForFunction(() => [...document.querySelectorAll('#heatmap .cols span')].map((s) => s.textContent).join(' ') === 'attention is all you need');
    assert.ok((await updates(page)) > before);
    assert.deepEqual(await page.locator('#heatmap .cols span').allTextContents(), ['attention', 'is', 'all', 'you', 'need']);
    // The canvas holds a 5 × 5 map whose rows are distributions: sample its diagonal is not blank.
    const nonWhite = await page.evaluate(() => {
      const c = document.querySelector('#heatmap canvas');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] < 250) n++;
      return n;
    });
    assert.ok(nonWhite > 0, 'the heatmap is blank');
  },

  async 'controls recompute with the chosen options'({ open, assert }) {
    const page = await open('index.html');
    await waitForTokens(page, 11);
    const before = await updates(page);
    await page.locator('select[name="normalizer"]').selectOption('sparsemax');
    await page.locator('select[name="mask"]').selectOption('causal');
    await page.waitForFunction((b) => Number(document.querySelector('section[data-view="attention"]').dataset.updates) > b, before);
    assert.equal(await page.locator('.error').textContent(), '');
    // Causal: the first row attends only to itself, so its first cell is the darkest possible. The
    // two changes may redraw once or twice: wait (up to 10 s) for the one with both.
    const firstRow = () => page.evaluate(() => {
      const c = document.querySelector('#heatmap canvas');
      const cell = c.width / 11;
      const px = (col) => c.getContext('2d').getImageData(col * cell + cell / 2, cell / 2, 1, 1).data[0];
      return [px(0), px(1), px(10)];
    });
    const causal = ([first, second, last]) => first < 60 && second === 255 && last === 255;
    for (let t = 0; t < 100 && !causal(await firstRow()); t++) await page.waitForTimeout(100);
    assert.ok(causal(await firstRow()), `causal first row: ${await firstRow()}`);
  },

  async '?backend=cpu forces the CPU; the isolated page runs the threads build on every core (up to 8); ?wasm=relaxed the relaxed-SIMD build, one thread'({ open, assert }) {
    const page = await open('index.html?backend=cpu');
    await waitForTokens(page, 11);
    assert.equal(await page.locator('#backend').textContent(), 'cpu');
    assert.equal(await page.locator('#backend').getAttribute('data-wasm'), 'relaxed'); // the relaxed-SIMD threads build
    const cores = await page.evaluate(() => Math.min(navigator.hardwareConcurrency, 8));
    assert.equal(await page.locator('#backend').getAttribute('data-threads'), String(cores));
    const relaxed = await open('index.html?backend=cpu&wasm=relaxed');
    await waitForTokens(relaxed, 11);
    assert.equal(await relaxed.locator('#backend').getAttribute('data-wasm'), 'relaxed');
    assert.equal(await relaxed.locator('#backend').getAttribute('data-threads'), '1');
  },

  async 'token text is rendered as text, never as HTML'({ open, assert }) {
    const page = await open('index.html');
    await waitForTokens(page, 11);
    await page.locator('#text').fill('<img src=x onerror=alert(1)> <b>bold</b>');
    await page.waitForFunction(() => [...document.querySelectorAll('#heatmap .cols span')].some((s) => s.textContent === 'img'));
    assert.equal(await page.locator('#heatmap img, #heatmap b').count(), 0);
    assert.ok((await page.locator('#heatmap .cols span').allTextContents()).includes('<'));
  },
};
