// DINOv2 ViT-S/14 forward latency at 224² in the page: ours (pg.runImage: preprocessing, all 12
// layers, every attention map returned, the saliency decoder) per backend, beside onnxruntime-web
// 1.30 (wasm backend, 1 thread) running the same ONNX (which returns only the saliency map).
// Median of BENCH_RUNS (5) runs after one warm-up; the WebGPU path on SwiftShader (a CPU emulation,
// minutes per forward) gets GPU_RUNS (1).
//
//   node scripts/bench-browser.mjs tests/browser/bench/vision.bench.mjs   (or: make bench-vision-browser)
//   WEBGPU=0 ...   CPU path and onnxruntime-web only
//
// onnxruntime-web is a pinned devDependency; its files and the ONNX are copied under www/models/
// (ignored by git), so the page loads them from the same local server — no CDN (see ./ort.mjs).
import { ORT_VERSION, RUNS, SAMPLE_RGBA, VISION_FEEDS, prepareOrt } from './ort.mjs';

const GPU_RUNS = Number(process.env.GPU_RUNS ?? 1);

export default {
  name: 'vision-browser',
  async run({ harness, webgpu, log, record }) {
    prepareOrt(log, [['.cache/models/vit_s_focus.onnx', 'vit_s_focus.onnx']]);
    const page = await harness();
    // The CPU path and onnxruntime-web run alternately in one page, so both see the same machine
    // load (this machine is shared); then the WebGPU path on its own.
    const cpu = await page.evaluate(async ({ runs, sample, visionFeeds }) => {
      const med = (times) => [...times].sort((a, b) => a - b)[times.length >> 1];
      const rgba = eval(sample)();
      const pg = await window.ap.Playground.create({ backend: 'cpu' });
      const manifest = await (await fetch('models/manifest.json')).json();
      const t0 = performance.now();
      await pg.loadVisionModel(`models/${manifest.vision}`);
      const load = performance.now() - t0;

      const ort = await import('./models/ort/ort.wasm.min.mjs');
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.wasmPaths = new URL('./models/ort/', location.href).href;
      const session = await ort.InferenceSession.create('./models/vit_s_focus.onnx', { executionProviders: ['wasm'] });
      // The same pixels through the same preprocessing as runImage.
      const feeds = eval(visionFeeds)(ort, rgba);

      await pg.runImage(rgba, 224, 224); // warm-ups
      await session.run(feeds);
      const ours = [], theirs = [];
      for (let i = 0; i < runs; i++) {
        let t = performance.now();
        await pg.runImage(rgba, 224, 224);
        ours.push(performance.now() - t);
        t = performance.now();
        await session.run(feeds);
        theirs.push(performance.now() - t);
      }
      return { backend: pg.backend, simd: window.ap.wasmSimd(), load, ours, theirs, oursMs: med(ours), theirsMs: med(theirs) };
    }, { runs: RUNS, sample: SAMPLE_RGBA, visionFeeds: VISION_FEEDS });
    const list = (ts) => ts.map((t) => t.toFixed(0)).join(', ');
    log(`ours ${cpu.backend} (wasm ${cpu.simd}): ${cpu.oursMs.toFixed(0)} ms median (${list(cpu.ours)}); model load ${cpu.load.toFixed(0)} ms`);
    log(`onnxruntime-web ${ORT_VERSION} wasm 1 thread: ${cpu.theirsMs.toFixed(0)} ms median (${list(cpu.theirs)})`);
    log(`ratio ours/onnxruntime-web: ${(cpu.oursMs / cpu.theirsMs).toFixed(2)} (target ≤ 0.8)`);
    record({ engine: `attention-playground (${cpu.backend}, wasm ${cpu.simd})`, 'forward ms (median)': Math.round(cpu.oursMs), runs: RUNS, returns: '72 maps + saliency' });
    record({ engine: `onnxruntime-web ${ORT_VERSION} (wasm, 1 thread)`, 'forward ms (median)': Math.round(cpu.theirsMs), runs: RUNS, returns: 'saliency only' });
    if (!webgpu) return;

    const gpu = await page.evaluate(async ({ runs, sample }) => {
      const rgba = eval(sample)();
      const pg = await window.ap.Playground.create({ backend: 'webgpu' });
      const manifest = await (await fetch('models/manifest.json')).json();
      const t0 = performance.now();
      await pg.loadVisionModel(`models/${manifest.vision}`);
      const load = performance.now() - t0;
      await pg.runImage(rgba, 224, 224); // warm-up (pipelines compiled)
      const times = [];
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        await pg.runImage(rgba, 224, 224);
        times.push(performance.now() - t);
      }
      return { backend: pg.backend, load, times, ms: [...times].sort((a, b) => a - b)[times.length >> 1] };
    }, { runs: GPU_RUNS, sample: SAMPLE_RGBA });
    log(`ours ${gpu.backend} (SwiftShader): ${gpu.ms.toFixed(0)} ms median (${list(gpu.times)}); model load ${gpu.load.toFixed(0)} ms`);
    record({ engine: `attention-playground (${gpu.backend}, SwiftShader)`, 'forward ms (median)': Math.round(gpu.ms), runs: GPU_RUNS, returns: '72 maps + saliency' });
  },
};
