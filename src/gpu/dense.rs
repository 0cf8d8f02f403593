//! Dense ops on the GPU: linear (tiled matmul with fused epilogue) and LayerNorm.
