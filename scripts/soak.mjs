// Memory soak (issue 13): many `attention` and `runText` calls on each backend, with the wasm
// memory and the JS heap (after a forced GC) measured before, after a warm-up, and at the end.
// Neither may grow beyond what the warm-up reached. A command, not a test: it prints figures and
// exits non-zero only if memory grew or a call failed.
//
//   node scripts/soak.mjs        (make soak)
//   SOAK_ATTENTION=10000 SOAK_TEXT=1000 (SOAK_ATTENTION_WEBGPU, SOAK_TEXT_WEBGPU: the counts in the
//   WebGPU browser, SwiftShader being slow) MODES=cpu,webgpu
import { startServer } from './serve.mjs';
import { MODES, launch, openHarness } from './browser.mjs';

const ATTENTION = Number(process.env.SOAK_ATTENTION ?? 10000);
const TEXT = Number(process.env.SOAK_TEXT ?? 1000);
const TEXT_WEBGPU = Number(process.env.SOAK_TEXT_WEBGPU ?? TEXT);
const ATTENTION_WEBGPU = Number(process.env.SOAK_ATTENTION_WEBGPU ?? ATTENTION);
const WARMUP_TEXT = Number(process.env.SOAK_WARMUP_TEXT ?? 20);
const SENTENCE = 'The cat sat on the mat.';
const modes = MODES.filter((m) => !process.env.MODES || process.env.MODES.split(',').includes(m.name));

const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

/** wasm memory and live JS heap, after a full GC. */
async function measure(page, cdp) {
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  const wasm = await page.evaluate(async () => (await window.ap.default()).memory.buffer.byteLength);
  return { wasm, heap: usedSize };
}

/** `n` calls of `what` ('attention' or 'text') on the page's instance, one after another. */
async function calls(page, what, n) {
  const t0 = performance.now();
  const failed = await page.evaluate(async ({ what, n, sentence }) => {
    const pg = window.soakPg;
    for (let i = 0; i < n; i++) {
      try {
        if (what === 'attention') await pg.attention(window.soakOpts);
        else await pg.runText(sentence);
      } catch (e) {
        return `${what} call ${i}: ${e.message}`;
      }
    }
    return null;
  }, { what, n, sentence: SENTENCE });
  if (failed) throw new Error(failed);
  return (performance.now() - t0) / 1000;
}

const { server, url } = await startServer({ port: 0, quiet: true });
let grew = false;
try {
  for (const mode of modes) {
    const browser = await launch(mode);
    try {
      const page = await openHarness(browser, url, { timeout: 3_600_000 });
      const cdp = await page.context().newCDPSession(page);
      const textCount = mode.webgpu ? TEXT_WEBGPU : TEXT;
      const attentionCount = mode.webgpu ? ATTENTION_WEBGPU : ATTENTION;
      const say = (what) => console.log(`   [${mode.name}] ${what}`);
      const backend = await page.evaluate(async (backend) => {
        const manifest = await (await fetch('models/manifest.json')).json();
        window.soakPg = await window.ap.Playground.create({ backend });
        await window.soakPg.loadTextModel(`models/${manifest.text}`);
        const [heads, seq, d] = [4, 32, 16];
        const rnd = (n, s) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s * 78.233));
        window.soakOpts = { heads, seqQ: seq, seqK: seq, headDim: d, q: rnd(heads * seq * d, 1), k: rnd(heads * seq * d, 2), v: rnd(heads * seq * d, 3), stats: true };
        return window.soakPg.backend;
      }, mode.expectBackend);
      const show = (m) => `wasm ${mb(m.wasm)}, JS heap ${mb(m.heap)}`;
      const start = await measure(page, cdp);
      say(`start: ${show(start)}`);
      // Warm-up: every buffer pool and cache reaches its working size.
      say(`warm-up: 200 attention calls in ${(await calls(page, 'attention', 200)).toFixed(1)} s`);
      say(`warm-up: ${WARMUP_TEXT} runText calls in ${(await calls(page, 'text', WARMUP_TEXT)).toFixed(1)} s`);
      const warm = await measure(page, cdp);
      say(`after warm-up: ${show(warm)}`);
      const tAtt = await calls(page, 'attention', attentionCount);
      const afterAtt = await measure(page, cdp);
      say(`${attentionCount} attention calls in ${tAtt.toFixed(1)} s: ${show(afterAtt)}`);
      const tText = await calls(page, 'text', textCount);
      const end = await measure(page, cdp);
      const peakWasm = Math.max(afterAtt.wasm, end.wasm);
      // The JS heap fluctuates by a few hundred KiB between GCs; allow 1 MiB.
      const ok = peakWasm <= warm.wasm && end.heap <= warm.heap + 2 ** 20;
      grew ||= !ok;
      console.log(`\n== ${backend}: ${attentionCount} attention calls (4 heads × 32 × 32 × 16, stats) in ${tAtt.toFixed(1)} s, ${textCount} runText('${SENTENCE}') in ${tText.toFixed(1)} s`);
      console.log(`   wasm memory: start ${mb(start.wasm)}, after warm-up ${mb(warm.wasm)}, after attention ${mb(afterAtt.wasm)}, end ${mb(end.wasm)}`);
      console.log(`   JS heap:     start ${mb(start.heap)}, after warm-up ${mb(warm.heap)}, after attention ${mb(afterAtt.heap)}, end ${mb(end.heap)}`);
      console.log(`   ${ok ? 'no growth beyond the warm-up' : 'GREW beyond the warm-up'}`);
      if (page.problems.length) throw new Error(`the page reported problems:\n${page.problems.join('\n')}`);
    } finally {
      await browser.close();
    }
  }
} finally {
  server.close();
}
process.exit(grew ? 1 : 0);
