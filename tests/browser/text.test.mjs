// MiniLM in the browser: parity with PyTorch (the fixtures of tests/bert_parity.rs, made by
// scripts/make-text-fixtures.py): tokens identical, attention max |Δ| ≤ 2e-3 on the stored rows
// of all 72 maps, embedding cosine ≥ 0.9999 (with the threads build init() picks in this isolated
// page, on 1 thread and in the CPU browser on 2, and with the relaxed-SIMD and SIMD128 builds too). Then clear errors, and a GPU device loss mid-use.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readSafetensors } from './safetensors.mjs';

const FIXTURES = fileURLToPath(new URL('../fixtures/text/', import.meta.url));

let loaded;
/** Case `i` of cases.json with its reference attention rows ([layers, heads, rows, seq], f16). */
function fixture(i) {
  loaded ??= {
    cases: JSON.parse(readFileSync(`${FIXTURES}cases.json`, 'utf8')).cases,
    att: readSafetensors(`${FIXTURES}attention.safetensors`),
  };
  return { ...loaded.cases[i], attention: loaded.att.halfs(`case${i}`) };
}

// Short cases in both browsers (punctuation, accents, CJK, emoji, pairs, empty), a 202-token one,
// and in the CPU browser the 512-token truncated ones too (SwiftShader needs minutes for those).
const CASES = [0, 2, 5, 7, 8, 10, 12, 16, 18, 24];
const LONG_CASES = [19, 26];

/** Runs case `i` on the page's shared instance (made with `backend: 'auto'` on first use). */
async function run(page, f) {
  return page.evaluate(async ({ text, pair, rows }) => {
    if (!window.tpg) {
      const manifest = await (await fetch('models/manifest.json')).json();
      window.tpg = await window.ap.Playground.create({ backend: 'auto' });
      window.tpgInfo = await window.tpg.loadTextModel(`models/${manifest.text}`);
    }
    const r = await window.tpg.runText(text, pair ?? undefined);
    const n = r.tokens.length, picked = [];
    for (let lh = 0; lh < r.layers * r.heads; lh++) {
      for (const q of rows) picked.push(...r.attention.subarray((lh * n + q) * n, (lh * n + q + 1) * n));
    }
    return {
      info: window.tpgInfo, tokens: r.tokens, ids: Array.from(r.ids), types: Array.from(r.tokenTypes),
      layers: r.layers, heads: r.heads, size: r.attention.length, rows: picked, embedding: Array.from(r.embedding),
      truncated: r.truncated, backend: r.backend, ms: r.ms, pgBackend: window.tpg.backend,
    };
  }, { text: f.text, pair: f.pair, rows: f.rows });
}

/** Asserts the tolerances for case `i`; returns the result. */
async function check(page, i, assert, expectBackend) {
  const f = fixture(i);
  const r = await run(page, f);
  const n = f.tokens.length;
  assert.deepEqual(r.tokens, f.tokens, `case ${i}: tokens`);
  assert.deepEqual(r.ids, f.ids, `case ${i}: ids`);
  assert.deepEqual(r.types, f.type_ids, `case ${i}: token types`);
  assert.equal(r.backend, expectBackend);
  assert.deepEqual([r.layers, r.heads, r.size], [6, 12, 72 * n * n]);
  assert.equal(r.truncated, i === 19 || i === 25 || i === 26, `case ${i}: truncated`);
  let max = 0;
  for (let k = 0; k < f.attention.length; k++) max = Math.max(max, Math.abs(r.rows[k] - f.attention[k]));
  let dot = 0, na = 0, nb = 0;
  f.embedding.forEach((v, k) => { dot += v * r.embedding[k]; na += v * v; nb += r.embedding[k] ** 2; });
  const cos = dot / Math.sqrt(na * nb);
  console.log(`    ${expectBackend} case ${i} (${n} tokens): attention max ${max.toExponential(2)}, cosine ${cos.toFixed(7)}, ${r.ms.toFixed(0)} ms`);
  assert.ok(max <= 2e-3, `case ${i}: attention max err ${max}`);
  assert.ok(cos >= 0.9999, `case ${i}: embedding cosine ${cos}`);
  return r;
}

export default {
  async 'MiniLM tokens, attention and embedding match PyTorch'({ harness, expectBackend, mode, assert }) {
    const page = await harness();
    const first = await check(page, CASES[0], assert, expectBackend);
    assert.deepEqual(first.info, { layers: 6, heads: 12, hidden: 384, vocab: 30522, maxTokens: 512 });
    for (const i of CASES.slice(1)) await check(page, i, assert, expectBackend);
    if (mode === 'cpu') for (const i of LONG_CASES) await check(page, i, assert, expectBackend);
  },

  async 'init() picks the threads build in this isolated page; on 2 threads, and the relaxed-SIMD and SIMD128 builds, it matches PyTorch too'({ harness, mode, assert }) {
    const threaded = await harness();
    assert.deepEqual(await threaded.evaluate(() => [crossOriginIsolated, window.ap.wasmSimd(), window.ap.threads()]), [true, 'relaxed', 1]);
    if (mode !== 'cpu') return; // the builds differ only in the CPU path's code
    assert.equal(await threaded.evaluate(() => window.ap.initThreads(2)), 2);
    for (const i of [...CASES, ...LONG_CASES]) await check(threaded, i, assert, 'cpu');
    const relaxed = await harness('?wasm=relaxed');
    assert.equal(await relaxed.evaluate(() => window.ap.wasmSimd()), 'relaxed');
    for (const i of CASES) await check(relaxed, i, assert, 'cpu');
    const page = await harness('?wasm=simd128');
    assert.equal(await page.evaluate(() => window.ap.wasmSimd()), 'simd128');
    for (const i of [...CASES, ...LONG_CASES]) await check(page, i, assert, 'cpu');
  },

  async 'a 512-token forward on the CPU gives the page turns between layers; overlapping calls queue'({ harness, mode, assert }) {
    if (mode !== 'cpu') return; // the GPU backend computes off the page's thread anyway
    const page = await harness();
    const r = await page.evaluate(async () => {
      const manifest = await (await fetch('models/manifest.json')).json();
      const pg = await window.ap.Playground.create({ backend: 'cpu' });
      await pg.loadTextModel(`models/${manifest.text}`);
      const long = 'the cat sat on the mat '.repeat(100);
      await pg.runText(long); // warm-up
      // A message loop stands in for the page's input handling: the longest time between two of
      // its turns is the longest the page could not respond.
      const gaps = [];
      let last = performance.now(), stop = false;
      const ch = new MessageChannel();
      ch.port1.onmessage = () => {
        const t = performance.now();
        gaps.push(t - last);
        last = t;
        if (!stop) ch.port2.postMessage(0);
      };
      ch.port2.postMessage(0);
      const t0 = performance.now();
      const [a, b] = await Promise.all([pg.runText(long), pg.runText('a short one')]);
      const total = performance.now() - t0;
      stop = true;
      return { total, maxGap: Math.max(...gaps), a: a.tokens.length, b: b.tokens.length, turns: gaps.length };
    });
    console.log(`    two overlapping runText calls (512 + 5 tokens): ${r.total.toFixed(0)} ms; page turns ${r.turns}, longest wait ${r.maxGap.toFixed(0)} ms`);
    assert.deepEqual([r.a, r.b], [512, 5]);
    // Turns come once ≥ 40 ms of compute has passed, at the next layer end: a machine fast enough
    // to run the forwards in < 200 ms has nothing to split.
    if (r.total >= 200) {
      assert.ok(r.turns >= 3, `the page had ${r.turns} turns during the forwards`);
      assert.ok(r.maxGap < r.total / 2, `the page waited ${r.maxGap} ms of ${r.total} ms: the forward was not split`);
    }
  },

  async 'runText and loadTextModel reject bad use with clear errors'({ harness, assert }) {
    const page = await harness();
    const errors = await page.evaluate(async () => {
      const pg = await window.ap.Playground.create({ backend: 'cpu' });
      const msg = async (p) => { try { await p; return 'resolved'; } catch (e) { return String(e.message ?? e); } };
      return {
        before: await msg(pg.runText('hello')),
        badUrl: await msg(pg.loadTextModel('models/nope.safetensors')),
        notWeights: await msg(pg.loadTextModel('models/manifest.json')),
        stillNone: await msg(pg.runText('hello')),
      };
    });
    // The 404 is expected: Chromium logs it, which would otherwise fail the test.
    page.problems = page.problems.filter((p) => !p.includes('nope.safetensors'));
    assert.match(errors.before, /no text model loaded: call loadTextModel\(url\) first/);
    assert.match(errors.badUrl, /HTTP 404/);
    assert.match(errors.notWeights, /bad weights/);
    assert.match(errors.stillNone, /no text model loaded/);
  },

  async 'a GPU device loss mid-use moves runText to the CPU, still correct'({ harness, expectBackend, assert }) {
    const page = await harness();
    await check(page, 0, assert, expectBackend);
    await page.evaluate(() => window.tpg.simulateDeviceLoss());
    const r = await check(page, 16, assert, 'cpu');
    assert.equal(r.pgBackend, 'cpu');
    await check(page, 10, assert, 'cpu');
  },
};
