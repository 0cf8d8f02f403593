//! Weight files: the web format the page loads (`format.rs`), its f16 narrowing, a model folder's
//! files as the page receives them (`folder.rs`), and the ONNX reader the DINOv2 conversion uses.
//! Each model's tensors by name are in its file in `src/models/`.

#[cfg(not(target_arch = "wasm32"))]
pub mod dinov2_onnx;
pub mod folder;
pub mod format;
pub mod hf_vit;
pub mod narrow;
#[cfg(not(target_arch = "wasm32"))]
pub mod onnx;

pub use format::{StoreAs, WeightFile, WeightWriter, FORMAT};
