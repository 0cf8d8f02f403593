//! The seam between model/attention code and the two backends.
//!
//! Model code is written once, generic over `B: Backend`. A backend records operations on its
//! own tensors; `read` is the only place results come back to the host. The CPU backend computes
//! each op as it is called; the GPU backend records every op of a computation into one command
//! encoder and submits it once, at `read`, with one readback.

use crate::attention::rollout::RolloutArgs;
use crate::attention::{AttentionDims, AttentionSpec};
use crate::error::Result;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Cpu,
    Gpu,
}

impl BackendKind {
    /// The name the JS API reports: `'cpu'` or `'webgpu'`.
    pub fn js_name(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Gpu => "webgpu",
        }
    }
}

/// Where a [heads, seq, head_dim] operand lives inside a flat tensor: element (h, i, c) is at
/// `offset + h * head_stride + i * row_stride + c`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadLayout {
    pub offset: usize,
    pub head_stride: usize,
    pub row_stride: usize,
}

impl HeadLayout {
    /// Contiguous [heads, seq, head_dim], as the JS API passes q, k, v.
    pub fn head_major(seq: usize, head_dim: usize) -> Self {
        HeadLayout { offset: 0, head_stride: seq * head_dim, row_stride: head_dim }
    }

    /// Heads side by side in each token's row, as a projection writes them: a [seq, row_width]
    /// tensor whose head h occupies columns `offset + h*head_dim ..` (e.g. q, k, v of a fused
    /// [seq, 3·hidden] QKV projection at offsets 0, hidden, 2·hidden).
    pub fn token_major(offset: usize, head_dim: usize, row_width: usize) -> Self {
        HeadLayout { offset, head_stride: head_dim, row_stride: row_width }
    }

    /// Number of elements a tensor must hold for this layout to address `heads × seq × head_dim`.
    pub fn required_len(&self, heads: usize, seq: usize, head_dim: usize) -> usize {
        self.offset + (heads - 1) * self.head_stride + (seq - 1) * self.row_stride + head_dim
    }
}

/// One attention call: operands, where they live, and what to compute.
pub struct AttentionArgs<'a, T> {
    pub dims: AttentionDims,
    pub q: &'a T,
    pub q_layout: HeadLayout,
    pub k: &'a T,
    pub k_layout: HeadLayout,
    pub v: &'a T,
    pub v_layout: HeadLayout,
    /// Layout of the output (a fresh dense tensor of heads × seq_q × head_dim elements):
    /// `head_major` for the API, `token_major(0, d, heads*d)` to feed a projection.
    pub out_layout: HeadLayout,
    pub spec: &'a AttentionSpec,
}

impl<'a, T> AttentionArgs<'a, T> {
    /// Self-attention over one fused projection `qkv` [seq, 3·heads·head_dim] (q | k | v columns,
    /// heads side by side within each), with the output token-major [seq, heads·head_dim], ready
    /// for the output projection: what a transformer layer asks for.
    pub fn fused_qkv(dims: AttentionDims, qkv: &'a T, spec: &'a AttentionSpec) -> Self {
        let (d, width) = (dims.head_dim, dims.heads * dims.head_dim);
        AttentionArgs {
            dims,
            q: qkv,
            q_layout: HeadLayout::token_major(0, d, 3 * width),
            k: qkv,
            k_layout: HeadLayout::token_major(width, d, 3 * width),
            v: qkv,
            v_layout: HeadLayout::token_major(2 * width, d, 3 * width),
            out_layout: HeadLayout::token_major(0, d, width),
            spec,
        }
    }
}

pub struct AttentionOutput<T> {
    /// weights · v, in `out_layout`.
    pub output: T,
    /// [heads, seq_q, seq_k], when `spec.return_weights`.
    pub weights: Option<T>,
    /// [heads, seq_q]: entropy (nats) of each weight row, when `spec.stats`.
    pub entropy: Option<T>,
    /// [heads, seq_k]: column sums of the weights, when `spec.stats`.
    pub coverage: Option<T>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    None,
    /// The exact (erf) GELU used by BERT and ViT.
    Gelu,
    /// The tanh approximation of GELU (HF `gelu_new`, `gelu_pytorch_tanh`), which some BERT
    /// checkpoints were trained with.
    GeluTanh,
}

/// `y = act(x · w + bias)`, then optionally `y = residual + scale ⊙ y`.
pub struct Linear<'a, T, W = T> {
    /// [rows, in_dim]
    pub x: &'a T,
    pub rows: usize,
    pub in_dim: usize,
    pub out_dim: usize,
    pub w: Weight<'a, T, W>,
    /// [out_dim]
    pub bias: Option<&'a T>,
    pub activation: Activation,
    /// [rows, out_dim]
    pub residual: Option<&'a T>,
    /// [out_dim]: per-channel layer scale applied before the residual add (DINOv2).
    pub residual_scale: Option<&'a T>,
}

impl<'a, T, W> Linear<'a, T, W> {
    /// A plain `x · w + bias` with no activation or residual, w a row-major [in_dim, out_dim] tensor.
    pub fn new(x: &'a T, rows: usize, w: &'a T, in_dim: usize, out_dim: usize, bias: Option<&'a T>) -> Self {
        Linear::with_weight(x, rows, Weight::Tensor(w), in_dim, out_dim, bias)
    }

    pub fn with_weight(x: &'a T, rows: usize, w: Weight<'a, T, W>, in_dim: usize, out_dim: usize, bias: Option<&'a T>) -> Self {
        Linear { x, rows, in_dim, out_dim, w, bias, activation: Activation::None, residual: None, residual_scale: None }
    }
}

/// The [in_dim, out_dim] matrix of a [`Linear`].
pub enum Weight<'a, T, W> {
    /// Row-major [in, out] (input-major, so x · w), as `upload` leaves it: per-call weights (the
    /// multi-head API's).
    Tensor(&'a T),
    /// Made once by [`Backend::upload_weight`], in whatever form that backend multiplies fastest:
    /// a model's weights.
    Uploaded(&'a W),
}

// Not derived: a derive would require T: Copy and W: Copy, and only the references are copied.
impl<T, W> Clone for Weight<'_, T, W> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T, W> Copy for Weight<'_, T, W> {}

/// Row-wise LayerNorm of a [rows, dim] tensor.
pub struct LayerNorm<'a, T> {
    pub x: &'a T,
    pub rows: usize,
    pub dim: usize,
    pub gamma: &'a T,
    pub beta: &'a T,
    pub eps: f32,
}

/// The rest of a transposed convolution (4×4 kernel, stride 2, padding 1) whose per-pixel tap
/// products a `linear` made, then a per-channel affine and ReLU: one upsampling step of the
/// DINOv2 saliency decoder. Output [2·height, 2·width, channels] with
/// `y[oy, ox, c] = relu(scale[c] · Σ taps[iy, ix, ky, kx, c] + shift[c])` over the input pixels and
/// taps with `oy = 2·iy + ky − 1`, `ox = 2·ix + kx − 1`, summed in input-pixel order.
pub struct Col2Im<'a, T> {
    /// [skip + height·width, 16·channels]: row skip + (iy·width + ix), column (ky·4 + kx)·channels + c.
    pub taps: &'a T,
    /// Leading rows that are not pixels (a class token).
    pub skip: usize,
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    /// [channels] each: BatchNorm (eval) with the conv bias folded in.
    pub scale: &'a T,
    pub shift: &'a T,
}

/// Bilinear resize of [planes, height, width] to [planes, out_height, out_width] with half-pixel
/// centres and the sample clamped to the image (ONNX Resize `linear`, as onnxruntime computes it),
/// then the logistic sigmoid when `sigmoid`.
pub struct Resize<'a, T> {
    pub x: &'a T,
    pub planes: usize,
    pub width: usize,
    pub height: usize,
    pub out_width: usize,
    pub out_height: usize,
    pub sigmoid: bool,
}

/// The operations models and the attention API need. Every op validates lengths against its
/// arguments and returns `Error::Invalid` rather than panicking.
#[allow(async_fn_in_trait)]
pub trait Backend {
    type Tensor;
    /// A weight matrix as [`upload_weight`](Backend::upload_weight) keeps it (the CPU packs it
    /// into the panels its matmul reads; the GPU keeps a row-major tensor).
    type Weight;

    fn kind(&self) -> BackendKind;

    /// Copies host data into a new backend tensor (resident until dropped).
    fn upload(&mut self, data: &[f32]) -> Result<Self::Tensor>;

    /// Uploads a row-major [in_dim, out_dim] weight matrix for `linear` ([`Weight::Uploaded`]),
    /// in whatever form this backend multiplies fastest.
    fn upload_weight(&mut self, w: &[f32], in_dim: usize, out_dim: usize) -> Result<Self::Weight>;

    /// Number of f32 elements in a tensor.
    fn len(&self, t: &Self::Tensor) -> usize;

    fn linear(&mut self, op: &Linear<'_, Self::Tensor, Self::Weight>) -> Result<Self::Tensor>;

    fn layer_norm(&mut self, op: &LayerNorm<'_, Self::Tensor>) -> Result<Self::Tensor>;

    fn col2im(&mut self, op: &Col2Im<'_, Self::Tensor>) -> Result<Self::Tensor>;

    fn resize(&mut self, op: &Resize<'_, Self::Tensor>) -> Result<Self::Tensor>;

    fn attention(&mut self, args: &AttentionArgs<'_, Self::Tensor>) -> Result<AttentionOutput<Self::Tensor>>;

    /// Attention rollout across layers: maps [layers, heads, seq, seq] → cumulative [layers, seq, seq]
    /// (see `attention::rollout`).
    fn rollout(&mut self, args: &RolloutArgs<'_, Self::Tensor>) -> Result<Self::Tensor>;

    /// Called by models between layers. A backend that computes inside each call on the caller's
    /// thread (the CPU in a page) may let the host run here, so that a long forward never holds
    /// the page's input for more than about a layer.
    async fn checkpoint(&mut self) {}

    /// Runs everything recorded so far and returns the contents of `tensors`, in order.
    async fn read(&mut self, tensors: &[&Self::Tensor]) -> Result<Vec<Vec<f32>>>;

    /// [`read`](Backend::read) that consumes the tensors, so a backend whose tensors are host
    /// memory already hands them over without a copy (a 512-token MiniLM returns 75 MB of maps).
    async fn read_owned(&mut self, tensors: Vec<Self::Tensor>) -> Result<Vec<Vec<f32>>> {
        let refs: Vec<&Self::Tensor> = tensors.iter().collect();
        self.read(&refs).await
    }
}
