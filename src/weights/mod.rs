//! Weight files: the web format the page loads, and converters from the source checkpoints.

pub mod bert;
pub mod dinov2;
pub mod format;

pub use format::{StoreAs, WeightFile, WeightWriter, FORMAT};
