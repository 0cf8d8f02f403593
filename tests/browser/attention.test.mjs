// Playground.attention in a real page, on every backend the browser offers, against the JS
// reference (tests/browser/reference.mjs) within 1e-4; option errors; backend choice; device loss.
import { attentionReference, randomFloats, maxAbsDiff } from './reference.mjs';

const TOL = 1e-4;

function makeCase(name, dims, extra = {}, seed = 1) {
  const { heads, seqQ, seqK, headDim } = dims;
  return {
    name,
    opts: {
      ...dims,
      q: randomFloats(heads * seqQ * headDim, seed),
      k: randomFloats(heads * seqK * headDim, seed + 1),
      v: randomFloats(heads * seqK * headDim, seed + 2),
      ...extra,
    },
  };
}

const SMALL = { heads: 2, seqQ: 5, seqK: 7, headDim: 4 };
// Sizes that divide no workgroup, seqQ ≠ seqK.
const ODD = { heads: 3, seqQ: 19, seqK: 37, headDim: 12 };

function cases() {
  const out = [];
  for (const score of ['dot', 'scaled_dot', 'cosine', 'neg_sq_dist']) {
    for (const normalizer of ['softmax', 'sparsemax']) {
      for (const mask of ['none', 'causal', { window: 2 }, { topK: 3 }]) {
        out.push(makeCase(`${score}/${normalizer}/${JSON.stringify(mask)}`, SMALL, { score, normalizer, mask }, out.length + 1));
      }
    }
  }
  out.push(makeCase('temperature 0.25', SMALL, { temperature: 0.25 }, 101));
  out.push(makeCase('temperature 7 + neg_sq_dist', SMALL, { temperature: 7, score: 'neg_sq_dist' }, 102));
  out.push(makeCase('defaults (scaled_dot, softmax, none)', SMALL, {}, 103));
  out.push(makeCase('odd sizes, causal', ODD, { mask: 'causal' }, 104));
  out.push(makeCase('odd sizes, sparsemax, topK 5', ODD, { normalizer: 'sparsemax', mask: { topK: 5 } }, 105));
  out.push(makeCase('seqQ > seqK, window 1 (empty rows)', { heads: 1, seqQ: 9, seqK: 3, headDim: 4 }, { mask: { window: 1 } }, 106));
  out.push(makeCase('topK ≥ seqK keeps all', SMALL, { mask: { topK: 50 } }, 107));
  // Issue 5's additions.
  out.push(makeCase('entmax15', SMALL, { normalizer: 'entmax15', score: 'dot' }, 108));
  out.push(makeCase('entmax15, causal, odd', ODD, { normalizer: 'entmax15', mask: 'causal' }, 109));
  const hidden = 6;
  out.push(makeCase('additive', SMALL, {
    score: 'additive',
    additive: { hidden, wq: randomFloats(hidden * 4, 201), wk: randomFloats(hidden * 4, 202), v: randomFloats(hidden, 203) },
  }, 110));
  out.push(makeCase('rope', SMALL, { positions: 'rope' }, 111));
  out.push(makeCase('alibi (3 heads)', { ...SMALL, heads: 3 }, { positions: 'alibi', score: 'dot' }, 112));
  out.push(makeCase('relativeBias', SMALL, { positions: { relativeBias: randomFloats(SMALL.seqQ + SMALL.seqK - 1, 204) } }, 113));
  out.push(makeCase('stats', SMALL, { stats: true, normalizer: 'sparsemax' }, 114));
  return out;
}

/** Runs option objects through pg.attention in the page (arrays → Float32Array there). */
async function runInPage(page, backend, list) {
  return page.evaluate(async ({ backend, list }) => {
    const f32 = (x) => (Array.isArray(x) ? new Float32Array(x) : x);
    const pg = await window.ap.Playground.create({ backend });
    const results = [];
    for (const o of list) {
      const opts = { ...o, q: f32(o.q), k: f32(o.k), v: f32(o.v) };
      if (o.additive) opts.additive = { ...o.additive, wq: f32(o.additive.wq), wk: f32(o.additive.wk), v: f32(o.additive.v) };
      if (o.positions?.relativeBias) opts.positions = { relativeBias: f32(o.positions.relativeBias) };
      try {
        const r = await pg.attention(opts);
        const plain = (a) => (a ? Array.from(a) : undefined);
        results.push({ backend: r.backend, weights: plain(r.weights), output: plain(r.output), entropy: plain(r.entropy), coverage: plain(r.coverage) });
      } catch (e) {
        results.push({ error: String(e?.message ?? e) });
      }
    }
    return { backend: pg.backend, results };
  }, { backend, list });
}

function compare(assert, c, r, backend) {
  assert.ok(!r.error, `${c.name} on ${backend}: threw ${r.error}`);
  assert.equal(r.backend, backend, `${c.name}: computed on ${r.backend}, expected ${backend}`);
  const ref = attentionReference(c.opts);
  const fields = ['weights', 'output', ...(c.opts.stats ? ['entropy', 'coverage'] : [])];
  for (const f of fields) {
    assert.ok(r[f], `${c.name} on ${backend}: result has no ${f}`);
    const { diff, at } = maxAbsDiff(r[f], ref[f]);
    assert.ok(diff <= TOL, `${c.name} on ${backend}: ${f} differs from the reference by ${diff} at ${at} (got ${r[f][at]}, want ${ref[f][at]})`);
  }
}

export default {
  async 'auto picks the expected backend; explicit choices behave'({ harness, expectBackend, assert }) {
    const page = await harness();
    const got = await page.evaluate(async () => {
      const { Playground } = window.ap;
      const auto = await Playground.create({ backend: 'auto' });
      const dflt = await Playground.create();
      const cpu = await Playground.create({ backend: 'cpu' });
      let webgpu;
      try {
        webgpu = (await Playground.create({ backend: 'webgpu' })).backend;
      } catch (e) {
        webgpu = { error: e.message, isError: e instanceof Error };
      }
      return { auto: auto.backend, reason: auto.fallbackReason ?? null, dflt: dflt.backend, cpu: cpu.backend, webgpu };
    });
    assert.equal(got.auto, expectBackend);
    assert.equal(got.dflt, expectBackend);
    assert.equal(got.cpu, 'cpu');
    if (expectBackend === 'webgpu') {
      assert.equal(got.webgpu, 'webgpu');
      assert.equal(got.reason, null);
    } else {
      assert.ok(got.webgpu.isError && /WebGPU unavailable/.test(got.webgpu.error), `'webgpu' without an adapter: ${JSON.stringify(got.webgpu)}`);
      assert.ok(got.reason && /WebGPU unavailable/.test(got.reason), `auto → cpu should say why: ${got.reason}`);
    }
  },

  async 'every variant matches the reference within 1e-4'({ harness, expectBackend, assert }) {
    const page = await harness();
    const list = cases();
    const backends = expectBackend === 'webgpu' ? ['webgpu', 'cpu'] : ['cpu'];
    for (const backend of backends) {
      const { results } = await runInPage(page, backend, list.map((c) => c.opts));
      list.forEach((c, i) => compare(assert, c, results[i], backend));
    }
  },

  async 'returnWeights: false omits the weights and keeps the output'({ harness, expectBackend, assert }) {
    const page = await harness();
    const c = makeCase('no weights, causal', ODD, { mask: 'causal', returnWeights: false }, 301);
    const { results: [r] } = await runInPage(page, expectBackend, [c.opts]);
    assert.ok(!r.error, r.error);
    assert.equal(r.weights, undefined);
    const { diff } = maxAbsDiff(r.output, attentionReference(c.opts).output);
    assert.ok(diff <= TOL, `output differs by ${diff}`);
  },

  async 'dropout is deterministic, rescaled, and the same on both backends'({ harness, expectBackend, assert }) {
    const page = await harness();
    const base = makeCase('dropout', { heads: 2, seqQ: 16, seqK: 16, headDim: 8 }, {}, 401);
    const drop = { ...base.opts, dropout: { p: 0.5, seed: 7 } };
    const backends = expectBackend === 'webgpu' ? ['webgpu', 'cpu'] : ['cpu'];
    const runs = [];
    for (const b of backends) runs.push((await runInPage(page, b, [drop, drop])).results);
    const ref = attentionReference(base.opts).weights;
    for (const [a, b] of runs) {
      assert.ok(!a.error, a.error);
      assert.deepEqual(a.weights, b.weights, 'same seed, same weights');
      let dropped = 0;
      a.weights.forEach((w, i) => {
        if (w === 0) dropped++;
        else assert.ok(Math.abs(w - ref[i] / 0.5) <= TOL, `kept weight ${i} should be ${ref[i]}/(1−p), got ${w}`);
      });
      assert.ok(dropped > 0.3 * ref.length && dropped < 0.7 * ref.length, `p = 0.5 dropped ${dropped} of ${ref.length}`);
    }
    if (runs.length === 2) {
      const { diff } = maxAbsDiff(runs[0][0].weights, runs[1][0].weights);
      assert.ok(diff <= 1e-5, `dropout differs between backends by ${diff}`);
    }
  },

  async 'wrong shapes, lengths and names throw JsErrors that say what is wrong'({ harness, assert }) {
    const page = await harness();
    const errors = await page.evaluate(async () => {
      const pg = await window.ap.Playground.create();
      const ok = { heads: 1, seqQ: 2, seqK: 3, headDim: 2, q: new Float32Array(4), k: new Float32Array(6), v: new Float32Array(6) };
      const bad = {
        shortQ: { ...ok, q: new Float32Array(3) },
        longV: { ...ok, v: new Float32Array(7) },
        noHeads: { ...ok, heads: undefined },
        zeroSeq: { ...ok, seqK: 0 },
        fracDim: { ...ok, headDim: 1.5 },
        score: { ...ok, score: 'dott' },
        normalizer: { ...ok, normalizer: 'softermax' },
        mask: { ...ok, mask: 'causual' },
        maskObj: { ...ok, mask: { widow: 2 } },
        topK0: { ...ok, mask: { topK: 0 } },
        temperature: { ...ok, temperature: 0 },
        typo: { ...ok, temprature: 2 },
        qType: { ...ok, q: 'hello' },
        nan: { ...ok, q: new Float32Array([1, NaN, 0, 0]) },
        additiveMissing: { ...ok, score: 'additive' },
        ropeOdd: { ...ok, headDim: 3, q: new Float32Array(6), k: new Float32Array(9), v: new Float32Array(9), positions: 'rope' },
        relBias: { ...ok, positions: { relativeBias: new Float32Array(3) } },
        dropoutP: { ...ok, dropout: { p: 1, seed: 1 } },
        notObject: 42,
      };
      const out = {};
      for (const [name, opts] of Object.entries(bad)) {
        try {
          await pg.attention(opts);
          out[name] = 'no error';
        } catch (e) {
          out[name] = `${e instanceof Error ? 'Error' : typeof e}: ${e.message}`;
        }
      }
      out.createBad = await window.ap.Playground.create({ backend: 'gpu' }).then(() => 'no error', (e) => `Error: ${e.message}`);
      out.createTypo = await window.ap.Playground.create({ backnd: 'cpu' }).then(() => 'no error', (e) => `Error: ${e.message}`);
      // The instance still works after all that.
      out.after = await pg.attention(ok).then((r) => r.output.length, (e) => e.message);
      return out;
    });
    const expect = {
      shortQ: /q must have heads × seqQ × headDim = 1 × 2 × 2 = 4 values, got 3/,
      longV: /v must have .* = 6 values, got 7/,
      noHeads: /heads is required/,
      zeroSeq: /seqK must be a whole number ≥ 1, got 0/,
      fracDim: /headDim must be a whole number ≥ 1, got 1.5/,
      score: /score must be 'dot', 'scaled_dot', 'cosine', 'neg_sq_dist' or 'additive', got 'dott'/,
      normalizer: /normalizer must be .*got 'softermax'/,
      mask: /mask must be .*got 'causual'/,
      maskObj: /mask: unknown option 'widow'/,
      topK0: /mask.topK must be a whole number ≥ 1, got 0/,
      temperature: /temperature must be a finite number > 0, got 0/,
      typo: /unknown option 'temprature'/,
      qType: /q must be a Float32Array/,
      nan: /q\[1\] must be a finite number/,
      additiveMissing: /score 'additive' needs additive/,
      ropeOdd: /headDim must be even/,
      relBias: /relativeBias must have seqQ \+ seqK − 1 = 4 values, got 3/,
      dropoutP: /dropout.p must be in \[0, 1\)/,
      notObject: /attention options must be an object/,
      createBad: /backend must be 'auto', 'webgpu' or 'cpu', got 'gpu'/,
      createTypo: /Playground.create options: unknown option 'backnd'/,
    };
    for (const [name, re] of Object.entries(expect)) {
      assert.match(errors[name], new RegExp(`^Error: .*${re.source}`), `${name}: ${errors[name]}`);
    }
    assert.equal(errors.after, 4);
  },

  async 'a lost GPU device moves the instance to the CPU and reports it'({ harness, expectBackend, assert }) {
    const page = await harness();
    const c = makeCase('device loss', SMALL, { mask: 'causal' }, 501);
    const got = await page.evaluate(async ({ opts, gpu }) => {
      const f32 = (x) => new Float32Array(x);
      const o = { ...opts, q: f32(opts.q), k: f32(opts.k), v: f32(opts.v) };
      const pg = await window.ap.Playground.create({ backend: gpu ? 'webgpu' : 'cpu' });
      const events = [];
      pg.onbackendchange = (e) => events.push(e);
      const before = await pg.attention(o);
      await pg.simulateDeviceLoss();
      const after = await pg.attention(o);
      return {
        before: before.backend, after: after.backend, now: pg.backend, reason: pg.fallbackReason ?? null, events,
        output: Array.from(after.output),
      };
    }, { opts: c.opts, gpu: expectBackend === 'webgpu' });
    const { diff } = maxAbsDiff(got.output, attentionReference(c.opts).output);
    assert.ok(diff <= TOL, `output after the fallback differs by ${diff}`);
    if (expectBackend === 'webgpu') {
      assert.equal(got.before, 'webgpu');
      assert.equal(got.after, 'cpu');
      assert.equal(got.now, 'cpu');
      assert.match(got.reason, /lost/);
      assert.equal(got.events.length, 1);
      assert.equal(got.events[0].backend, 'cpu');
    } else {
      assert.deepEqual([got.before, got.after, got.reason, got.events.length], ['cpu', 'cpu', null, 0]);
    }
  },
};
