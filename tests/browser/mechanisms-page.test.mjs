// The Mechanisms tab (www/js/views/mechanisms.js): the panel and each of the eight demos render,
// and react to their control with the expected change in what pg computed.

const DEMOS = ['panel', 'scaling', 'temperature', 'normalizers', 'permutation', 'masks', 'multihead', 'regression', 'looking'];

const card = (id) => `article[data-demo="${id}"]`;

async function updates(page, id) {
  return Number(await page.locator(card(id)).getAttribute('data-updates'));
}

/** Waits until demo `id` has finished more than `after` runs; fails on a demo error. */
async function settled(page, id, after = 0) {
  await page.waitForFunction(({ sel, after }) => Number(document.querySelector(sel)?.dataset.updates) > after, { sel: card(id), after }, { timeout: 300_000 });
  const error = await page.locator(card(id)).getAttribute('data-error');
  if (error) throw new Error(`demo ${id}: ${error}`);
  return page.locator(card(id));
}

/** Changes a control, waits for the demo to recompute, returns the card's dataset. */
async function react(page, id, act) {
  const before = await updates(page, id);
  await act(page.locator(card(id)));
  await settled(page, id, before);
  return page.locator(card(id)).evaluate((el) => ({ ...el.dataset }));
}

async function canvasInk(locator) {
  return locator.evaluate((root) => {
    let n = 0;
    for (const c of root.querySelectorAll('canvas')) {
      if (!c.width || !c.height) continue;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0 && (d[i - 3] < 240 || d[i - 1] < 240)) n++;
    }
    return n;
  });
}

export default {
  async 'every demo renders on the expected backend and reacts to its control'({ open, expectBackend, assert }) {
    const page = await open('index.html?view=mechanisms');
    for (const id of DEMOS) {
      const loc = await settled(page, id);
      assert.ok((await canvasInk(loc)) > 0, `demo ${id} drew nothing`);
    }
    assert.equal(await page.locator('#backend').textContent(), expectBackend, 'no fallback while computing the demos');

    // Panel: entmax + stats show entropy; returnWeights off → the fused kernel, no map.
    let d = await react(page, 'panel', (c) => c.locator('select[name="normalizer"]').selectOption('entmax15'));
    assert.equal(d.weights, 'true');
    assert.ok(JSON.parse(d.entropy).every((e) => e >= 0), 'entropy per row');
    d = await react(page, 'panel', (c) => c.locator('select[name="score"]').selectOption('additive'));
    assert.equal(d.weights, 'true');
    d = await react(page, 'panel', (c) => c.locator('select[name="positions"]').selectOption('sinusoidal'));
    d = await react(page, 'panel', (c) => c.locator('input[name="stats"]').uncheck());
    d = await react(page, 'panel', (c) => c.locator('select[name="score"]').selectOption('scaled_dot'));
    d = await react(page, 'panel', (c) => c.locator('select[name="normalizer"]').selectOption('softmax'));
    d = await react(page, 'panel', (c) => c.locator('input[name="returnWeights"]').uncheck());
    assert.equal(d.weights, 'false');

    // 1: at headDim 256 plain dot has a far larger score variance and a lower entropy than scaled dot.
    d = await react(page, 'scaling', (c) => c.locator('button[name="reseed"]').click());
    const s = JSON.parse(d.result);
    assert.ok(s.dot.v.at(-1) > 20 * s.scaled_dot.v.at(-1), `variance dot ${s.dot.v.at(-1)} vs scaled ${s.scaled_dot.v.at(-1)}`);
    assert.ok(s.dot.e.at(-1) < s.scaled_dot.e.at(-1), 'entropy falls without scaling');

    // 2: T = 0.05 → nearly one-hot; T = 20 → nearly uniform (ln 12 ≈ 2.48).
    d = await react(page, 'temperature', (c) => c.locator('input[name="temperature"]').fill(String(Math.log(0.05))));
    assert.ok(Number(d.max) > 0.9 && Number(d.entropy) < 0.4, `T 0.05: max ${d.max}, entropy ${d.entropy}`);
    d = await react(page, 'temperature', (c) => c.locator('input[name="temperature"]').fill(String(Math.log(20))));
    assert.ok(Number(d.entropy) > 2.4, `T 20: entropy ${d.entropy}`);

    // 3: a sharp spread: sparsemax ≤ entmax ≤ softmax in non-zeros, softmax all.
    d = await react(page, 'normalizers', (c) => c.locator('input[name="spread"]').fill(String(Math.log(0.2))));
    const nz = JSON.parse(d.nonzero);
    assert.ok(nz.sparsemax <= nz.entmax15 && nz.entmax15 <= nz.softmax && nz.softmax === 10 && nz.sparsemax < 10, JSON.stringify(nz));

    // 4: without positions the shuffled map is the permuted original; with RoPE it is not, and
    // RoPE's neighbour log-ratio is the same in every row.
    d = await react(page, 'permutation', (c) => c.locator('button[name="shuffle"]').click());
    assert.ok(Number(d.permDiff) < 1e-5, `none: ${d.permDiff}`);
    assert.ok(Number(d.ropeSpread) < 1e-3, `RoPE spread ${d.ropeSpread}`);
    d = await react(page, 'permutation', (c) => c.locator('select[name="positions"]').selectOption('rope'));
    assert.ok(Number(d.permDiff) > 1e-3, `rope: ${d.permDiff}`);

    // 5: causal sees 1, 2, 3, …; window 1 at most 3 keys.
    d = await react(page, 'masks', (c) => c.locator('select[name="mask"]').selectOption('causal'));
    let vis = JSON.parse(d.visible);
    assert.deepEqual(vis.slice(0, 4), [1, 2, 3, 4]);
    d = await react(page, 'masks', (c) => c.locator('input[name="size"]').fill('1').then(() => c.locator('select[name="mask"]').selectOption('window')));
    vis = JSON.parse(d.visible);
    assert.ok(vis.every((n) => n <= 3) && vis[0] === 2, JSON.stringify(vis));

    // 6: two heads → two maps and two entropies.
    d = await react(page, 'multihead', (c) => c.locator('select[name="heads"]').selectOption('2'));
    assert.equal(d.heads, '2');
    assert.equal(JSON.parse(d.entropies).length, 2);
    assert.equal(await page.locator(`${card('multihead')} figure`).count(), 3);

    // 7: a wide bandwidth flattens the fitted curve.
    d = await react(page, 'regression', (c) => c.locator('input[name="bandwidth"]').fill(String(Math.log(0.05))));
    const narrow = Number(d.range);
    d = await react(page, 'regression', (c) => c.locator('input[name="bandwidth"]').fill(String(Math.log(20))));
    assert.ok(Number(d.range) < 0.5 * narrow, `range narrow ${narrow} vs wide ${d.range}`);

    // 8: identical values → same output, different maps; distinct values → outputs differ.
    d = await settled(page, 'looking').then((l) => l.evaluate((el) => ({ ...el.dataset })));
    assert.ok(Number(d.outDiff) < 1e-5 && Number(d.mapDiff) > 0.1, JSON.stringify(d));
    d = await react(page, 'looking', (c) => c.locator('input[name="identical"]').uncheck());
    assert.ok(Number(d.outDiff) > 1e-3, JSON.stringify(d));
    assert.equal(await page.locator('#backend').textContent(), expectBackend);
  },
};
