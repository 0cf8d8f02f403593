// The one place that names where the wasm-bindgen glue lives relative to the view modules. In
// www/ it is ../pkg/; scripts/pkg-element.sh writes pkg/js/glue.js pointing at ../ instead.
export { default, Playground, wasmSimd, initThreads, threads } from '../pkg/attention_playground.js';
/** The folder of the glue and the .wasm files. */
export const PKG = new URL('../pkg/', import.meta.url);
/** The default models folder (the one beside pkg/, holding manifest.json). */
export const MODELS = new URL('../models/', import.meta.url);
