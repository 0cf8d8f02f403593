// DINOv2 ViT-S/14 forward latency at 224² in the page: ours (pg.runImage: preprocessing, all 12
// layers, every attention map returned, the saliency decoder) per backend, beside onnxruntime-web
// 1.30 (wasm backend, 1 thread) running the same ONNX (which returns only the saliency map).
// Median of 5 runs after one warm-up.
//
//   node scripts/bench-browser.mjs tests/browser/bench/vision.bench.mjs     (or: make bench-vision)
//
// onnxruntime-web (a devDependency) and the ONNX are served from www/models/ (see ./ort.mjs).
import { MEDIAN, ORT_LABEL, RUNS, prepareOrt, timeOrt } from './ort.mjs';

export default {
  name: 'vision-browser',
  async run({ harness, webgpu, log, record }) {
    prepareOrt(log, [['.cache/models/vit_s_focus.onnx', 'vit_s_focus.onnx']]);
    const page = await harness();
    const median = MEDIAN;
    // An astronaut-sized photo stand-in: a smooth 224×224 RGBA pattern (content does not change the cost).
    const image = `Uint8Array.from({ length: 224 * 224 * 4 }, (_, i) => (i % 4 === 3 ? 255 : (Math.sin(i * 0.01) * 127 + 128) | 0))`;
    for (const backend of webgpu ? ['webgpu', 'cpu'] : ['cpu']) {
      const r = await page.evaluate(async ({ backend, runs, median, image }) => {
        const med = eval(median);
        const pg = await window.ap.Playground.create({ backend });
        const manifest = await (await fetch('models/manifest.json')).json();
        const t0 = performance.now();
        await pg.loadVisionModel(`models/${manifest.vision}`);
        const load = performance.now() - t0;
        const rgba = eval(image);
        await pg.runImage(rgba, 224, 224); // warm-up
        const times = [];
        for (let i = 0; i < runs; i++) {
          const t = performance.now();
          await pg.runImage(rgba, 224, 224);
          times.push(performance.now() - t);
        }
        return { backend: pg.backend, ms: med(times), load, times };
      }, { backend, runs: RUNS, median, image });
      log(`ours ${r.backend}: ${r.ms.toFixed(0)} ms median (${r.times.map((t) => t.toFixed(0)).join(', ')}); load ${r.load.toFixed(0)} ms`);
      record({ engine: `attention-playground (${r.backend})`, 'forward ms (median)': Math.round(r.ms), runs: RUNS, returns: '72 maps + saliency' });
    }
    const o = await timeOrt(page, {
      model: 'vit_s_focus.onnx',
      feeds: `(ort) => {
        const MEAN = [0.485, 0.456, 0.406], STD = [0.229, 0.224, 0.225];
        const x = new Float32Array(3 * 224 * 224);
        for (let c = 0; c < 3; c++) for (let i = 0; i < 224 * 224; i++) x[c * 224 * 224 + i] = ((Math.sin((i * 4 + c) * 0.01) * 127 + 128 | 0) / 255 - MEAN[c]) / STD[c];
        return { input_image: new ort.Tensor('float32', x, [1, 3, 224, 224]) };
      }`,
    });
    log(`${ORT_LABEL}: ${o.ms.toFixed(0)} ms median (${o.times.map((t) => t.toFixed(0)).join(', ')})`);
    record({ engine: ORT_LABEL, 'forward ms (median)': Math.round(o.ms), runs: RUNS, returns: 'saliency only' });
  },
};
