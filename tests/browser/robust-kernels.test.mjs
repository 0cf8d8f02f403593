// Issue #13, the kernels' half, in a real page on every backend the browser offers: sizes that
// cannot fit reject before allocating (and the instance keeps working); finite input gives
// finite, normalized weights at extreme magnitudes and temperatures, fused and unfused agreeing;
// sparsemax / entmax15 rows sum to 1 at any scale; dropout seeds beyond 2³¹.
import { randomFloats, maxAbsDiff } from './reference.mjs';

const SMALL = { heads: 2, seqQ: 5, seqK: 7, headDim: 4 };

/** Runs option objects on `backend` in the page; each result is its arrays or `{ error }`. */
async function runAll(page, backend, list) {
  return page.evaluate(async ({ backend, list }) => {
    const pg = await window.ap.Playground.create({ backend });
    const out = [];
    for (const o of list) {
      const opts = { ...o, q: new Float32Array(o.q), k: new Float32Array(o.k), v: new Float32Array(o.v) };
      try {
        const r = await pg.attention(opts);
        out.push({ backend: r.backend, weights: r.weights && Array.from(r.weights), output: Array.from(r.output) });
      } catch (e) {
        out.push({ error: String(e?.message ?? e) });
      }
    }
    return out;
  }, { backend, list });
}

function filled(dims, qk, extra = {}, seed = 1) {
  const { heads, seqQ, seqK, headDim } = dims;
  return {
    ...dims,
    q: randomFloats(heads * seqQ * headDim, seed).map((x) => (qk === null ? x : qk)),
    k: randomFloats(heads * seqK * headDim, seed + 1).map((x) => (qk === null ? x : qk)),
    v: randomFloats(heads * seqK * headDim, seed + 2),
    ...extra,
  };
}

/** Finite output; finite weights whose rows sum to 1 within 1e-5. */
function assertFiniteNormalized(assert, what, r, seqK) {
  assert.ok(!r.error, `${what}: threw ${r.error}`);
  assert.ok(r.output.every(Number.isFinite), `${what}: non-finite output ${r.output.slice(0, 4)}`);
  if (!r.weights) return;
  assert.ok(r.weights.every(Number.isFinite), `${what}: non-finite weights ${r.weights.slice(0, 4)}`);
  for (let i = 0; i < r.weights.length; i += seqK) {
    const sum = r.weights.slice(i, i + seqK).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) <= 1e-5, `${what}: row ${i / seqK} sums to ${sum}`);
  }
}

const backendsOf = (expectBackend) => (expectBackend === 'webgpu' ? ['webgpu', 'cpu'] : ['cpu']);

export default {
  async 'item 1: the issue’s huge sizes reject as too large, naming the memory; the instance stays usable'({ harness, expectBackend, assert }) {
    const page = await harness();
    for (const backend of backendsOf(expectBackend)) {
      const got = await page.evaluate(async (backend) => {
        const pg = await window.ap.Playground.create({ backend });
        const out = {};
        for (const [heads, seq] of [[2, 16384], [1, 23170]]) {
          const n = heads * seq;
          const opts = { heads, seqQ: seq, seqK: seq, headDim: 1, q: new Float32Array(n).fill(0.5), k: new Float32Array(n).fill(0.5), v: new Float32Array(n).fill(0.5) };
          out[`${heads}x${seq}`] = await pg.attention(opts).then(() => 'no error', (e) => `${e instanceof Error ? 'Error' : typeof e}: ${e.message}`);
        }
        const small = { heads: 1, seqQ: 2, seqK: 3, headDim: 2, q: new Float32Array(4).fill(1), k: new Float32Array(6).fill(1), v: new Float32Array(6).fill(2) };
        out.after = await pg.attention(small).then((r) => Array.from(r.output), (e) => e.message);
        return out;
      }, backend);
      for (const key of ['2x16384', '1x23170']) {
        const m = got[key];
        assert.ok(/^Error: .*too large/.test(m) && /2\.0 GiB of weights/.test(m), `${key} on ${backend}: ${m}`);
        assert.ok(/wasm32 memory/.test(m) && /returnWeights: false would fit/.test(m), `${key} on ${backend}: ${m}`);
      }
      assert.deepEqual(got.after, [2, 2, 2, 2], `a small call after the refusals on ${backend}: ${got.after}`);
    }
  },

  async 'item 2: finite in, finite out: q = k = 1e20, temperature 1e-45, cosine / neg_sq_dist at 1e30, v at 3e38'({ harness, expectBackend, assert }) {
    // One list, one instance per backend: SwiftShader compiles the kernels once.
    const page = await harness();
    const list = [];
    // Pairs (unfused, fused) at even / odd indices.
    for (const score of ['dot', 'scaled_dot', 'cosine', 'neg_sq_dist']) {
      for (const returnWeights of [true, false]) list.push(filled(SMALL, 1e20, { score, returnWeights }, 3 * (list.length >> 1)));
    }
    const equal = list.length; // the cases above have equal scores: uniform weights
    for (const returnWeights of [true, false]) list.push(filled(SMALL, null, { temperature: 1e-45, returnWeights }, 11));
    for (const score of ['cosine', 'neg_sq_dist']) {
      for (const returnWeights of [true, false]) {
        const o = filled(SMALL, null, { score, returnWeights }, 13);
        list.push({ ...o, q: o.q.map((x) => x * 1e30), k: o.k.map((x) => x * 1e30) });
      }
    }
    for (const returnWeights of [true, false]) {
      const o = filled(SMALL, null, { temperature: 3e38, score: 'dot', returnWeights }, 14);
      list.push({ ...o, v: o.v.map((x) => x * 3e38) });
    }
    for (const backend of backendsOf(expectBackend)) {
      const res = await runAll(page, backend, list);
      res.forEach((r, i) => {
        const what = `case ${i} (${JSON.stringify({ ...list[i], q: 0, k: 0, v: 0 })}) on ${backend}`;
        assertFiniteNormalized(assert, what, r, SMALL.seqK);
        if (i < equal && r.weights) assert.ok(r.weights.every((w) => Math.abs(w - 1 / SMALL.seqK) < 1e-6), `${what}: equal scores weigh equally`);
        if (i % 2 === 1) {
          const scale = Math.max(1, ...list[i].v.map(Math.abs));
          const { diff } = maxAbsDiff(r.output, res[i - 1].output);
          assert.ok(diff / scale <= 1e-5, `${what}: fused and unfused outputs differ by ${diff}`);
        }
      });
    }
  },

  async 'item 4: sparsemax and entmax15 rows sum to 1 at q = 1e30'({ harness, expectBackend, assert }) {
    const page = await harness();
    const list = [];
    for (const normalizer of ['sparsemax', 'entmax15']) {
      for (const mask of ['none', { topK: 3 }]) {
        const o = filled(SMALL, null, { normalizer, mask }, 20 + list.length);
        list.push({ ...o, q: o.q.map((x) => (x > 0 ? 1e30 : 1e29)) });
      }
    }
    for (const backend of backendsOf(expectBackend)) {
      const res = await runAll(page, backend, list);
      res.forEach((r, i) => assertFiniteNormalized(assert, `${list[i].normalizer} ${JSON.stringify(list[i].mask)} on ${backend}`, r, SMALL.seqK));
    }
  },

  async 'item 8: dropout seeds beyond 2³¹ give one mask on both backends'({ harness, expectBackend, assert }) {
    const page = await harness();
    const seeds = [2 ** 31 - 1, 2 ** 32 + 7, 2 ** 53 - 1];
    const list = seeds.map((seed) => filled({ heads: 2, seqQ: 6, seqK: 9, headDim: 4 }, null, { dropout: { p: 0.5, seed } }, 30));
    const runs = [];
    for (const backend of backendsOf(expectBackend)) runs.push(await runAll(page, backend, list));
    const [first] = runs;
    const zeros = (r) => r.weights.map((w) => w === 0);
    list.forEach((_, i) => {
      for (const res of runs) assert.ok(!res[i].error, `seed ${seeds[i]}: ${res[i].error}`);
      if (runs.length === 2) assert.deepEqual(zeros(runs[0][i]), zeros(runs[1][i]), `seed ${seeds[i]}: the two backends drop different weights`);
    });
    assert.notDeepEqual(zeros(first[1]), zeros(first[2]), 'different seeds, different masks');
  },
};
