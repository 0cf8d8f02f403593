//! Attention rollout (Abnar & Zuidema 2020) across layers.
