//! Plain, obviously-correct reference implementations of every attention variant (tests compare the kernels against these).
