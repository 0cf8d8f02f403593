//! The public JS API (wasm-bindgen): `Playground` and its option objects.
