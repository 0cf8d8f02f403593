//! attention-playground: attention computed live, in WGSL kernels through WebGPU or in Rust on
//! the CPU, with the same numbers on both.
//!
//! Data flow: text / image → tokens / patches → model (generic over `Backend`) → attention maps
//! → the page's views. `attention` says what is computed, `backend` is the seam, `cpu` and `gpu`
//! are the two implementations, `models` holds one file per model, `api` is the JS surface.

pub mod attention;
pub mod backend;
pub mod cpu;
pub mod error;
pub mod gpu;
pub mod models;
pub mod playground;
pub mod projection;
pub mod text;
pub mod vision;
pub mod weights;

#[cfg(target_arch = "wasm32")]
pub mod api;

pub use backend::{Backend, BackendKind};
pub use error::{Error, Result};
