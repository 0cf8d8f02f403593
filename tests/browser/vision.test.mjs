// DINOv2 in the browser: parity with onnxruntime (the same fixtures as tests/dinov2_parity.rs:
// attention max |Δ| ≤ 5e-3, mean ≤ 5e-4, on the class-token row and 24 sampled rows of all 72
// maps; the saliency map too), device loss (→ CPU, still correct), and clear errors for bad input.
// The image page itself is tested in image-page.test.mjs.
//
// One WebGPU forward on SwiftShader (a CPU emulation of a GPU) takes minutes on this 2-core
// machine, so the WebGPU browser runs one fixture on the GPU (224², square); the non-square one
// runs there after a simulated device loss, i.e. on the CPU the instance falls back to. Both
// fixtures run on the native GPU backend (llvmpipe) in tests/dinov2_parity.rs.
import { fileURLToPath } from 'node:url';
import { readSafetensors } from './safetensors.mjs';

const FIXTURES = fileURLToPath(new URL('../fixtures/vision/', import.meta.url));

/** Reads a fixture written by scripts/make-vision-fixtures.py (safetensors). */
function fixture(name) {
  const { header, data, halfs } = readSafetensors(`${FIXTURES}${name}.safetensors`);
  const [height, width] = header.image.shape;
  const rgb = data('image');
  const rgba = new Array(width * height * 4);
  for (let i = 0; i < width * height; i++) rgba.splice(4 * i, 4, rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255);
  const r = data('rows');
  const rows = Array.from({ length: r.length / 4 }, (_, i) => r.readInt32LE(4 * i));
  return { width, height, rgba, rows, attention: halfs('attention'), saliency: halfs('saliency') };
}

function stats(ours, ref) {
  let max = 0, sum = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ours[i] - ref[i]);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / ref.length };
}

async function runFixture(page, name, loseDevice) {
  const f = fixture(name);
  const out = await page.evaluate(async ({ f, loseDevice }) => {
    const manifest = await (await fetch('models/manifest.json')).json();
    window.vpg ??= await window.ap.Playground.create({ backend: 'auto' });
    if (!window.vpgLoaded) {
      await window.vpg.loadVisionModel(`models/${manifest.vision}`);
      window.vpgLoaded = true;
    }
    const changes = [];
    window.vpg.onbackendchange = (e) => changes.push(e);
    if (loseDevice) await window.vpg.simulateDeviceLoss();
    const r = await window.vpg.runImage(new Uint8Array(f.rgba), f.width, f.height);
    const t = r.tokens, rows = [];
    for (let lh = 0; lh < r.layers * r.heads; lh++) {
      for (const q of f.rows) rows.push(...r.attention.subarray((lh * t + q) * t, (lh * t + q + 1) * t));
    }
    return {
      backend: window.vpg.backend, reason: window.vpg.fallbackReason ?? null, changes,
      gridW: r.gridW, gridH: r.gridH, tokens: t, rows, saliency: Array.from(r.saliency),
    };
  }, { f: { rgba: f.rgba, width: f.width, height: f.height, rows: f.rows }, loseDevice });
  return { f, out };
}

async function parity({ harness, expectBackend, assert }, names, { loseDevice = false } = {}) {
  const page = await harness();
  for (const name of names) {
    const { f, out } = await runFixture(page, name, loseDevice);
    if (loseDevice) {
      assert.equal(out.backend, 'cpu');
      assert.match(out.reason, /lost/);
      assert.deepEqual(out.changes.map((c) => c.backend), ['cpu']);
    } else {
      assert.equal(out.backend, expectBackend);
    }
    assert.equal(out.gridW * 14, f.width);
    assert.equal(out.gridH * 14, f.height);
    const a = stats(out.rows, f.attention);
    const s = stats(out.saliency, f.saliency);
    console.log(`    ${out.backend}${loseDevice ? ' (after device loss)' : ''} ${name}: attention max ${a.max.toExponential(2)} mean ${a.mean.toExponential(2)}; saliency max ${s.max.toExponential(2)} mean ${s.mean.toExponential(2)}`);
    assert.ok(a.max <= 5e-3 && a.mean <= 5e-4, `${name} attention: ${JSON.stringify(a)}`);
    assert.ok(s.max <= 5e-3 && s.mean <= 5e-4, `${name} saliency: ${JSON.stringify(s)}`);
  }
}

export default {
  async 'DINOv2 attention matches onnxruntime (224², square)'(ctx) {
    await parity(ctx, ['astronaut']);
  },

  async 'DINOv2 attention matches onnxruntime (non-square grid; WebGPU: after a device loss, on the CPU)'(ctx) {
    await parity(ctx, ['chelsea'], { loseDevice: ctx.mode === 'webgpu' });
  },

  async 'the SIMD128 build (engines without relaxed SIMD) matches onnxruntime too'(ctx) {
    if (ctx.mode !== 'cpu') return; // the two builds differ only in the CPU path's code
    await parity({ ...ctx, harness: () => ctx.harness('?wasm=simd128') }, ['astronaut', 'chelsea']);
  },

  async 'runImage rejects bad input with clear errors'({ harness, assert }) {
    const page = await harness();
    // Chromium logs the deliberate 404 below as a console error; that one is expected.
    const expected404 = () => page.problems.splice(0, page.problems.length, ...page.problems.filter((p) => !/404.*nope\.safetensors/.test(p)));
    const errors = await page.evaluate(async () => {
      const pg = await window.ap.Playground.create({ backend: 'cpu' });
      const msg = async (p) => { try { await p; return 'resolved'; } catch (e) { return String(e.message ?? e); } };
      const before = await msg(pg.runImage(new Uint8Array(16), 2, 2));
      const manifest = await (await fetch('models/manifest.json')).json();
      await pg.loadVisionModel(`models/${manifest.vision}`);
      return {
        before,
        length: await msg(pg.runImage(new Uint8Array(10), 2, 2)),
        zero: await msg(pg.runImage(new Uint8Array(0), 0, 5)),
        type: await msg(pg.runImage([1, 2, 3, 4], 1, 1)),
        thin: await msg(pg.runImage(new Uint8Array(4 * 1000 * 5), 1000, 5)),
        huge: await msg(pg.runImage(new Uint8Array(4), 100000, 100000)),
        negative: await msg(pg.runImage(new Uint8Array(4), -1, 1)),
        badUrl: await msg(pg.loadVisionModel('models/nope.safetensors')),
        notWeights: await msg(pg.loadVisionModel('models/manifest.json')),
      };
    });
    expected404();
    assert.match(errors.before, /no vision model loaded/);
    assert.match(errors.length, /needs 16 bytes, got 10/);
    assert.match(errors.zero, /no pixels/);
    assert.match(errors.type, /Uint8Array or Uint8ClampedArray/);
    assert.match(errors.thin, /patch/);
    assert.match(errors.huge, /100000×100000: sides above 8192 pixels are not accepted/);
    assert.match(errors.negative, /invalid input: runImage: width must be a whole number ≥ 0, got -1/);
    assert.match(errors.badUrl, /HTTP 404/);
    assert.match(errors.notWeights, /safetensors|weight/);
  },
};
