//! Attention on the CPU: scores, masks, normalizers, positions, dropout and stats.
