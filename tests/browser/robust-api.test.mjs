// Issue 13, the API half: nothing the API accepts can break it. Every argument is checked by one
// set of rules (item 5) including finite f32 values in every array (item 3); calls on an instance
// run in call order, loads included (item 6); weight-file errors name the tensor (item 7);
// dropout.seed takes any whole number up to 2^53 − 1 (item 8); and an internal error (a panic)
// rejects every pending promise and makes later calls reject at once, never hang (item 1).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** In the page: `msg(p)` = 'resolved' or the rejection's message; `sync(f)` likewise for a throw. */
const HELPERS = `
  window.msg = async (p) => { try { await p; return 'resolved'; } catch (e) { return (e instanceof Error ? '' : 'not an Error: ') + String(e?.message ?? e); } };
  window.sync = (f) => { try { f(); return 'returned'; } catch (e) { return String(e?.message ?? e); } };
  window.okOpts = () => ({ heads: 1, seqQ: 2, seqK: 3, headDim: 2, q: new Float32Array(4).fill(0.5), k: new Float32Array(6).fill(0.25), v: new Float32Array(6).fill(1) });
`;

async function page(harness) {
  const p = await harness();
  await p.evaluate(HELPERS);
  return p;
}

function expectAll(assert, got, expect) {
  for (const [name, re] of Object.entries(expect)) {
    assert.match(got[name] ?? 'missing', re, `${name}: ${got[name]}`);
  }
}

export default {
  async 'item 3: every numeric array must hold finite f32 values (relativeBias, additive, multiHead, rollout)'({ harness, expectBackend, assert }) {
    const p = await page(harness);
    const got = await p.evaluate(async (backend) => {
      const pg = await window.ap.Playground.create({ backend });
      const ok = okOpts();
      const bias = (x) => ({ ...ok, positions: { relativeBias: [0, x, 0, 0] } });
      const additive = (v) => ({ ...ok, score: 'additive', additive: { hidden: 2, wq: new Float32Array(4), wk: new Float32Array(4), v } });
      const mh = { x: [1, 2, 3, 4], wq: [1, 0, 0, 1], wk: [1, 0, 0, 1], wv: [1, 0, 0, 1], wo: [1, 0, 0, 1], heads: 1, seqQ: 2, dModel: 2, headDim: 2 };
      const maps = [1, 0, 0, 1];
      return {
        biasNaN: await msg(pg.attention(bias(NaN))),
        biasInf: await msg(pg.attention(bias(Infinity))),
        biasNegInf: await msg(pg.attention(bias(-Infinity))),
        bias1e39: await msg(pg.attention(bias(1e39))),
        biasF32NaN: await msg(pg.attention({ ...ok, positions: { relativeBias: new Float32Array([0, 0, NaN, 0]) } })),
        additiveV: await msg(pg.attention(additive([1, NaN]))),
        additiveV1e39: await msg(pg.attention(additive([1, 1e39]))),
        additiveWq: await msg(pg.attention({ ...additive([1, 1]), additive: { hidden: 2, wq: [0, 0, Infinity, 0], wk: new Float32Array(4), v: [1, 1] } })),
        temperature1e39: await msg(pg.attention({ ...ok, temperature: 1e39 })),
        dropoutNaN: await msg(pg.attention({ ...ok, dropout: { p: NaN, seed: 1 } })),
        mhX: await msg(pg.multiHead({ ...mh, x: [1, 2, 1e39, 4] })),
        mhBias: await msg(pg.multiHead({ ...mh, positions: { relativeBias: [0, -Infinity, 0] } })),
        mhBo: await msg(pg.multiHead({ ...mh, bo: [NaN, 0] })),
        rolloutNaN: await msg(pg.rollout([1, NaN, 0, 1], 1, 1, 2)),
        rollout1e39: await msg(pg.rollout([1, 1e39, 0, 1], 1, 1, 2)),
        rolloutInf: await msg(pg.rollout(new Float32Array([1, 0, Infinity, 1]), 1, 1, 2)),
        stillWorks: await msg(pg.attention(ok)),
        mhWorks: await msg(pg.multiHead(mh)),
        rolloutWorks: await msg(pg.rollout(maps, 1, 1, 2)),
      };
    }, expectBackend);
    const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const finite = (name, i, v) => new RegExp(`^invalid input: ${esc(name)}\\[${i}\\] must be a finite number.*got ${esc(v)}$`);
    expectAll(assert, got, {
      biasNaN: finite('positions.relativeBias', 1, 'NaN'),
      biasInf: finite('positions.relativeBias', 1, 'Infinity'),
      biasNegInf: finite('positions.relativeBias', 1, '-Infinity'),
      bias1e39: /^invalid input: positions\.relativeBias\[1\] must be a finite number within f32's range \(±3\.4e38\), got 1e\+39$/,
      biasF32NaN: finite('positions.relativeBias', 2, 'NaN'),
      additiveV: finite('additive.v', 1, 'NaN'),
      additiveV1e39: finite('additive.v', 1, '1e+39'),
      additiveWq: finite('additive.wq', 2, 'Infinity'),
      temperature1e39: /^invalid input: temperature must be a finite number within f32's range \(±3\.4e38\), got 1e\+39$/,
      dropoutNaN: /^invalid input: dropout\.p must be a finite number within f32's range .*got NaN$/,
      mhX: finite('multiHead: x', 2, '1e+39'),
      mhBias: finite('positions.relativeBias', 1, '-Infinity'),
      mhBo: finite('multiHead: bo', 0, 'NaN'),
      rolloutNaN: finite('rollout: maps', 1, 'NaN'),
      rollout1e39: finite('rollout: maps', 1, '1e+39'),
      rolloutInf: finite('rollout: maps', 2, 'Infinity'),
      stillWorks: /^resolved$/,
      mhWorks: /^resolved$/,
      rolloutWorks: /^resolved$/,
    });
  },

  async 'item 5: wrong argument types reject with invalid input, one rule everywhere, never a trap'({ harness, assert }) {
    const p = await page(harness);
    const got = await p.evaluate(async () => {
      const { Playground } = window.ap;
      const pg = await Playground.create({ backend: 'cpu' });
      const ok = okOpts();
      const rgba = new Uint8Array(4 * 10 * 10);
      return {
        runText42: await msg(pg.runText(42)),
        runTextUndefined: await msg(pg.runText(undefined)),
        runTextPair: await msg(pg.runText('a', 42)),
        loadText42: await msg(pg.loadTextModel(42)),
        loadTextEmpty: await msg(pg.loadTextModel('')),
        loadTextProgress: await msg(pg.loadTextModel('models/x.safetensors', 'not a function')),
        loadVisionNull: await msg(pg.loadVisionModel(null)),
        runImageWidthString: await msg(pg.runImage(rgba, '10', 10)),
        runImageHeightFrac: await msg(pg.runImage(rgba, 10, 2.5)),
        runImageHuge: await msg(pg.runImage(rgba, 2 ** 40, 1)),
        runImageRgba: await msg(pg.runImage('pixels', 10, 10)),
        attentionHeadsString: await msg(pg.attention({ ...ok, heads: '1' })),
        attentionBool: await msg(pg.attention({ ...ok, stats: 'yes' })),
        attentionArray: await msg(pg.attention([ok])),
        attentionNumbers: await msg(pg.attention({ ...ok, q: [1, '2', 3, 4] })),
        attentionF64: await msg(pg.attention({ ...ok, q: new Float64Array(4) })),
        scoreNumber: await msg(pg.attention({ ...ok, score: 3 })),
        maskWindowString: await msg(pg.attention({ ...ok, mask: { window: '2' } })),
        rolloutLayersString: await msg(pg.rollout([1, 0, 0, 1], '1', 1, 2)),
        rolloutOpts: await msg(pg.rollout([1, 0, 0, 1], 1, 1, 2, 42)),
        rolloutFusion: await msg(pg.rollout([1, 0, 0, 1], 1, 1, 2, { headFusion: 1 })),
        multiHeadDModel: await msg(pg.multiHead({ x: [1, 2], wq: [1], wk: [1], wv: [1], wo: [1], heads: 1, seqQ: 1, dModel: 2.5, headDim: 1 })),
        sinusoidalString: sync(() => Playground.sinusoidal('3', 4)),
        sinusoidalHuge: sync(() => Playground.sinusoidal(2 ** 31, 4)),
        create42: await msg(Playground.create(42)),
        createBackend: await msg(Playground.create({ backend: 42 })),
        onbackendchange: sync(() => { pg.onbackendchange = 42; }),
        onbackendchangeNull: sync(() => { pg.onbackendchange = null; }),
        stillWorks: await msg(pg.attention(ok)),
      };
    });
    expectAll(assert, got, {
      runText42: /^invalid input: runText: text must be a string, got 42$/,
      runTextUndefined: /^invalid input: runText: text must be a string, got undefined$/,
      runTextPair: /^invalid input: runText: pair must be a string, got 42$/,
      loadText42: /^invalid input: loadTextModel: url must be a URL \(a non-empty string\), got 42$/,
      loadTextEmpty: /^invalid input: loadTextModel: url must be a URL .*got ''$/,
      loadTextProgress: /^invalid input: loadTextModel: onProgress must be a function, got 'not a function'$/,
      loadVisionNull: /^invalid input: loadVisionModel: url must be a URL .*got null$/,
      runImageWidthString: /^invalid input: runImage: width must be a whole number ≥ 0, got '10'$/,
      runImageHeightFrac: /^invalid input: runImage: height must be a whole number ≥ 0, got 2.5$/,
      runImageHuge: /^invalid input: runImage: width must be at most 2147483647, got 1099511627776$/,
      runImageRgba: /^invalid input: runImage: rgba must be a Uint8Array or Uint8ClampedArray .*got 'pixels'$/,
      attentionHeadsString: /^invalid input: heads must be a whole number ≥ 1, got '1'$/,
      attentionBool: /^invalid input: stats must be true or false, got 'yes'$/,
      attentionArray: /^invalid input: attention options must be an object, got an array$/,
      attentionNumbers: /^invalid input: q\[1\] must be a number, got '2'$/,
      attentionF64: /^invalid input: q must be a Float32Array \(or an array of numbers\), got an object$/,
      scoreNumber: /^invalid input: score must be 'dot', 'scaled_dot', 'cosine', 'neg_sq_dist' or 'additive', got 3$/,
      maskWindowString: /^invalid input: mask.window must be a whole number ≥ 0, got '2'$/,
      rolloutLayersString: /^invalid input: rollout: layers must be a whole number ≥ 1, got '1'$/,
      rolloutOpts: /^invalid input: rollout options must be an object, got 42$/,
      rolloutFusion: /^invalid input: headFusion must be 'mean', 'max' or 'min', got 1$/,
      multiHeadDModel: /^invalid input: dModel must be a whole number ≥ 1, got 2.5$/,
      sinusoidalString: /^invalid input: seq must be a whole number ≥ 1, got '3'$/,
      sinusoidalHuge: /^invalid input: seq must be at most 2147483647, got 2147483648$/,
      create42: /^invalid input: Playground.create options must be an object, got 42$/,
      createBackend: /^invalid input: backend must be 'auto', 'webgpu' or 'cpu', got 42$/,
      onbackendchange: /^invalid input: onbackendchange must be a function, got 42$/,
      onbackendchangeNull: /^returned$/,
      stillWorks: /^resolved$/,
    });
  },

  async 'item 6: calls on one instance run in call order, loads included'({ harness, expectBackend, assert }) {
    const p = await page(harness);
    const got = await p.evaluate(async (backend) => {
      const manifest = await (await fetch('models/manifest.json')).json();
      const pg = await window.ap.Playground.create({ backend });
      const order = [];
      const track = (name, promise) => promise.then((r) => { order.push(name); return r; }, (e) => { order.push(name); return `rejected: ${e.message}`; });
      // Not awaited: runText must wait for the load instead of finding no model.
      const load = track('load', pg.loadTextModel(`models/${manifest.text}`));
      const attention = track('attention', pg.attention(okOpts()));
      const text = track('runText', pg.runText('hi'));
      const bad = track('badLoad', pg.loadTextModel('models/manifest.json'));
      const after = track('runText after a failed load', pg.runText('hi'));
      const [info, , r, badLoad, r2] = await Promise.all([load, attention, text, bad, after]);
      return { order, layers: info.layers, tokens: r.tokens ?? r, badLoad, tokens2: r2.tokens ?? r2 };
    }, expectBackend);
    assert.deepEqual(got.order, ['load', 'attention', 'runText', 'badLoad', 'runText after a failed load']);
    assert.equal(got.layers, 6);
    assert.deepEqual(got.tokens, ['[CLS]', 'hi', '[SEP]']);
    assert.match(got.badLoad, /^rejected: bad weights: /);
    // A failed load leaves the model loaded before it in place.
    assert.deepEqual(got.tokens2, ['[CLS]', 'hi', '[SEP]']);
  },

  async 'item 7: weight-file errors name the offending tensor or header field'({ harness, assert }) {
    const p = await page(harness);
    const got = await p.evaluate(async () => {
      const manifest = await (await fetch('models/manifest.json')).json();
      const file = new Uint8Array(await (await fetch(`models/${manifest.text}`)).arrayBuffer());
      const view = new DataView(file.buffer);
      const n = Number(view.getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
      const data = file.subarray(8 + n);
      /** The file with its header changed by `edit` (the data section as it was). */
      const variant = (edit, raw) => {
        const h = structuredClone(header);
        edit?.(h);
        const text = new TextEncoder().encode(raw ?? JSON.stringify(h));
        const out = new Uint8Array(8 + text.length + data.length);
        new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
        out.set(text, 8);
        out.set(data, 8 + text.length);
        return URL.createObjectURL(new Blob([out]));
      };
      const pg = await window.ap.Playground.create({ backend: 'cpu' });
      // Each variant is a copy of the 90 MB file: let it go before the next.
      const load = async (url) => { const m = await msg(pg.loadTextModel(url)); URL.revokeObjectURL(url); return m; };
      const lengthBeyond = new Uint8Array(file.subarray(0, 1000));
      new DataView(lengthBeyond.buffer).setBigUint64(0, 10n ** 12n, true);
      return {
        missing: await load(variant((h) => delete h['encoder.layer.0.attention.output.LayerNorm.weight'])),
        dtype: await load(variant((h) => { h['embeddings.LayerNorm.bias'].dtype = 'F64'; })),
        shape: await load(variant((h) => { h['embeddings.LayerNorm.bias'].shape = [383]; })),
        offsets: await load(variant((h) => { h['embeddings.LayerNorm.bias'].data_offsets = [8, 4]; })),
        size: await load(variant((h) => { const [a] = h['embeddings.LayerNorm.bias'].data_offsets; h['embeddings.LayerNorm.bias'].data_offsets = [a, a + 2]; })),
        notJson: await load(variant(null, JSON.stringify(header).slice(0, 100))),
        metadata: await load(variant((h) => { h.__metadata__.config = 7; })),
        lengthBeyond: await load(URL.createObjectURL(new Blob([lengthBeyond]))),
        tiny: await load(URL.createObjectURL(new Blob([new Uint8Array(3)]))),
        truncated: await load(URL.createObjectURL(new Blob([file.subarray(0, file.length - 1000)]))),
        intact: await load(variant()),
      };
    });
    expectAll(assert, got, {
      missing: /^bad weights: missing tensor "encoder\.layer\.0\.attention\.output\.LayerNorm\.weight"$/,
      dtype: /^bad weights: tensor "embeddings\.LayerNorm\.bias" has dtype F64, expected F32, F16 or BF16$/,
      shape: /^bad weights: tensor "embeddings\.LayerNorm\.bias" has shape \[383\], expected \[384\]$/,
      offsets: /^bad weights: not a valid safetensors file: tensor "embeddings\.LayerNorm\.bias" in the header: "data_offsets" must be \[begin, end\] with begin ≤ end$/,
      size: /^bad weights: tensor "embeddings\.LayerNorm\.bias" has 2 bytes of data, but shape \[384\] of F(32|16) needs \d+$/,
      notJson: /^bad weights: not a valid safetensors file: the header is not JSON/,
      metadata: /^bad weights: not a valid safetensors file: metadata "config" is not a string$/,
      lengthBeyond: /^bad weights: not a valid safetensors file: the header length says 1000000000000 bytes but 992 follow/,
      tiny: /^bad weights: not a valid safetensors file: the file is 3 bytes/,
      truncated: /^bad weights: tensor ".*" lies beyond the end of the file \(truncated\?\)$/,
      intact: /^resolved$/,
    });
  },

  async 'item 8: dropout.seed takes any whole number up to 2^53 − 1'({ harness, expectBackend, assert }) {
    const p = await page(harness);
    const got = await p.evaluate(async (backend) => {
      const pg = await window.ap.Playground.create({ backend });
      const ok = okOpts();
      const run = (seed) => msg(pg.attention({ ...ok, dropout: { p: 0.5, seed } }));
      return {
        zero: await run(0), big: await run(2 ** 32), max: await run(Number.MAX_SAFE_INTEGER),
        over: await run(2 ** 53), negative: await run(-1), frac: await run(1.5), string: await run('7'),
      };
    }, expectBackend);
    expectAll(assert, got, {
      zero: /^resolved$/,
      big: /^resolved$/,
      max: /^resolved$/,
      over: /^invalid input: dropout\.seed must be at most 9007199254740991, got 9007199254740992$/,
      negative: /^invalid input: dropout\.seed must be a whole number ≥ 0, got -1$/,
      frac: /^invalid input: dropout\.seed must be a whole number ≥ 0, got 1.5$/,
      string: /^invalid input: dropout\.seed must be a whole number ≥ 0, got '7'$/,
    });
  },

  async 'item 1: an internal error rejects every pending promise, then every call rejects at once'({ harness, assert }) {
    const p = await page(harness);
    const got = await p.evaluate(async () => {
      const { Playground } = window.ap;
      const pg = await Playground.create({ backend: 'cpu' });
      const other = await Playground.create({ backend: 'cpu' });
      // 'pending' if a promise has not settled 20 s after the panic (it would hang forever).
      const settled = (promise) => Promise.race([msg(promise), new Promise((r) => setTimeout(() => r('pending'), 20000))]);
      // A download in flight and calls queued behind it: all pending when the panic strikes.
      const load = settled(pg.loadTextModel('models/manifest.json'));
      const queued = settled(pg.attention(okOpts()));
      const text = settled(pg.runText('hi'));
      const onOther = settled(other.attention({ ...okOpts(), heads: 1 }));
      const boom = settled(pg.__panicForTest());
      const pending = { load: await load, queued: await queued, text: await text, boom: await boom };
      return {
        ...pending,
        onOther: await onOther,
        later: await settled(pg.attention(okOpts())),
        laterOther: await settled(other.runText('x')),
        create: await settled(Playground.create({ backend: 'cpu' })),
        sinusoidal: sync(() => Playground.sinusoidal(2, 2)),
        typed: (Object.getOwnPropertyNames(Playground.prototype).includes('__panicForTest')),
      };
    });
    // The panic's report and the trap that follows it are what this test provokes.
    p.problems = p.problems.filter((m) => !/__panicForTest|unreachable/.test(m));
    const broken = /^internal error: __panicForTest was called at src\/api\/mod\.rs:\d+; this module is unusable; reload the page \(or re-import the module\)$/;
    for (const name of ['load', 'queued', 'text', 'boom', 'later', 'laterOther', 'create', 'sinusoidal']) {
      assert.match(got[name], broken, `${name}: ${got[name]}`);
    }
    // The call on the other instance had finished before the panic, or is rejected by it.
    assert.match(got.onOther, /^resolved$|internal error/);
    assert.ok(got.typed, 'the test hook exists on the prototype');
    const dts = readFileSync(fileURLToPath(new URL('../../pkg/attention_playground.d.ts', import.meta.url)), 'utf8');
    const cls = dts.slice(dts.indexOf('export class Playground'), dts.indexOf('export interface InitOutput'));
    assert.ok(cls.includes('attention(') && !cls.includes('__panicForTest'), 'the test hook stays out of the typed class');
  },

  async 'item 1: running out of memory inside the module rejects the same way'({ harness, assert }) {
    const p = await page(harness);
    const got = await p.evaluate(async () => {
      const pg = await window.ap.Playground.create({ backend: 'cpu' });
      const settled = (promise) => Promise.race([msg(promise), new Promise((r) => setTimeout(() => r('pending'), 20000))]);
      const load = settled(pg.loadTextModel('models/manifest.json'));
      const queued = settled(pg.runText('hi'));
      const oom = settled(pg.__panicForTest('oom'));
      return { load: await load, queued: await queued, oom: await oom, later: await settled(pg.attention(okOpts())) };
    });
    p.problems = p.problems.filter((m) => !/out of memory|unreachable/.test(m));
    for (const name of ['load', 'queued', 'oom', 'later']) {
      assert.match(got[name], /^internal error: out of memory: \d+ bytes could not be allocated at .*; this module is unusable; reload the page/, `${name}: ${got[name]}`);
    }
  },
};
