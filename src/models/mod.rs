//! Real models, generic over the backend seam: one file per model.

pub mod bert;
pub mod bert_files;
pub mod blocks;
pub mod dinov2;
pub mod hidden_act;
