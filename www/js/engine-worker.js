// The dedicated worker the engine runs in (started by worker-client.js): the wasm module, every
// Playground and its GPU device live here, so no forward ever blocks the page's main thread.
import { serve } from './engine-host.js';

serve(self);
