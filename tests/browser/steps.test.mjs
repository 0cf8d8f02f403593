// Step by step (issue 17): runText's capture through the API on the active backend (shapes,
// PyTorch's q, k, v from tests/fixtures/text/capture.safetensors within 1e-3, clear errors), and
// the step-by-step views, whose numbers are read back from the DOM: the Text tab's equal the API's
// captured x, q, k, v and the returned attention row; the Attention tab's equal its own backend
// row. Shown numbers have 4 decimals, so DOM-vs-API comparisons allow 5e-5 (+ float noise).
import { fileURLToPath } from 'node:url';
import { readSafetensors } from './safetensors.mjs';

const FIXTURES = fileURLToPath(new URL('../fixtures/text/', import.meta.url));
const SHOWN = 5.1e-5;
const f32s = (file, key) => {
  const d = file.data(key);
  return Array.from({ length: d.length / 4 }, (_, i) => d.readFloatLE(4 * i));
};
const maxDiff = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

/** Every shown number of `selector`, in document order, as JS numbers ('−∞' → -Infinity). */
const nums = (page, selector) => page.$$eval(selector, (els) => els.map((e) => {
  const t = e.textContent.replace('−', '-');
  return t === '-∞' ? -Infinity : Number(t);
}));

async function hasCapture(page) {
  return page.evaluate(() => typeof window.ap?.Playground?.prototype?.loadTextModel === 'function');
}

export default {
  async 'runText capture: shapes, PyTorch values and clear errors on the active backend'({ harness, expectBackend, assert }) {
    const page = await harness();
    await page.waitForFunction(() => window.apReady || window.apError);
    if (!(await hasCapture(page))) return console.log('       SKIPPED: no text API in this pkg/');
    const fix = readSafetensors(`${FIXTURES}capture.safetensors`);
    const got = await page.evaluate(async () => {
      const manifest = await (await fetch('models/manifest.json')).json();
      const pg = await window.ap.Playground.create({ backend: 'auto' });
      await pg.loadTextModel(`models/${manifest.text}`);
      const r = await pg.runText('The quick brown fox jumps over the lazy dog.', undefined, { capture: { layer: 3, head: 7 } });
      const plain = await pg.runText('a b');
      const msg = async (p) => { try { await p; return 'resolved'; } catch (e) { return String(e.message ?? e); } };
      const c = r.capture;
      return {
        backend: r.backend, n: r.tokens.length, layer: c.layer, head: c.head,
        types: [c.q, c.k, c.v, c.x].map((a) => a.constructor.name),
        lengths: [c.q.length, c.k.length, c.v.length, c.x.length],
        q: Array.from(c.q), k: Array.from(c.k), v: Array.from(c.v), x: Array.from(c.x),
        plainHasCapture: 'capture' in plain,
        errors: {
          layer: await msg(pg.runText('a', undefined, { capture: { layer: 6, head: 0 } })),
          head: await msg(pg.runText('a', undefined, { capture: { layer: 0, head: 12 } })),
          negative: await msg(pg.runText('a', undefined, { capture: { layer: -1, head: 0 } })),
          string: await msg(pg.runText('a', undefined, { capture: { layer: '1', head: 0 } })),
          missing: await msg(pg.runText('a', undefined, { capture: { layer: 1 } })),
          unknown: await msg(pg.runText('a', undefined, { capture: { layer: 1, head: 0 }, heads: 2 })),
          notObject: await msg(pg.runText('a', undefined, 42)),
        },
        after: (await pg.runText('still fine', undefined, { capture: { layer: 5, head: 11 } })).capture.head,
      };
    });
    assert.equal(got.backend, expectBackend);
    assert.deepEqual([got.n, got.layer, got.head], [12, 3, 7]);
    assert.deepEqual(got.types, Array(4).fill('Float32Array'));
    assert.deepEqual(got.lengths, [12 * 32, 12 * 32, 12 * 32, 12 * 384]);
    for (const part of ['q', 'k', 'v']) {
      const err = maxDiff(got[part], f32s(fix, `case0.layer3.head7.${part}`));
      assert.ok(err <= 1e-3, `${part}: max |Δ| from PyTorch ${err}`);
    }
    assert.ok(maxDiff(got.x, f32s(fix, 'case0.layer3.x')) <= 1e-3, 'x');
    assert.equal(got.plainHasCapture, false);
    assert.deepEqual(got.errors, {
      layer: 'invalid input: capture.layer must be at most 5 (0-based; the model has 6 layers), got 6',
      head: 'invalid input: capture.head must be at most 11 (0-based; the model has 12 heads), got 12',
      negative: 'invalid input: runText: options.capture.layer must be a whole number ≥ 0, got -1',
      string: "invalid input: runText: options.capture.layer must be a whole number ≥ 0, got '1'",
      missing: 'invalid input: runText: options.capture.head is required (a whole number ≥ 0)',
      unknown: 'invalid input: runText: options: unknown option \'heads\' (known: capture, stats)',
      notObject: 'invalid input: runText: options must be an object, got 42',
    });
    assert.equal(got.after, 11, 'the instance works after refused captures');
  },

  async 'Text tab: the step-by-step numbers are the API capture and the returned row'({ open, assert }) {
    const page = await open('index.html?view=text');
    await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('section[data-view="text"]')?.dataset.state));
    if (await page.locator('section[data-view="text"]').getAttribute('data-state') === 'error') return console.log('       SKIPPED: no text model');
    await page.locator('#text-steps summary').click();
    await page.waitForFunction(() => document.getElementById('text-steps').dataset.updates);
    await page.locator('#steps-layer').selectOption('2');
    await page.waitForFunction(() => document.getElementById('text-steps').dataset.view?.startsWith('2,'));
    await page.locator('#steps-head').selectOption('4');
    await page.waitForFunction(() => document.getElementById('text-steps').dataset.view?.startsWith('2,4,'));
    await page.locator('#steps-query').selectOption('2');
    await page.waitForFunction(() => document.getElementById('text-steps').dataset.view === '2,4,2');
    await page.locator('#steps-key').selectOption('6');

    // One stage at a time, walked with the buttons; then all of them.
    const stage = () => page.locator('#steps-stages').getAttribute('data-stage');
    assert.equal(await stage(), 'x');
    assert.equal(await page.locator('#steps-stages .steps-stage:not([hidden])').count(), 1);
    await page.getByRole('button', { name: 'next stage ▶' }).click();
    assert.equal(await stage(), 'qk');
    await page.getByRole('button', { name: '◀ previous stage' }).click();
    assert.equal(await stage(), 'x');
    await page.locator('#steps-all').check();
    assert.equal(await page.locator('#steps-stages .steps-stage:not([hidden])').count(), 7);
    for (const b of await page.locator('#steps-stages .steps-more').all()) await b.click(); // every dimension
    const sel = (stage, extra = '') => `#steps-stages [data-stage="${stage}"] ${extra}`;
    const dom = {
      x: await nums(page, sel('x', '.num[data-dim]')),
      q: await nums(page, sel('qk', '.steps-vector .num[data-dim]')),
      k: await nums(page, sel('qk', 'table .num[data-dim]')),
      scores: await nums(page, sel('scores', '.num[data-key]')),
      p: await nums(page, sel('softmax', '.num[data-key]')),
      v: await nums(page, sel('output', 'table .num[data-dim]')),
      o: await nums(page, sel('output', '.steps-vector .num[data-dim]')),
      check: Number(await page.locator(sel('softmax', '.steps-check')).getAttribute('data-max-diff')),
      chosen: await page.locator('#steps-stages li.chosen .steps-label').allTextContents(),
      neuronChosen: await page.locator('#steps-neuron tr.chosen').getAttribute('data-key'),
      neuronRows: await page.locator('#steps-neuron tbody tr[data-key]').count(),
    };
    const api = await page.evaluate(async () => {
      const r = await window.playground.pg.runText(document.getElementById('text-input').value, undefined, { capture: { layer: 2, head: 4 } });
      const n = r.tokens.length, c = r.capture;
      const row = r.attention.subarray(((2 * r.heads + 4) * n + 2) * n, ((2 * r.heads + 4) * n + 3) * n);
      return { n, tokens: r.tokens, x: Array.from(c.x.subarray(2 * 384, 3 * 384)), q: Array.from(c.q.subarray(2 * 32, 3 * 32)), k: Array.from(c.k), v: Array.from(c.v), row: Array.from(row) };
    });
    assert.equal(api.n, 13);
    assert.deepEqual([dom.x.length, dom.q.length, dom.k.length, dom.v.length, dom.o.length], [384, 32, 13 * 32, 13 * 32, 32]);
    for (const part of ['x', 'q', 'k', 'v']) assert.ok(maxDiff(dom[part], api[part]) <= SHOWN, `${part}: DOM vs capture ${maxDiff(dom[part], api[part])}`);
    assert.ok(maxDiff(dom.p, api.row) <= SHOWN, `softmax row vs the model's row: ${maxDiff(dom.p, api.row)}`);
    assert.ok(dom.check <= 1e-5, `the view's own check: ${dom.check}`);
    // q·k and Σ p·v recomputed from the API's numbers.
    const qk = api.k.length / 32;
    for (let j = 0; j < qk; j++) {
      const s = api.q.reduce((a, x, c) => a + x * api.k[j * 32 + c], 0);
      assert.ok(Math.abs(dom.scores[j] - s) <= 1e-3, `q·k[${j}]`);
    }
    const o = Array.from({ length: 32 }, (_, c) => api.row.reduce((a, p, j) => a + p * api.v[j * 32 + c], 0));
    assert.ok(maxDiff(dom.o, o) <= 1e-4, `o: ${maxDiff(dom.o, o)}`);
    // The chosen key ("mat", 6) is marked in every per-key stage and in the neuron view.
    assert.deepEqual(dom.chosen, Array(4).fill(api.tokens[6]));
    assert.equal(dom.neuronChosen, '6');
    assert.equal(dom.neuronRows, 13);
  },

  async 'Attention tab: the step by step follows its own inputs, mask and temperature'({ open, assert }) {
    const page = await open('index.html?view=attention&mask=causal&temperature=2');
    await page.waitForFunction(() => document.querySelector('section[data-view="attention"]')?.dataset.updates);
    await page.locator('#attention-steps summary').click();
    await page.locator('#attention-steps-query').selectOption('3');
    await page.waitForFunction(() => document.getElementById('attention-steps').dataset.query === '3');
    await page.locator('#attention-steps-all').check();
    const sel = (stage, extra) => `#attention-steps-stages [data-stage="${stage}"] ${extra}`;
    const masked = await nums(page, sel('mask', '.num[data-key]'));
    const p = await nums(page, sel('softmax', '.num[data-key]'));
    const formula = await page.locator(sel('scaled', '.steps-formula')).textContent();
    const want = await page.evaluate(async () => {
      const { tokenize, embed } = await import('./js/embedding.js');
      const tokens = tokenize(document.getElementById('text').value);
      const { q, k, v } = embed(tokens, 32);
      const n = tokens.length;
      const r = await window.playground.pg.attention({ q, k, v, heads: 1, seqQ: n, seqK: n, headDim: 32, mask: 'causal', temperature: 2 });
      return Array.from(r.weights.subarray(3 * n, 4 * n));
    });
    assert.equal(await page.locator('#attention-steps-stages .steps-stage').count(), 6, 'no x stage: the tab has no layer input');
    assert.match(formula, /√32 \/ T {2}\(T = 2\)/);
    assert.ok(masked.slice(4).every((x) => x === -Infinity) && masked.slice(0, 4).every(Number.isFinite), 'causal: keys after the query are −∞');
    assert.ok(maxDiff(p, want) <= SHOWN, `softmax row vs pg.attention: ${maxDiff(p, want)}`);
    assert.ok(Number(await page.locator(sel('softmax', '.steps-check')).getAttribute('data-max-diff')) <= 1e-6);
    // A normalizer the stages do not model: they step aside and say why.
    await page.locator('section[data-view="attention"] select[name="normalizer"]').selectOption('sparsemax');
    await page.waitForFunction(() => document.getElementById('attention-steps-stages').hidden);
    assert.match(await page.locator('#attention-steps > p[role="status"]').textContent(), /softmax/);
  },

  async 'Mechanisms panel: the same stages for its sentence, and they step aside for options they do not model'({ open, assert }) {
    const page = await open('index.html?view=mechanisms');
    await page.waitForSelector('#mech-steps');
    await page.locator('#mech-steps summary').click();
    await page.waitForFunction(() => document.querySelector('#mech-steps .steps-check'));
    assert.ok(Number(await page.locator('#mech-steps .steps-check').getAttribute('data-max-diff')) <= 1e-6);
    await page.locator('.mech-panel select[name="positions"]').selectOption('alibi');
    await page.waitForFunction(() => document.getElementById('mech-steps-stages').hidden);
    assert.match(await page.locator('#mech-steps > p[role="status"]').textContent(), /positions alibi/);
  },

  async 'steps views on a 390 px phone: nothing overflows them, targets are 44 px'({ open, assert }) {
    const check = (page, root) => page.evaluate((root) => {
      const box = document.querySelector(root);
      const small = [...box.querySelectorAll('summary, select, button')].filter((e) => {
        const b = e.getBoundingClientRect();
        return b.width < 44 || b.height < 44;
      }).map((e) => e.outerHTML.slice(0, 80));
      // Wide tables scroll inside their own box (.steps-scroll); nothing else may stick out.
      const wide = [...box.querySelectorAll('*')].filter((e) => e.getBoundingClientRect().right > 390.5 && !e.closest('.steps-scroll'))
        .map((e) => e.outerHTML.slice(0, 80));
      return { small, wide };
    }, root);
    const page = await open('index.html?view=attention');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction(() => document.querySelector('section[data-view="attention"]')?.dataset.updates);
    await page.locator('#attention-steps summary').click();
    await page.locator('#attention-steps-all').check();
    assert.deepEqual(await check(page, '#attention-steps'), { small: [], wide: [] }, 'Attention tab');

    const text = await open('index.html?view=text');
    await text.setViewportSize({ width: 390, height: 844 });
    await text.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('section[data-view="text"]')?.dataset.state));
    if (await text.locator('section[data-view="text"]').getAttribute('data-state') === 'error') return;
    await text.locator('#text-steps summary').click();
    await text.waitForFunction(() => document.getElementById('text-steps').dataset.updates);
    await text.locator('#steps-all').check();
    assert.deepEqual(await check(text, '#text-steps'), { small: [], wide: [] }, 'Text tab');
  },
};
