//! DINOv2 web weights: the config stored in the file's metadata, and a loader that checks every
//! tensor's presence and shape before the model sees it. Tensor names and layouts are listed in
//! the converter (`src/bin/convert/vision.rs`).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::weights::{StoreAs, WeightFile, WeightWriter};

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
    pub layer_scale1: Vec<f32>,
    pub norm2: (Vec<f32>, Vec<f32>),
    /// [D, mlp]
    pub fc1_weight: Vec<f32>,
    pub fc1_bias: Vec<f32>,
    /// [mlp, D]
    pub fc2_weight: Vec<f32>,
    pub fc2_bias: Vec<f32>,
    pub layer_scale2: Vec<f32>,
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

    fn validate(&self) -> Result<()> {
        let ok = self.hidden > 0
            && self.layers > 0
            && self.heads > 0
            && self.hidden % self.heads == 0
            && self.mlp > 0
            && self.patch > 0
            && self.grid > 0
            && self.eps > 0.0
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
        };
        let layers = (0..config.layers)
            .map(|n| {
                let t = |s: &str, shape: &[usize]| f.tensor(&format!("encoder.layer.{n}.{s}"), shape);
                Ok(LayerWeights {
                    norm1: (t("norm1.weight", &[d])?, t("norm1.bias", &[d])?),
                    qkv_weight: t("attention.attention.qkv.weight", &[d, 3 * d])?,
                    qkv_bias: t("attention.attention.qkv.bias", &[3 * d])?,
                    out_weight: t("attention.output.dense.weight", &[d, d])?,
                    out_bias: t("attention.output.dense.bias", &[d])?,
                    layer_scale1: t("layer_scale1.lambda1", &[d])?,
                    norm2: (t("norm2.weight", &[d])?, t("norm2.bias", &[d])?),
                    fc1_weight: t("mlp.fc1.weight", &[d, m])?,
                    fc1_bias: t("mlp.fc1.bias", &[m])?,
                    fc2_weight: t("mlp.fc2.weight", &[m, d])?,
                    fc2_bias: t("mlp.fc2.bias", &[d])?,
                    layer_scale2: t("layer_scale2.lambda1", &[d])?,
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
