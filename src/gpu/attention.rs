//! Attention on the GPU: dispatches the kernels in shaders/attention.wgsl.
