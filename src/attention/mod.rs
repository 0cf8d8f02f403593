//! The attention mechanism: what is computed (`spec`), independent of any backend, plus the
//! plain references that every kernel is tested against.

pub mod check;
pub mod dropout;
pub mod finite;
pub mod flash;
pub mod multihead;
pub mod positions;
pub mod reference;
pub mod rollout;
pub mod sinusoidal;
pub mod size;
pub mod spec;

pub use spec::{AdditiveParams, AttentionDims, AttentionSpec, Dropout, Mask, Normalizer, Positions, Score};
