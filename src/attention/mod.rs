//! The attention mechanism: what is computed (`spec`), independent of any backend.

pub mod spec;

pub use spec::{AdditiveParams, AttentionDims, AttentionSpec, Dropout, Mask, Normalizer, Positions, Score};
