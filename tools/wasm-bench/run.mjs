// Runs the wasm dense bench in node (`./run.sh` builds first). Times are process CPU time, so
// other processes on a shared machine do not inflate them.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as wasm from './pkg/wasm_dense_bench.js';
import { runBench } from './bench.mjs';

wasm.initSync({ module: readFileSync(fileURLToPath(new URL('./pkg/wasm_dense_bench_bg.wasm', import.meta.url))) });
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e3; };
console.log(`wasm SIMD128 CPU dense ops, single thread, node ${process.version} (CPU time)`);
runBench(wasm, { now: cpuMs, log: (s) => console.log(s), only: process.env.ONLY });
