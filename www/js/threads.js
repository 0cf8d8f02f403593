// The CPU path's thread pool, started by whichever thread hosts the engine right after init():
// the page (engine.js) or the engine's Worker. In the threads build (what init() loads where the
// page or worker is cross-origin isolated) initThreads starts Web Workers over the module's shared
// memory; in the single-threaded builds it resolves to 1. Results are the same bits either way.
import { initThreads } from './glue.js';

// More threads than this find no more pieces to share in the forwards the page runs (MiniLM has
// 12 heads, DINOv2 6; a 128-token matmul has 2–6 output pieces) and cost a worker each.
const MAX_THREADS = 8;

/** Starts the pool on every core up to MAX_THREADS; resolves to the thread count in use. A pool
 *  that cannot start (workers blocked) leaves the CPU path on one thread: same numbers, slower. */
export function startThreads() {
  const cores = Math.min(globalThis.navigator?.hardwareConcurrency || 1, MAX_THREADS);
  return initThreads(cores).catch((e) => {
    console.warn('attention-playground: no thread pool, one thread', e);
    return 1;
  });
}
