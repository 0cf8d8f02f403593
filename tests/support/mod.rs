//! Shared by the native test binaries (each declares `mod support;`).
#![allow(dead_code)]

pub mod counting;

use attention_playground::gpu::GpuBackend;
use attention_playground::models::bert::{BertConfig, BertWeights, EmbeddingWeights, LayerNormWeights, LayerWeights, LinearWeights};
use attention_playground::models::dinov2::{DecoderConfig, Dinov2Config};
use attention_playground::weights::StoreAs;

/// The native GPU backend, or `None` after a loud message where no Vulkan adapter exists
/// (CI installs Mesa's software one, so there every GPU test runs).
pub fn gpu() -> Option<GpuBackend> {
    match pollster::block_on(GpuBackend::new()) {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("\n!!!! SKIPPING GPU TEST: {e} (install mesa-vulkan-drivers) !!!!\n");
            None
        }
    }
}

/// The bytes of a converted model under `www/models/` (made by `make build`). Outside CI a missing
/// file skips the test loudly; in CI (`CI` set) it fails.
pub fn model_file(path: &str, what: &str) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("\n!!!! SKIPPING {what} PARITY: {path}: {e} (run `make build`) !!!!\n");
            None
        }
        Err(e) => panic!("{path}: {e} (run `make build`: it fetches and converts the {what} weights)"),
    }
}

/// `www/models/<file>` for `key` of `www/models/manifest.json` (model file names carry a content
/// hash, so only the manifest knows them). A missing manifest or key gives a path that names the
/// problem, for `model_file`'s message.
pub fn manifest_path(key: &str) -> String {
    let manifest = std::fs::read_to_string("www/models/manifest.json").ok().and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok());
    match manifest.as_ref().and_then(|m| m.get(key)).and_then(|f| f.as_str()) {
        Some(file) => format!("www/models/{file}"),
        None => format!("www/models/manifest.json[\"{key}\"]"),
    }
}

/// A one-layer BERT small enough to mutate thousands of times, as our web file.
pub fn tiny_bert(store: StoreAs) -> Vec<u8> {
    let (h, inter, vocab, pos) = (4, 8, 6, 10);
    let mut seed = 7u32;
    let mut v = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| {
                seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    };
    let mut norm = || LayerNormWeights { weight: v(h), bias: v(h) };
    let norms = [norm(), norm(), norm()];
    let mut linear = |i: usize, o: usize| LinearWeights { weight: v(i * o), bias: v(o) };
    let layer = LayerWeights {
        qkv: linear(h, 3 * h),
        attention_output: linear(h, h),
        attention_norm: norms[1].clone(),
        intermediate: linear(h, inter),
        output: linear(inter, h),
        output_norm: norms[2].clone(),
    };
    let config = BertConfig { vocab_size: vocab, hidden: h, layers: 1, heads: 2, intermediate: inter, max_positions: pos, type_vocab: 2, layer_norm_eps: 1e-12, hidden_act: Default::default(), name: None };
    let v2 = |n: usize| (0..n).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<f32>>();
    let embeddings = EmbeddingWeights { word: v2(vocab * h), position: v2(pos * h), token_type: v2(2 * h), layer_norm: norms[0].clone() };
    let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"].map(String::from).to_vec();
    BertWeights { config, vocab, normalization: Default::default(), embeddings, layers: vec![layer] }.to_web(store).unwrap()
}

/// A two-layer DINOv2 with 14-pixel patches and a 5 × 5 position grid (so any real image needs
/// interpolated positions), with a saliency decoder of the given channels.
pub fn tiny_dinov2_config(channels: Vec<usize>) -> Dinov2Config {
    Dinov2Config {
        hidden: 16,
        layers: 2,
        heads: 2,
        mlp: 32,
        patch: 14,
        grid: 5,
        eps: 1e-6,
        pos_cubic_a: -0.75,
        decoder: Some(DecoderConfig { channels, bn_eps: 1e-5 }),
        variant: Default::default(),
    }
}
