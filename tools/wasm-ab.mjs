// A/B of two builds of the package's wasm on a model forward, in one node process: both modules
// load the same model from www/models, then their runs alternate and each is timed in process CPU
// time. On a shared VM whose wall clock swings by ±20 % between runs, this is how a few per cent
// can be told apart. Not part of the package.
//
//   node [--experimental-wasm-relaxed-simd] tools/wasm-ab.mjs A.wasm B.wasm
//   env: KIND=text|vision (text), N tokens (512), RUNS rounds (7), GLUE=path of the JS glue
//        (www/pkg/attention_playground.js; both builds must share it, as build-wasm.sh checks)
// Keep a baseline with `cp pkg/attention_playground_relaxed_bg.wasm /tmp/a.wasm` before a change;
// the relaxed-SIMD build needs node's --experimental-wasm-relaxed-simd.
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServer } from '../scripts/serve.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const [wasmA, wasmB] = process.argv.slice(2);
if (!wasmA || !wasmB) {
  console.error('usage: node tools/wasm-ab.mjs A.wasm B.wasm   (KIND, N, RUNS, GLUE in the environment)');
  process.exit(2);
}
const kind = process.env.KIND ?? 'text';
const tokens = Number(process.env.N ?? 512);
const rounds = Number(process.env.RUNS ?? 7);
const glue = process.env.GLUE ?? `${root}www/pkg/attention_playground.js`;

const { server, url } = await startServer({ port: 0, quiet: true, root: `${root}www` });
const manifest = JSON.parse(readFileSync(`${root}www/models/manifest.json`, 'utf8'));
// [CLS] + words + [SEP]: every word of this list is one WordPiece token.
const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'while', 'dogs', 'barked'];
const text = Array.from({ length: Math.max(tokens - 2, 1) }, (_, i) => words[i % words.length]).join(' ');
const rgba = Uint8Array.from({ length: 224 * 224 * 4 }, (_, i) => (i % 4 === 3 ? 255 : (Math.sin(i * 0.01) * 127 + 128) | 0));

const builds = [];
for (const [tag, wasm] of [['A', wasmA], ['B', wasmB]]) {
  // A query string makes node load a second, independent instance of the glue module.
  const pkg = await import(`${pathToFileURL(glue).href}?${tag}`);
  await pkg.default({ module_or_path: readFileSync(wasm) });
  const pg = await pkg.Playground.create({ backend: 'cpu' });
  if (kind === 'vision') await pg.loadVisionModel(new URL(`models/${manifest.vision}`, url).href);
  else await pg.loadTextModel(new URL(`models/${manifest.text}`, url).href);
  const run = () => (kind === 'vision' ? pg.runImage(rgba, 224, 224) : pg.runText(text));
  await run(); // warm-up: compiles the optimized tier
  builds.push({ tag, wasm, run, ms: [] });
}
server.close();

const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
for (let i = 0; i < rounds; i++) {
  for (const b of builds) {
    const t = cpuMs();
    await b.run();
    b.ms.push(cpuMs() - t);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const what = kind === 'vision' ? 'DINOv2 224²' : `MiniLM ${tokens} tokens`;
for (const b of builds) console.log(`${b.tag} ${what}: median ${median(b.ms).toFixed(1)} ms, min ${Math.min(...b.ms).toFixed(1)} ms (${b.wasm})`);
console.log(`B / A = ${(median(builds[1].ms) / median(builds[0].ms)).toFixed(3)} (process CPU time, ${rounds} alternating rounds)`);
