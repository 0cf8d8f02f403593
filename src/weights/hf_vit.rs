//! Hugging Face ViT-family image encoders → the DINOv2 model's weights, in the browser: a model
//! folder's `config.json` + `model.safetensors` (+ optional `preprocessor_config.json`).
//!
//! Three layouts, all pre-LN encoders with a class token and learned positions on a square grid:
//! - `ViTModel` (model_type "vit"): `encoder.layer.N.{layernorm_before, attention.attention.
//!   {query,key,value}, attention.output.dense, layernorm_after, intermediate.dense, output.dense}`;
//!   no layer scale; the pooler is ignored.
//! - `Dinov2Model` ("dinov2"): `norm1`, the same attention names, `layer_scale1.lambda1`, `norm2`,
//!   `mlp.fc1`, `mlp.fc2`, `layer_scale2.lambda1`; `mask_token` is ignored.
//! - `Dinov2WithRegistersModel` ("dinov2_with_registers"): DINOv2 plus `embeddings.register_tokens`,
//!   and positions resampled with antialiasing (as its HF `interpolate_pos_encoding`).
//!
//! Tensor names may carry the model's prefix (`vit.`, `dinov2.`, … from a task model's file).
//! PyTorch stores a linear weight as [out, in]; ours are [in, out], so each is transposed, and the
//! patch conv [D, 3, P, P] becomes the [3·P·P, D] im2col linear. Anything unusable is an error
//! naming the field or tensor: no partial model.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::models::hidden_act::HiddenAct;
use crate::models::dinov2::{Dinov2Config, Dinov2Weights, EmbeddingWeights, LayerWeights, Variant, MAX_MAP_VALUES};
use crate::vision;
use crate::weights::folder::ModelFiles;
use crate::weights::WeightFile;

const SUPPORTED: &str = "vit (ViTModel), dinov2 (Dinov2Model), dinov2_with_registers (Dinov2WithRegistersModel)";

fn bad(what: impl std::fmt::Display) -> Error {
    Error::Weights(what.to_string())
}

/// The config fields the converter reads, with the HF config classes' defaults.
struct HfConfig {
    model_type: String,
    hidden: usize,
    layers: usize,
    heads: usize,
    intermediate: usize,
    image_size: usize,
    patch: usize,
    eps: f32,
    qkv_bias: bool,
    registers: usize,
    hidden_act: HiddenAct,
}

/// A whole number, or a square pair `[n, n]` (HF allows both for image and patch sizes).
fn side(v: &Value, field: &str) -> Result<usize> {
    let n = |v: &Value| v.as_u64().filter(|&n| n > 0).map(|n| n as usize);
    match v {
        Value::Array(a) if a.len() == 2 => match (n(&a[0]), n(&a[1])) {
            (Some(x), Some(y)) if x == y => Ok(x),
            (Some(_), Some(_)) => Err(bad(format!("config.json: non-square \"{field}\" {v} is not supported"))),
            _ => Err(bad(format!("config.json: \"{field}\" must hold whole numbers ≥ 1, got {v}"))),
        },
        _ => n(v).ok_or_else(|| bad(format!("config.json: \"{field}\" must be a whole number ≥ 1, got {v}"))),
    }
}

impl HfConfig {
    fn parse(text: &str) -> Result<HfConfig> {
        let c: Value = serde_json::from_str(text).map_err(|e| bad(format!("config.json is not valid JSON: {e}")))?;
        if !c.is_object() {
            return Err(bad("config.json is not a JSON object"));
        }
        let model_type = c.get("model_type").and_then(Value::as_str).ok_or_else(|| bad(format!("config.json has no \"model_type\"; supported: {SUPPORTED}")))?;
        let dinov2 = match model_type {
            "vit" => false,
            "dinov2" | "dinov2_with_registers" => true,
            other => return Err(bad(format!("model_type \"{other}\" is not supported for images; supported: {SUPPORTED}"))),
        };
        let whole = |field: &str, default: usize| -> Result<usize> {
            match c.get(field) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => v.as_u64().filter(|&n| n > 0).map(|n| n as usize).ok_or_else(|| bad(format!("config.json: \"{field}\" must be a whole number ≥ 1, got {v}"))),
            }
        };
        let sized = |field: &str, default: usize| c.get(field).map_or(Ok(default), |v| side(v, field));
        let flag = |field: &str, default: bool| c.get(field).and_then(Value::as_bool).unwrap_or(default);
        let hidden = whole("hidden_size", 768)?;
        let intermediate = if dinov2 {
            let ratio = c.get("mlp_ratio").map_or(Some(4.0), Value::as_f64).filter(|r| *r > 0.0).ok_or_else(|| bad("config.json: \"mlp_ratio\" must be a positive number"))?;
            (hidden as f64 * ratio) as usize
        } else {
            whole("intermediate_size", 3072)?
        };
        if dinov2 && flag("use_swiglu_ffn", false) {
            return Err(bad("config.json: \"use_swiglu_ffn\": true (the SwiGLU feed-forward of DINOv2 giant) is not supported; only the GELU MLP is"));
        }
        let hidden_act = HiddenAct::from_config(c.get("hidden_act")).map_err(|e| bad(format!("config.json: {e}")))?;
        let channels = whole("num_channels", 3)?;
        if channels != 3 {
            return Err(bad(format!("config.json: \"num_channels\" {channels} is not supported; images are RGB (3)")));
        }
        let eps = c.get("layer_norm_eps").map_or(Some(if dinov2 { 1e-6 } else { 1e-12 }), Value::as_f64).filter(|e| *e > 0.0 && e.is_finite());
        Ok(HfConfig {
            model_type: model_type.into(),
            hidden,
            layers: whole("num_hidden_layers", 12)?,
            heads: whole("num_attention_heads", 12)?,
            intermediate,
            image_size: sized("image_size", 224)?,
            patch: sized("patch_size", if dinov2 { 14 } else { 16 })?,
            eps: eps.ok_or_else(|| bad("config.json: \"layer_norm_eps\" must be a positive number"))? as f32,
            qkv_bias: flag("qkv_bias", true),
            hidden_act,
            registers: if model_type == "dinov2_with_registers" { c.get("num_register_tokens").map_or(Ok(4), |v| v.as_u64().map(|n| n as usize).ok_or_else(|| bad("config.json: \"num_register_tokens\" must be a whole number")))? } else { 0 },
        })
    }
}

/// Image side and normalization from `preprocessor_config.json`, where the folder has one: the
/// crop size (the image the model sees), else the resize size; `image_mean`/`image_std`.
fn preprocessing(text: Option<&str>, image_size: usize) -> Result<(usize, [f32; 3], [f32; 3])> {
    let Some(text) = text else { return Ok((image_size, vision::MEAN, vision::STD)) };
    let p: Value = serde_json::from_str(text).map_err(|e| bad(format!("preprocessor_config.json is not valid JSON: {e}")))?;
    let size_of = |v: Option<&Value>| -> Option<usize> {
        let v = v?;
        let n = v.as_u64().or_else(|| ["height", "shortest_edge"].iter().find_map(|k| v.get(k)?.as_u64()))?;
        (n > 0).then_some(n as usize)
    };
    let do_crop = p.get("do_center_crop").and_then(Value::as_bool).unwrap_or(true);
    let size = (if do_crop { size_of(p.get("crop_size")) } else { None }).or_else(|| size_of(p.get("size"))).unwrap_or(image_size);
    let triple = |field: &str, default: [f32; 3]| -> Result<[f32; 3]> {
        match p.get(field) {
            None => Ok(default),
            Some(v) => v
                .as_array()
                .filter(|a| a.len() == 3)
                .and_then(|a| a.iter().map(|x| x.as_f64().map(|x| x as f32)).collect::<Option<Vec<_>>>())
                .map(|a| [a[0], a[1], a[2]])
                .ok_or_else(|| bad(format!("preprocessor_config.json: \"{field}\" must be three numbers, got {v}"))),
        }
    };
    if p.get("do_normalize").and_then(Value::as_bool) == Some(false) {
        return Ok((size, [0.0; 3], [1.0; 3]));
    }
    Ok((size, triple("image_mean", vision::MEAN)?, triple("image_std", vision::STD)?))
}

/// The tensors of one checkpoint under its prefix.
struct Tensors {
    file: WeightFile,
    prefix: String,
}

impl Tensors {
    fn name(&self, n: &str) -> String {
        format!("{}{n}", self.prefix)
    }
    fn get(&self, n: &str, shape: &[usize]) -> Result<Vec<f32>> {
        self.file.tensor(&self.name(n), shape)
    }
    fn has(&self, n: &str) -> bool {
        self.file.contains(&self.name(n))
    }
    /// A PyTorch linear `n` ([out, in] weight, [out] bias) as ([in, out], [out]); a missing bias
    /// is zeros when `bias` is false.
    fn linear(&self, n: &str, inp: usize, out: usize, bias: bool) -> Result<(Vec<f32>, Vec<f32>)> {
        let w = transpose(&self.get(&format!("{n}.weight"), &[out, inp])?, out, inp);
        let b = if bias || self.has(&format!("{n}.bias")) { self.get(&format!("{n}.bias"), &[out])? } else { vec![0.0; out] };
        Ok((w, b))
    }
    fn norm(&self, n: &str, d: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        Ok((self.get(&format!("{n}.weight"), &[d])?, self.get(&format!("{n}.bias"), &[d])?))
    }
}

/// [rows, cols] → [cols, rows]
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}

/// The files of a folder the converter reads (the caller reads only these).
pub const FILES: [&str; 3] = ["config.json", "model.safetensors", "preprocessor_config.json"];

/// A Hugging Face image-encoder folder (`config.json`, `model.safetensors`, optionally
/// `preprocessor_config.json`) → weights the DINOv2 model runs.
pub fn from_files(mut files: ModelFiles) -> Result<Dinov2Weights> {
    let config = files.require_text("config.json", "the model's architecture and sizes")?.to_string();
    let preprocessor = files.text("preprocessor_config.json")?.map(str::to_string);
    if !files.has("model.safetensors") && files.was_offered("pytorch_model.bin") {
        return Err(bad("the folder has pytorch_model.bin but no model.safetensors: only safetensors weights are read (save the model with save_pretrained, which writes model.safetensors)"));
    }
    let weights = files.take("model.safetensors", "the weights; sharded checkpoints are not supported")?;
    convert(&config, weights, preprocessor.as_deref())
}

/// `config.json` text, `model.safetensors` bytes and optional `preprocessor_config.json` text →
/// weights the DINOv2 model runs (no saliency decoder).
pub fn convert(config_json: &str, safetensors: Vec<u8>, preprocessor_json: Option<&str>) -> Result<Dinov2Weights> {
    let hf = HfConfig::parse(config_json)?;
    let (d, m, p, heads) = (hf.hidden, hf.intermediate, hf.patch, hf.heads);
    if d % heads != 0 {
        return Err(bad(format!("config.json: hidden_size {d} is not a multiple of num_attention_heads {heads}")));
    }
    let (image_size, mean, std) = preprocessing(preprocessor_json, hf.image_size)?;
    if image_size < p {
        return Err(bad(format!("the image size {image_size} is smaller than one {p}-pixel patch")));
    }
    if std.iter().any(|s| *s <= 0.0 || !s.is_finite()) || mean.iter().any(|v| !v.is_finite()) {
        return Err(bad("preprocessor_config.json: \"image_std\" must be positive and \"image_mean\" finite"));
    }
    // The largest input (a square image at image_size) must give maps the page can hold: say so
    // now rather than at the first image.
    let side = (image_size / p) as u128;
    let tokens = 1 + side * side + hf.registers as u128;
    if hf.layers as u128 * heads as u128 * tokens * tokens > MAX_MAP_VALUES as u128 {
        return Err(bad(format!(
            "image size {image_size} with {p}-pixel patches gives up to {tokens} tokens: {} layers × {heads} heads of {tokens}² attention weights are more than the page holds (at most {MAX_MAP_VALUES}); give preprocessor_config.json a smaller crop_size",
            hf.layers
        )));
    }
    let file = WeightFile::parse(safetensors).map_err(|e| bad(format!("model.safetensors: {e}")))?;
    let names = file.names();
    let prefix = names
        .iter()
        .find_map(|n| n.strip_suffix("embeddings.cls_token"))
        .ok_or_else(|| bad(format!("model.safetensors has no \"embeddings.cls_token\": not a {} checkpoint", hf.model_type)))?
        .to_string();
    let t = Tensors { file, prefix };
    let dinov2 = hf.model_type != "vit";
    if dinov2 && t.has("encoder.layer.0.mlp.weights_in.weight") {
        return Err(bad("model.safetensors holds a SwiGLU feed-forward (mlp.weights_in): not supported"));
    }

    let pos_shape = t.file.shape(&t.name("embeddings.position_embeddings"))?.to_vec();
    let positions = match pos_shape[..] {
        [1, n, dd] if dd == d && n > 1 => n - 1,
        _ => return Err(bad(format!("tensor \"{}embeddings.position_embeddings\" has shape {pos_shape:?}, expected [1, 1 + grid², {d}]", t.prefix))),
    };
    let grid = (positions as f64).sqrt().round() as usize;
    if grid * grid != positions {
        return Err(bad(format!("the position embeddings hold {positions} patch positions, not a square grid")));
    }
    let embeddings = EmbeddingWeights {
        cls_token: t.get("embeddings.cls_token", &[1, 1, d])?,
        position_embeddings: t.get("embeddings.position_embeddings", &[1, 1 + positions, d])?,
        patch_weight: transpose(&t.get("embeddings.patch_embeddings.projection.weight", &[d, 3, p, p])?, d, 3 * p * p),
        patch_bias: t.get("embeddings.patch_embeddings.projection.bias", &[d])?,
        register_tokens: match hf.registers {
            0 => Vec::new(),
            r => t.get("embeddings.register_tokens", &[1, r, d])?,
        },
    };
    let layers = (0..hf.layers)
        .map(|n| {
            let l = |s: &str| format!("encoder.layer.{n}.{s}");
            // Checkpoints carry attention.attention.{query,key,value} and attention.output.dense;
            // transformers ≥ 5 names them attention.{q,k,v,o}_proj in memory, and a state dict
            // saved from there may too.
            let renamed = !t.has(&l("attention.attention.query.weight")) && t.has(&l("attention.q_proj.weight"));
            let a = |old: &str, new: &str| l(if renamed { new } else { old });
            let (q, qb) = t.linear(&a("attention.attention.query", "attention.q_proj"), d, d, hf.qkv_bias)?;
            let (k, kb) = t.linear(&a("attention.attention.key", "attention.k_proj"), d, d, hf.qkv_bias)?;
            let (v, vb) = t.linear(&a("attention.attention.value", "attention.v_proj"), d, d, hf.qkv_bias)?;
            // [D, 3D]: each input row holds its q | k | v columns.
            let qkv_weight = (0..d).flat_map(|r| [&q, &k, &v].into_iter().flat_map(move |w| w[r * d..(r + 1) * d].iter().copied())).collect();
            let (out_weight, out_bias) = t.linear(&a("attention.output.dense", "attention.o_proj"), d, d, true)?;
            let (fc1, fc2, norms) = if dinov2 {
                (t.linear(&l("mlp.fc1"), d, m, true)?, t.linear(&l("mlp.fc2"), m, d, true)?, (t.norm(&l("norm1"), d)?, t.norm(&l("norm2"), d)?))
            } else {
                (t.linear(&l("intermediate.dense"), d, m, true)?, t.linear(&l("output.dense"), m, d, true)?, (t.norm(&l("layernorm_before"), d)?, t.norm(&l("layernorm_after"), d)?))
            };
            let scale = |s: &str| dinov2.then(|| t.get(&l(s), &[d])).transpose();
            Ok(LayerWeights {
                norm1: norms.0,
                qkv_weight,
                qkv_bias: [qb, kb, vb].concat(),
                out_weight,
                out_bias,
                layer_scale1: scale("layer_scale1.lambda1")?,
                norm2: norms.1,
                fc1_weight: fc1.0,
                fc1_bias: fc1.1,
                fc2_weight: fc2.0,
                fc2_bias: fc2.1,
                layer_scale2: scale("layer_scale2.lambda1")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let layernorm = t.norm("layernorm", d)?;
    if t.has(&format!("encoder.layer.{}.norm1.weight", hf.layers)) || t.has(&format!("encoder.layer.{}.layernorm_before.weight", hf.layers)) {
        return Err(bad(format!("model.safetensors holds more layers than config.json's num_hidden_layers ({}): the config does not belong to these weights", hf.layers)));
    }
    let config = Dinov2Config {
        hidden: d,
        layers: hf.layers,
        heads,
        mlp: m,
        patch: p,
        grid,
        eps: hf.eps,
        pos_cubic_a: -0.75,
        decoder: None,
        variant: Variant {
            model_type: hf.model_type.clone(),
            registers: hf.registers,
            layer_scale: dinov2,
            image_size,
            pos_antialias: hf.model_type == "dinov2_with_registers",
            mean,
            std,
            hidden_act: hf.hidden_act,
        },
    };
    config.validate()?;
    Ok(Dinov2Weights { config, embeddings, layers, layernorm, decoder: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_the_field() {
        let msg = |c: &str| match HfConfig::parse(c) {
            Err(Error::Weights(m)) => m,
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("{c} parsed"),
        };
        assert!(msg("[]").contains("not a JSON object"));
        assert!(msg("{").contains("not valid JSON"));
        assert!(msg("{}").contains("model_type"));
        assert!(msg(r#"{"model_type":"bert"}"#).contains("\"bert\" is not supported"));
        assert!(msg(r#"{"model_type":"dinov2","use_swiglu_ffn":true}"#).contains("SwiGLU"));
        assert!(msg(r#"{"model_type":"vit","hidden_act":"relu"}"#).contains("hidden_act \"relu\" is not supported (supported: \"gelu\""));
        assert_eq!(HfConfig::parse(r#"{"model_type":"dinov2","hidden_act":"gelu_pytorch_tanh"}"#).unwrap().hidden_act, HiddenAct::GeluTanh);
        assert!(msg(r#"{"model_type":"vit","num_channels":1}"#).contains("num_channels"));
        assert!(msg(r#"{"model_type":"vit","patch_size":[8,16]}"#).contains("non-square"));
        assert!(msg(r#"{"model_type":"vit","hidden_size":-4}"#).contains("hidden_size"));
        let c = HfConfig::parse(r#"{"model_type":"dinov2_with_registers","hidden_size":48,"mlp_ratio":2.5,"patch_size":[8,8]}"#).unwrap();
        assert_eq!((c.intermediate, c.patch, c.registers, c.eps), (120, 8, 4, 1e-6));
    }

    #[test]
    fn preprocessor_config_sets_size_and_normalization() {
        let (s, m, sd) = preprocessing(Some(r#"{"crop_size":{"height":224,"width":224},"size":{"shortest_edge":256},"image_mean":[0.5,0.5,0.5],"image_std":[0.5,0.5,0.5]}"#), 518).unwrap();
        assert_eq!((s, m, sd), (224, [0.5; 3], [0.5; 3]));
        assert_eq!(preprocessing(Some(r#"{"size":{"height":384,"width":384},"do_center_crop":false}"#), 224).unwrap().0, 384);
        assert_eq!(preprocessing(None, 96).unwrap(), (96, vision::MEAN, vision::STD));
        assert!(matches!(preprocessing(Some(r#"{"image_mean":[1,2]}"#), 96), Err(Error::Weights(m)) if m.contains("image_mean")));
    }
}
