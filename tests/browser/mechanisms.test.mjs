// Issue 5 in a real page, on every backend the browser offers, against the JS references of
// tests/browser/reference.mjs within 1e-4: dropout (the same hash as Rust, so identical weights),
// the fused path (returnWeights: false) with every fusable option, stats with entmax and positions,
// Playground.sinusoidal, pg.rollout, pg.multiHead, their errors, and the fused kernel at 2048 × 8 heads.
import {
  attentionReference, attentionWithDropout, maxAbsDiff, multiHeadReference, randomFloats, rolloutReference,
  sinusoidalReference,
} from './reference.mjs';

const TOL = 1e-4;

const backendsFor = (expectBackend) => (expectBackend === 'webgpu' ? ['webgpu', 'cpu'] : ['cpu']);

function check(assert, got, want, what) {
  assert.ok(got, `${what}: missing`);
  const { diff, at } = maxAbsDiff(got, want);
  assert.ok(diff <= TOL, `${what}: differs from the reference by ${diff} at ${at} (got ${got[at]}, want ${want[at]})`);
}

function attentionCase(dims, extra, seed) {
  const { heads, seqQ, seqK, headDim } = dims;
  return {
    ...dims,
    q: randomFloats(heads * seqQ * headDim, seed),
    k: randomFloats(heads * seqK * headDim, seed + 1),
    v: randomFloats(heads * seqK * headDim, seed + 2),
    ...extra,
  };
}

/**
 * Calls `pg[method](...)` in the page for each argument list, on `backend`; every plain number
 * array in the arguments (at any depth of plain objects) becomes a Float32Array there, and every
 * Float32Array in the results a plain array here. Errors come back as { error }.
 */
async function callInPage(page, backend, method, argLists) {
  return page.evaluate(async ({ backend, method, argLists }) => {
    const typed = (x) => {
      if (Array.isArray(x) && x.every((e) => typeof e === 'number')) return new Float32Array(x);
      if (x && typeof x === 'object' && !Array.isArray(x)) return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, typed(v)]));
      return x;
    };
    const plain = (r) => {
      if (r instanceof Float32Array) return Array.from(r);
      if (r && typeof r === 'object') return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)]));
      return r;
    };
    const pg = await window.ap.Playground.create({ backend });
    const out = [];
    for (const args of argLists) {
      try {
        out.push(plain(await pg[method](...args.map(typed))));
      } catch (e) {
        out.push({ error: `${e instanceof Error ? 'Error' : typeof e}: ${e?.message ?? e}` });
      }
    }
    // A GPU failure would move the instance to the CPU and still give right numbers: refuse that.
    if (pg.backend !== backend) throw new Error(`the instance fell back to ${pg.backend}: ${pg.fallbackReason}`);
    return out;
  }, { backend, method, argLists });
}

/** Rows of [layers, heads, seq, seq] that are distributions. */
function randomMaps(layers, heads, seq, seed) {
  const m = randomFloats(layers * heads * seq * seq, seed).map((x) => Math.abs(x) + 0.01);
  for (let r = 0; r < m.length; r += seq) {
    const s = m.slice(r, r + seq).reduce((a, b) => a + b, 0);
    for (let j = 0; j < seq; j++) m[r + j] = Math.fround(m[r + j] / s);
  }
  return m;
}

function multiHeadCase({ seqQ, seqK, dModel, heads, headDim, biases, cross }, extra, seed) {
  const inner = heads * headDim;
  const w = (s, n) => randomFloats(n, seed + s).map((x) => Math.fround(x * 0.5));
  const o = {
    x: randomFloats(seqQ * dModel, seed), wq: w(1, dModel * inner), wk: w(2, dModel * inner), wv: w(3, dModel * inner),
    wo: w(4, inner * dModel), heads, seqQ, dModel, headDim, ...extra,
  };
  if (cross) Object.assign(o, { context: randomFloats(seqK * dModel, seed + 5), seqK });
  if (biases) Object.assign(o, { bq: w(6, inner), bk: w(7, inner), bv: w(8, inner), bo: w(9, dModel) });
  return o;
}

export default {
  async 'Playground.sinusoidal is static and matches the formula; bad sizes throw'({ harness, assert }) {
    const page = await harness();
    const got = await page.evaluate(() => {
      const { Playground } = window.ap;
      const t = Playground.sinusoidal(50, 16);
      const errors = {};
      for (const [name, args] of Object.entries({ zero: [0, 4], frac: [3, 1.5], neg: [-1, 2] })) {
        try {
          Playground.sinusoidal(...args);
          errors[name] = 'no error';
        } catch (e) {
          errors[name] = `${e instanceof Error ? 'Error' : typeof e}: ${e.message}`;
        }
      }
      return { isF32: t instanceof Float32Array, table: Array.from(t), errors };
    });
    assert.ok(got.isF32, 'returns a Float32Array');
    check(assert, got.table, sinusoidalReference(50, 16), 'sinusoidal(50, 16)');
    assert.match(got.errors.zero, /^Error: .*seq must be a whole number ≥ 1, got 0/);
    assert.match(got.errors.frac, /^Error: .*dim must be a whole number ≥ 1, got 1.5/);
    assert.match(got.errors.neg, /^Error: .*seq must be a whole number ≥ 1, got -1/);
  },

  async 'dropout equals the JS hash reference and is identical across backends'({ harness, expectBackend, assert }) {
    const page = await harness();
    const cases = [
      attentionCase({ heads: 2, seqQ: 9, seqK: 13, headDim: 4 }, { dropout: { p: 0.3, seed: 11 } }, 601),
      attentionCase({ heads: 3, seqQ: 5, seqK: 6, headDim: 6 }, { dropout: { p: 0.6, seed: 2000000000 }, stats: true, normalizer: 'entmax15' }, 604),
    ];
    const runs = {};
    for (const b of backendsFor(expectBackend)) {
      runs[b] = await callInPage(page, b, 'attention', cases.map((c) => [c]));
      cases.forEach((c, n) => {
        const r = runs[b][n], ref = attentionWithDropout(c);
        assert.ok(!r.error, r.error);
        check(assert, r.weights, ref.weights, `dropout case ${n} weights on ${b}`);
        check(assert, r.output, ref.output, `dropout case ${n} output on ${b}`);
        if (c.stats) check(assert, r.entropy, ref.entropy, `dropout case ${n} entropy on ${b}`);
        // The same weights are dropped, exactly.
        r.weights.forEach((w, i) => assert.equal(w === 0, ref.weights[i] === 0, `case ${n} weight ${i}: dropped on one side only`));
      });
    }
    if (runs.webgpu) cases.forEach((_, n) => check(assert, runs.webgpu[n].weights, runs.cpu[n].weights, `dropout case ${n}: webgpu vs cpu`));
  },

  async 'returnWeights: false (fused kernel) matches the reference for every fusable option'({ harness, expectBackend, assert }) {
    const page = await harness();
    // 70 queries cross a 64-query block; 45 keys end part-way through a key tile.
    const dims = { heads: 3, seqQ: 70, seqK: 45, headDim: 8 };
    const extras = [
      {}, { mask: 'causal' }, { mask: { window: 3 } }, { score: 'dot', temperature: 4 }, { score: 'cosine', temperature: 0.2 },
      { score: 'neg_sq_dist', temperature: 3 }, { positions: 'rope', mask: 'causal' }, { positions: 'alibi', mask: { window: 5 } },
      { positions: { relativeBias: randomFloats(dims.seqQ + dims.seqK - 1, 77) }, score: 'cosine' },
    ];
    const cases = extras.map((e, n) => attentionCase(dims, { ...e, returnWeights: false }, 700 + 3 * n));
    for (const b of backendsFor(expectBackend)) {
      const rs = await callInPage(page, b, 'attention', cases.map((c) => [c]));
      cases.forEach((c, n) => {
        assert.ok(!rs[n].error, `${JSON.stringify(extras[n])} on ${b}: ${rs[n].error}`);
        assert.equal(rs[n].weights, undefined, 'no weights on the fused path');
        check(assert, rs[n].output, attentionReference(c).output, `fused ${JSON.stringify(extras[n]).slice(0, 60)} on ${b}`);
      });
    }
  },

  async 'stats (entropy, coverage) with entmax15, sparsemax, RoPE, ALiBi, additive'({ harness, expectBackend, assert }) {
    const page = await harness();
    const dims = { heads: 6, seqQ: 11, seqK: 9, headDim: 6 };
    const hidden = 5;
    const extras = [
      { normalizer: 'entmax15', positions: 'rope' }, { normalizer: 'sparsemax', positions: 'alibi' },
      { normalizer: 'entmax15', mask: 'causal', positions: 'alibi' }, { positions: 'rope', mask: { topK: 4 } },
      { score: 'additive', additive: { hidden, wq: randomFloats(hidden * 6, 81), wk: randomFloats(hidden * 6, 82), v: randomFloats(hidden, 83) }, normalizer: 'entmax15' },
    ];
    const cases = extras.map((e, n) => attentionCase(dims, { ...e, stats: true }, 800 + 3 * n));
    for (const b of backendsFor(expectBackend)) {
      const rs = await callInPage(page, b, 'attention', cases.map((c) => [c]));
      cases.forEach((c, n) => {
        assert.ok(!rs[n].error, rs[n].error);
        const ref = attentionReference(c);
        for (const f of ['weights', 'output', 'entropy', 'coverage']) check(assert, rs[n][f], ref[f], `stats case ${n} ${f} on ${b}`);
      });
    }
  },

  async 'pg.rollout matches the reference for every head fusion, with and without the residual'({ harness, expectBackend, assert }) {
    const page = await harness();
    const [layers, heads, seq] = [3, 4, 7];
    const maps = randomMaps(layers, heads, seq, 901);
    const options = [undefined, { residual: true, headFusion: 'mean' }, { headFusion: 'max' }, { headFusion: 'min', residual: false }, { residual: false }];
    for (const b of backendsFor(expectBackend)) {
      const rs = await callInPage(page, b, 'rollout', options.map((o) => (o ? [maps, layers, heads, seq, o] : [maps, layers, heads, seq])));
      options.forEach((o, n) => {
        assert.ok(!rs[n].error, rs[n].error);
        const got = Object.values(rs[n]);
        check(assert, got, rolloutReference(maps, layers, heads, seq, o), `rollout ${JSON.stringify(o)} on ${b}`);
        for (let i = 0; i < seq; i++) {
          const s = got.slice(i * seq, (i + 1) * seq).reduce((a, x) => a + x, 0);
          assert.ok(Math.abs(s - 1) < 1e-5, `rollout row ${i} sums to ${s}`);
        }
      });
    }
  },

  async 'pg.multiHead (self and cross) matches the reference'({ harness, expectBackend, assert }) {
    const page = await harness();
    const cases = [
      multiHeadCase({ seqQ: 6, dModel: 8, heads: 2, headDim: 4, biases: true }, {}, 1001),
      multiHeadCase({ seqQ: 5, seqK: 9, dModel: 6, heads: 3, headDim: 5, cross: true }, { mask: 'causal', temperature: 2 }, 1011),
      multiHeadCase({ seqQ: 7, dModel: 12, heads: 4, headDim: 6, biases: true }, { positions: 'rope', normalizer: 'entmax15', stats: true }, 1021),
      multiHeadCase({ seqQ: 9, seqK: 4, dModel: 4, heads: 1, headDim: 8, cross: true, biases: true }, { returnWeights: false }, 1031),
    ];
    for (const b of backendsFor(expectBackend)) {
      const rs = await callInPage(page, b, 'multiHead', cases.map((c) => [c]));
      cases.forEach((c, n) => {
        const r = rs[n];
        assert.ok(!r.error, `case ${n} on ${b}: ${r.error}`);
        assert.equal(r.backend, b);
        const ref = multiHeadReference(c);
        check(assert, r.output, ref.output, `multiHead case ${n} output on ${b}`);
        if (c.returnWeights === false) assert.equal(r.weights, undefined);
        else check(assert, r.weights, ref.weights, `multiHead case ${n} weights on ${b}`);
        if (c.stats) for (const f of ['entropy', 'coverage']) check(assert, r[f], ref[f], `multiHead case ${n} ${f} on ${b}`);
      });
    }
  },

  async 'rollout and multiHead refuse bad input with clear JsErrors'({ harness, expectBackend, assert }) {
    const page = await harness();
    const ok = multiHeadCase({ seqQ: 3, dModel: 4, heads: 2, headDim: 2 }, {}, 1101);
    const maps = randomMaps(2, 1, 3, 1102);
    const mh = await callInPage(page, expectBackend, 'multiHead', [
      [{ ...ok, x: ok.x.slice(1) }], [{ ...ok, wo: undefined }], [{ ...ok, context: ok.x }], [{ ...ok, dmodel: 4 }],
      [{ ...ok, wq: ok.wq.concat([0]) }], [{ ...ok, bo: [1, 2] }], [{ ...ok, score: 'dott' }], [{ ...ok, seqK: 2 }], [ok],
    ]);
    const ro = await callInPage(page, expectBackend, 'rollout', [
      [maps.slice(1), 2, 1, 3], [maps, 2, 1, 3, { headFusion: 'median' }], [maps, 2, 1, 3, { resid: true }], [maps, 0, 1, 3], [maps, 2, 1, 3],
    ]);
    const expect = [
      [mh[0].error, /multiHead: x must have seqQ × dModel = 3 × 4 = 12 values, got 11/],
      [mh[1].error, /multiHead: wo is required/],
      [mh[2].error, /multiHead: seqK is required with a context/],
      [mh[3].error, /multiHead options: unknown option 'dmodel'/],
      [mh[4].error, /multiHead: wq has 17 values, expected 16/],
      [mh[5].error, /multiHead: bo has 2 values, expected 4/],
      [mh[6].error, /score must be .* got 'dott'/],
      [mh[7].error, /seqK \(2\) differs from seqQ \(3\) but no context is given/],
      [ro[0].error, /rollout: maps has 17 values, expected layers × heads × seq × seq = 2 × 1 × 3 × 3 = 18/],
      [ro[1].error, /headFusion must be 'mean', 'max' or 'min', got 'median'/],
      [ro[2].error, /rollout options: unknown option 'resid'/],
      [ro[3].error, /rollout: layers must be a whole number ≥ 1, got 0/],
    ];
    for (const [got, re] of expect) assert.match(got ?? 'no error', new RegExp(`^Error: .*${re.source}`));
    assert.equal(mh[8].output.length, 12, 'the instance still works');
    assert.equal(Object.keys(ro[4]).length, 9, 'the instance still works');
  },

  async 'fused kernel at seq 2048 × 8 heads × headDim 64 within default limits'({ harness, expectBackend, assert }) {
    const page = await harness();
    const [heads, seq, d] = [8, 2048, 64];
    const rows = [0, 63, 64, 1000, 2047];
    const seeds = [1201, 1202, 1203];
    const got = await page.evaluate(async ({ backend, heads, seq, d, rows, seeds, src }) => {
      const randomFloats = (0, eval)(`(${src})`);
      const [q, k, v] = seeds.map((s) => new Float32Array(randomFloats(heads * seq * d, s)));
      const pg = await window.ap.Playground.create({ backend });
      const t0 = performance.now();
      const r = await pg.attention({ q, k, v, heads, seqQ: seq, seqK: seq, headDim: d, returnWeights: false });
      const ms = performance.now() - t0;
      const picked = [];
      for (let h = 0; h < heads; h++) for (const i of rows) picked.push(...r.output.slice((h * seq + i) * d, (h * seq + i + 1) * d));
      return { backend: r.backend, ms, weights: r.weights === undefined, picked, length: r.output.length };
    }, { backend: expectBackend, heads, seq, d, rows, seeds, src: randomFloats.toString() });
    console.log(`       ${expectBackend}: 8 heads × 2048² × 64 fused in ${(got.ms / 1000).toFixed(1)} s`);
    assert.equal(got.backend, expectBackend);
    assert.ok(got.weights, 'no weights returned');
    assert.equal(got.length, heads * seq * d);
    // Reference rows: plain softmax(q·k/√d)·v with all 2048 keys.
    const [q, k, v] = seeds.map((s) => randomFloats(heads * seq * d, s));
    const want = [];
    for (let h = 0; h < heads; h++) {
      for (const i of rows) {
        const qi = q.slice((h * seq + i) * d, (h * seq + i + 1) * d);
        const s = Array.from({ length: seq }, (_, j) => {
          let x = 0;
          for (let c = 0; c < d; c++) x += qi[c] * k[(h * seq + j) * d + c];
          return x / Math.sqrt(d);
        });
        const m = Math.max(...s);
        const e = s.map((x) => Math.exp(x - m));
        const z = e.reduce((a, b) => a + b, 0);
        const row = new Array(d).fill(0);
        e.forEach((w, j) => { for (let c = 0; c < d; c++) row[c] += (w / z) * v[(h * seq + j) * d + c]; });
        want.push(...row);
      }
    }
    check(assert, got.picked, want, 'sampled rows of the fused output');
  },
};
