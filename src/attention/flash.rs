//! Fused, tiled ("flash") softmax attention that never materializes the seqQ×seqK weights.
