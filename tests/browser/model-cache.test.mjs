// Models download once (README "Hosting"): the model files are content-addressed and served
// immutable, and the loader keeps them in Cache Storage, so a second instance, or a second visit in
// the same browser profile, fetches no weights over the network. Without Cache Storage, loads still
// work from the network. Cache Storage does not depend on the backend: runs in the cpu mode only.

const HASHED = /\/models\/[^/]+\.[0-9a-f]{16}\.safetensors$/;

/** Loads both models into a new CPU instance of the harness page: the progress events of each. */
function loadBoth(page) {
  return page.evaluate(async () => {
    const manifest = await (await fetch('models/manifest.json')).json();
    const pg = await window.ap.Playground.create({ backend: 'cpu' });
    const text = [], vision = [];
    await pg.loadTextModel(`models/${manifest.text}`, (e) => text.push(e));
    await pg.loadVisionModel(`models/${manifest.vision}`, (e) => vision.push(e));
    const r = await pg.runText('The cat sat on the mat.');
    pg.free();
    return { text, vision, tokens: r.tokens.length };
  });
}

/** Model-file requests the page makes (Cache Storage reads are not requests), with their responses. */
function watch(page) {
  const seen = [];
  page.on('response', (res) => {
    if (HASHED.test(new URL(res.url()).pathname)) seen.push({ url: res.url(), status: res.status(), cacheControl: res.headers()['cache-control'] });
  });
  return seen;
}

const last = (events) => events.at(-1);

export default {
  async 'a second instance and a second visit download no weights'({ mode, harness, assert }) {
    if (mode !== 'cpu') return;
    const page = await harness();
    const seen = watch(page);
    // An older version of the text model, kept by an earlier build: replaced, not kept beside.
    const stale = await page.evaluate(async () => {
      const manifest = await (await fetch('models/manifest.json')).json();
      const old = new URL(`models/${manifest.text.replace(/\.[0-9a-f]{16}\./, '.0000000000000000.')}`, location.href).href;
      await (await caches.open('attention-playground-models-v1')).put(old, new Response('old'));
      return old;
    });

    const first = await loadBoth(page);
    assert.equal(first.tokens, 9);
    assert.equal(seen.length, 2, `first visit: ${JSON.stringify(seen)}`);
    for (const r of seen) {
      assert.equal(r.status, 200);
      assert.equal(r.cacheControl, 'public, max-age=31536000, immutable');
    }
    for (const events of [first.text, first.vision]) {
      assert.ok(events.length > 2 && events.every((e) => e.cached === false), 'network progress events');
      assert.equal(last(events).loaded, last(events).total);
    }

    // A second instance in the same page.
    const again = await loadBoth(page);
    assert.equal(seen.length, 2, `second instance: ${JSON.stringify(seen.slice(2))}`);
    const total = (events) => last(events).total;
    assert.deepEqual(again.text, [{ loaded: total(first.text), total: total(first.text), cached: true }]);
    assert.deepEqual(again.vision, [{ loaded: total(first.vision), total: total(first.vision), cached: true }]);

    // A second visit: same browser profile, new document.
    await page.reload();
    await page.waitForFunction(() => window.apReady || window.apError);
    const visit = await loadBoth(page);
    assert.equal(seen.length, 2, `second visit: ${JSON.stringify(seen.slice(2))}`);
    assert.equal(visit.tokens, 9);
    assert.ok(visit.text[0].cached && visit.vision[0].cached);
    const kept = await page.evaluate(async () => (await (await caches.open('attention-playground-models-v1')).keys()).map((r) => r.url));
    assert.equal(kept.length, 2, `cached: ${kept}`);
    assert.ok(!kept.includes(stale) && kept.every((u) => /[0-9a-f]{16}/.test(u)), `cached: ${kept}`);
  },

  async 'without Cache Storage the models load from the network'({ mode, harness, assert }) {
    if (mode !== 'cpu') return;
    const page = await harness();
    const seen = watch(page);
    const got = await page.evaluate(async () => {
      // As on an opaque origin, where reading `caches` throws.
      Object.defineProperty(window, 'caches', { get() { throw new DOMException('denied', 'SecurityError'); } });
      const manifest = await (await fetch('models/manifest.json')).json();
      const pg = await window.ap.Playground.create({ backend: 'cpu' });
      const info = [];
      for (let i = 0; i < 2; i++) info.push(await pg.loadTextModel(`models/${manifest.text}`));
      return { layers: info.map((i) => i.layers), tokens: (await pg.runText('a b')).tokens };
    });
    assert.deepEqual(got, { layers: [6, 6], tokens: ['[CLS]', 'a', 'b', '[SEP]'] });
    assert.equal(seen.length, 2, 'each load went to the network');
  },
};
