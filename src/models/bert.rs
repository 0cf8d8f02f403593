//! BERT encoder (all-MiniLM-L6-v2), generic over the backend: embeddings, post-LN layers of
//! self-attention + GELU feed-forward, then mean pooling and L2 normalization (sentence
//! embedding). Structs mirror HF's module tree; the weights live on the backend, uploaded once.
//!
//! Embedding gather and pooling run on the host (a gather of `seq` rows, and a mean over them);
//! everything in between is backend ops, read back once per forward.
//!
//! Top to bottom: the config, the host copy of the weights (read from a Hugging Face checkpoint
//! for the converter, or from our web file for the page, checked tensor by tensor), the modules on
//! the backend with `load` and `forward`, and the playground `Model` with its tokenizer.
//!
//! Web file layout (names mirror HF's module tree; linear weights are stored input-major
//! [in, out] so the backends compute `x · w`; q, k, v are fused into one projection):
//!
//! ```text
//! embeddings.word_embeddings.weight         [vocab, hidden]
//! embeddings.position_embeddings.weight     [max_positions, hidden]
//! embeddings.token_type_embeddings.weight   [type_vocab, hidden]
//! embeddings.LayerNorm.{weight,bias}        [hidden]
//! encoder.layer.N.attention.self.qkv.weight [hidden, 3·hidden]   (q | k | v columns)
//! encoder.layer.N.attention.self.qkv.bias   [3·hidden]
//! encoder.layer.N.attention.output.dense.{weight [hidden, hidden], bias}
//! encoder.layer.N.attention.output.LayerNorm.{weight,bias}
//! encoder.layer.N.intermediate.dense.{weight [hidden, intermediate], bias}
//! encoder.layer.N.output.dense.{weight [intermediate, hidden], bias}
//! encoder.layer.N.output.LayerNorm.{weight,bias}
//! ```
//!
//! Metadata: `config` (BertConfig as JSON) and `vocab` (the WordPiece vocabulary, one token a
//! line, id = line number).

use crate::backend::Backend;
use crate::ensure;
use crate::error::{Error, Result};
use crate::models::blocks::{LayerNorm, Mlp, Residual, SelfAttention};
use crate::playground::Model;
pub use crate::models::hidden_act::HiddenAct;
use crate::text::normalize::Normalization;
use crate::text::{Encoding, Tokenizer, MAX_TOKENS};
use crate::weights::{StoreAs, WeightFile, WeightWriter};
use serde::{Deserialize, Serialize};

pub const ARCH: &str = "bert";

fn default_type_vocab() -> usize {
    2
}

fn default_layer_norm_eps() -> f32 {
    1e-12
}

/// The architecture numbers the model needs (HF `config.json` names in `serde` aliases; where HF
/// has a default for a missing field, so does this).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    #[serde(alias = "hidden_size")]
    pub hidden: usize,
    #[serde(alias = "num_hidden_layers")]
    pub layers: usize,
    #[serde(alias = "num_attention_heads")]
    pub heads: usize,
    #[serde(alias = "intermediate_size")]
    pub intermediate: usize,
    #[serde(alias = "max_position_embeddings")]
    pub max_positions: usize,
    #[serde(alias = "type_vocab_size", default = "default_type_vocab")]
    pub type_vocab: usize,
    #[serde(default = "default_layer_norm_eps")]
    pub layer_norm_eps: f32,
    /// Left out of our web files when it is erf GELU, so MiniLM's file stays as it was.
    #[serde(default, skip_serializing_if = "HiddenAct::is_erf")]
    pub hidden_act: HiddenAct,
    /// HF's `_name_or_path` (where the model was loaded from when saved), shown as a name only.
    #[serde(default, rename = "_name_or_path", skip_serializing)]
    pub name: Option<String>,
}

/// (HF name, our name) of the config fields without a default.
const REQUIRED: [(&str, &str); 6] = [
    ("vocab_size", "vocab_size"),
    ("hidden_size", "hidden"),
    ("num_hidden_layers", "layers"),
    ("num_attention_heads", "heads"),
    ("intermediate_size", "intermediate"),
    ("max_position_embeddings", "max_positions"),
];

impl BertConfig {
    /// Parses a HF `config.json` (or our stored config) and checks what the model code assumes.
    pub fn from_json(json: &str) -> Result<BertConfig> {
        let v: serde_json::Value = serde_json::from_str(json).map_err(|e| Error::Weights(format!("config: not JSON ({e})")))?;
        if !v.is_object() {
            return Err(Error::Weights("config: not a JSON object".into()));
        }
        for (hf, ours) in REQUIRED {
            if v.get(hf).is_none() && v.get(ours).is_none() {
                return Err(Error::Weights(format!("config: no \"{hf}\" field")));
            }
        }
        HiddenAct::from_config(v.get("hidden_act")).map_err(|e| Error::Weights(format!("config: {e}")))?;
        let c: BertConfig = serde_json::from_value(v.clone()).map_err(|e| Error::Weights(format!("config: {e}")))?;
        if let Some(p) = v.get("position_embedding_type").and_then(|a| a.as_str()) {
            if p != "absolute" {
                return Err(Error::Weights(format!("config: position_embedding_type \"{p}\" is not supported (only \"absolute\")")));
            }
        }
        let positive = [c.vocab_size, c.hidden, c.layers, c.heads, c.intermediate, c.max_positions, c.type_vocab];
        if positive.contains(&0) {
            return Err(Error::Weights(format!("config: every size must be > 0, got {c:?}")));
        }
        if c.hidden % c.heads != 0 {
            return Err(Error::Weights(format!("config: hidden_size {} is not a multiple of num_attention_heads {}", c.hidden, c.heads)));
        }
        if !(c.layer_norm_eps.is_finite() && c.layer_norm_eps > 0.0) {
            return Err(Error::Weights(format!("config: layer_norm_eps must be > 0, got {}", c.layer_norm_eps)));
        }
        Ok(c)
    }

    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }
}

#[derive(Clone, Debug)]
pub struct LayerNormWeights {
    /// [hidden]
    pub weight: Vec<f32>,
    /// [hidden]
    pub bias: Vec<f32>,
}

/// A linear layer, input-major: `y = x · weight + bias`.
#[derive(Clone, Debug)]
pub struct LinearWeights {
    /// [in, out]
    pub weight: Vec<f32>,
    /// [out]
    pub bias: Vec<f32>,
}

#[derive(Clone, Debug)]
pub struct EmbeddingWeights {
    /// [vocab, hidden]
    pub word: Vec<f32>,
    /// [max_positions, hidden]
    pub position: Vec<f32>,
    /// [type_vocab, hidden]
    pub token_type: Vec<f32>,
    pub layer_norm: LayerNormWeights,
}

#[derive(Clone, Debug)]
pub struct LayerWeights {
    /// [hidden, 3·hidden]: q, k, v side by side.
    pub qkv: LinearWeights,
    /// [hidden, hidden]
    pub attention_output: LinearWeights,
    pub attention_norm: LayerNormWeights,
    /// [hidden, intermediate]
    pub intermediate: LinearWeights,
    /// [intermediate, hidden]
    pub output: LinearWeights,
    pub output_norm: LayerNormWeights,
}

#[derive(Clone, Debug)]
pub struct BertWeights {
    pub config: BertConfig,
    pub vocab: Vec<String>,
    /// How the tokenizer normalizes text before WordPiece (uncased unless the source said otherwise).
    pub normalization: Normalization,
    pub embeddings: EmbeddingWeights,
    pub layers: Vec<LayerWeights>,
}

/// Reads tensors by name from one file, in one of the two layouts.
pub(crate) struct Reader<'a> {
    pub(crate) file: &'a WeightFile,
    /// HF checkpoints store linear weights [out, in] and q, k, v apart.
    pub(crate) hf: bool,
    /// Before every name: "" (HF `BertModel`), or e.g. "bert." (a model with a head saved whole).
    pub(crate) prefix: String,
}

impl Reader<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        self.file.tensor(&format!("{}{name}", self.prefix), shape)
    }

    fn contains(&self, name: &str) -> bool {
        self.file.contains(&format!("{}{name}", self.prefix))
    }

    /// LayerNorm parameters, under their names or the `gamma`/`beta` of checkpoints converted from
    /// the original TensorFlow BERT.
    fn layer_norm(&self, prefix: &str, dim: usize) -> Result<LayerNormWeights> {
        let (w, b) = match self.contains(&format!("{prefix}.weight")) || !self.contains(&format!("{prefix}.gamma")) {
            true => ("weight", "bias"),
            false => ("gamma", "beta"),
        };
        Ok(LayerNormWeights { weight: self.get(&format!("{prefix}.{w}"), &[dim])?, bias: self.get(&format!("{prefix}.{b}"), &[dim])? })
    }

    fn linear(&self, prefix: &str, inp: usize, out: usize) -> Result<LinearWeights> {
        let weight = if self.hf {
            transpose(&self.get(&format!("{prefix}.weight"), &[out, inp])?, out, inp)
        } else {
            self.get(&format!("{prefix}.weight"), &[inp, out])?
        };
        Ok(LinearWeights { weight, bias: self.get(&format!("{prefix}.bias"), &[out])? })
    }

    fn qkv(&self, prefix: &str, h: usize) -> Result<LinearWeights> {
        if !self.hf {
            return self.linear(&format!("{prefix}.qkv"), h, 3 * h);
        }
        let parts = ["query", "key", "value"].map(|p| self.linear(&format!("{prefix}.{p}"), h, h));
        let [q, k, v] = parts;
        let (q, k, v) = (q?, k?, v?);
        let mut weight = Vec::with_capacity(3 * h * h);
        for r in 0..h {
            for part in [&q, &k, &v] {
                weight.extend_from_slice(&part.weight[r * h..(r + 1) * h]);
            }
        }
        let bias = [q.bias, k.bias, v.bias].concat();
        Ok(LinearWeights { weight, bias })
    }

    pub(crate) fn model(&self, config: BertConfig, vocab: Vec<String>, normalization: Normalization) -> Result<BertWeights> {
        let c = &config;
        let h = c.hidden;
        if vocab.len() != c.vocab_size {
            return Err(Error::Weights(format!("the vocabulary has {} tokens but the config says vocab_size = {}", vocab.len(), c.vocab_size)));
        }
        let embeddings = EmbeddingWeights {
            word: self.get("embeddings.word_embeddings.weight", &[c.vocab_size, h])?,
            position: self.get("embeddings.position_embeddings.weight", &[c.max_positions, h])?,
            token_type: self.get("embeddings.token_type_embeddings.weight", &[c.type_vocab, h])?,
            layer_norm: self.layer_norm("embeddings.LayerNorm", h)?,
        };
        let layers = (0..c.layers)
            .map(|i| {
                let p = format!("encoder.layer.{i}");
                Ok(LayerWeights {
                    qkv: self.qkv(&format!("{p}.attention.self"), h)?,
                    attention_output: self.linear(&format!("{p}.attention.output.dense"), h, h)?,
                    attention_norm: self.layer_norm(&format!("{p}.attention.output.LayerNorm"), h)?,
                    intermediate: self.linear(&format!("{p}.intermediate.dense"), h, c.intermediate)?,
                    output: self.linear(&format!("{p}.output.dense"), c.intermediate, h)?,
                    output_norm: self.layer_norm(&format!("{p}.output.LayerNorm"), h)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let extra = format!("encoder.layer.{}.attention.output.dense.weight", c.layers);
        if self.contains(&extra) {
            return Err(Error::Weights(format!("the file has more layers than the config's {} (found \"{}{extra}\")", c.layers, self.prefix)));
        }
        Ok(BertWeights { config, vocab, normalization, embeddings, layers })
    }
}

/// [rows, cols] → [cols, rows]
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c];
        }
    }
    t
}

pub(crate) fn parse_vocab(vocab_txt: &str) -> Vec<String> {
    vocab_txt.lines().map(|l| l.trim_end_matches('\r').to_string()).collect()
}

impl BertWeights {
    /// From a Hugging Face BERT checkpoint: `model.safetensors`, `config.json`, `vocab.txt`.
    pub fn from_hf(safetensors: Vec<u8>, config_json: &str, vocab_txt: &str) -> Result<BertWeights> {
        let config = BertConfig::from_json(config_json)?;
        let file = WeightFile::parse(safetensors)?;
        Reader { file: &file, hf: true, prefix: String::new() }.model(config, parse_vocab(vocab_txt), Normalization::UNCASED)
    }

    /// From our web file.
    pub fn from_web(bytes: Vec<u8>) -> Result<BertWeights> {
        let file = WeightFile::parse_web(bytes, ARCH)?;
        let config = BertConfig::from_json(file.meta_value("config").ok_or_else(|| Error::Weights("no \"config\" in the file's metadata".into()))?)?;
        let vocab = parse_vocab(file.meta_value("vocab").ok_or_else(|| Error::Weights("no \"vocab\" in the file's metadata".into()))?);
        let normalization = match file.meta_value("normalization") {
            None => Normalization::UNCASED,
            Some(n) => serde_json::from_str(n).map_err(|e| Error::Weights(format!("metadata \"normalization\": {e}")))?,
        };
        Reader { file: &file, hf: false, prefix: String::new() }.model(config, vocab, normalization)
    }

    /// Serializes into the web format.
    pub fn to_web(&self, store: StoreAs) -> Result<Vec<u8>> {
        let c = &self.config;
        let h = c.hidden;
        let mut w = WeightWriter::new(ARCH, store);
        w.meta("config", serde_json::to_string(c).map_err(|e| Error::Weights(e.to_string()))?);
        w.meta("vocab", self.vocab.join("\n"));
        if self.normalization != Normalization::UNCASED {
            w.meta("normalization", serde_json::to_string(&self.normalization).map_err(|e| Error::Weights(e.to_string()))?);
        }
        let e = &self.embeddings;
        w.tensor("embeddings.word_embeddings.weight", &[c.vocab_size, h], &e.word)?;
        w.tensor("embeddings.position_embeddings.weight", &[c.max_positions, h], &e.position)?;
        w.tensor("embeddings.token_type_embeddings.weight", &[c.type_vocab, h], &e.token_type)?;
        let norm = |w: &mut WeightWriter, p: &str, n: &LayerNormWeights| -> Result<()> {
            w.tensor(&format!("{p}.weight"), &[h], &n.weight)?;
            w.tensor(&format!("{p}.bias"), &[h], &n.bias)?;
            Ok(())
        };
        let linear = |w: &mut WeightWriter, p: &str, l: &LinearWeights, inp: usize, out: usize| -> Result<()> {
            w.tensor(&format!("{p}.weight"), &[inp, out], &l.weight)?;
            w.tensor(&format!("{p}.bias"), &[out], &l.bias)?;
            Ok(())
        };
        norm(&mut w, "embeddings.LayerNorm", &e.layer_norm)?;
        for (i, l) in self.layers.iter().enumerate() {
            let p = format!("encoder.layer.{i}");
            linear(&mut w, &format!("{p}.attention.self.qkv"), &l.qkv, h, 3 * h)?;
            linear(&mut w, &format!("{p}.attention.output.dense"), &l.attention_output, h, h)?;
            norm(&mut w, &format!("{p}.attention.output.LayerNorm"), &l.attention_norm)?;
            linear(&mut w, &format!("{p}.intermediate.dense"), &l.intermediate, h, c.intermediate)?;
            linear(&mut w, &format!("{p}.output.dense"), &l.output, c.intermediate, h)?;
            norm(&mut w, &format!("{p}.output.LayerNorm"), &l.output_norm)?;
        }
        w.to_bytes()
    }
}

fn pair(w: &LinearWeights) -> (&[f32], &[f32]) {
    (&w.weight, &w.bias)
}

fn layer_norm<B: Backend>(b: &mut B, w: &LayerNormWeights, eps: f32) -> Result<LayerNorm<B>> {
    LayerNorm::load(b, &w.weight, &w.bias, eps)
}

/// encoder.layer.N, post-LN: `y = LN(x + attention(x))`, then `LN(y + mlp(y))`.
struct BertLayer<B: Backend> {
    /// attention.self.{query,key,value} fused, attention.output.dense
    attention: SelfAttention<B>,
    /// attention.output.LayerNorm
    attention_norm: LayerNorm<B>,
    /// intermediate.dense (GELU), output.dense
    mlp: Mlp<B>,
    /// output.LayerNorm
    output_norm: LayerNorm<B>,
}

/// The result of one forward pass, on the host.
#[derive(Clone, Debug)]
pub struct BertOutput {
    pub seq: usize,
    /// Per layer, [heads, seq, seq] (kept apart: joining 75 MB of maps at 512 tokens is a copy
    /// the caller can fold into its own).
    pub attention: Vec<Vec<f32>>,
    /// [hidden]: mean-pooled, L2-normalized last hidden state.
    pub embedding: Vec<f32>,
    /// The head asked for with [`CaptureAt`], if any.
    pub capture: Option<HeadCapture>,
    /// Per layer, [heads, seq]: the entropy (nats) of each attention row, when asked for.
    pub entropy: Option<Vec<Vec<f32>>>,
}

/// Which head of which layer a forward keeps the projections of (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaptureAt {
    pub layer: usize,
    pub head: usize,
}

/// One head's inputs to attention, as the layer computed them: the query, key and value
/// projections including their biases, before any scaling, each [seq, head_dim]; and `x`, the
/// layer's input hidden state [seq, hidden] that all three were projected from.
#[derive(Clone, Debug)]
pub struct HeadCapture {
    pub at: CaptureAt,
    pub head_dim: usize,
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
    pub x: Vec<f32>,
}

impl HeadCapture {
    /// Cuts head `at.head` out of a fused [seq, 3·hidden] projection (q | k | v, heads side by
    /// side in each).
    pub(crate) fn from_fused(at: CaptureAt, qkv: &[f32], x: Vec<f32>, seq: usize, hidden: usize, head_dim: usize) -> HeadCapture {
        let part = |which: usize| -> Vec<f32> {
            let start = which * hidden + at.head * head_dim;
            (0..seq).flat_map(|t| &qkv[t * 3 * hidden + start..][..head_dim]).copied().collect()
        };
        HeadCapture { at, head_dim, q: part(0), k: part(1), v: part(2), x }
    }
}

pub struct BertModel<B: Backend> {
    pub config: BertConfig,
    /// Host copies for the gather: [vocab, hidden], [max_positions, hidden], [type_vocab, hidden].
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    embeddings_norm: LayerNorm<B>,
    layers: Vec<BertLayer<B>>,
}

impl<B: Backend> BertModel<B> {
    pub fn load(b: &mut B, w: &BertWeights) -> Result<Self> {
        let c = &w.config;
        let (h, eps) = (c.hidden, c.layer_norm_eps);
        let layers = w
            .layers
            .iter()
            .map(|l| {
                Ok(BertLayer {
                    attention: SelfAttention::load(b, pair(&l.qkv), pair(&l.attention_output), h, c.heads)?,
                    attention_norm: layer_norm(b, &l.attention_norm, eps)?,
                    mlp: Mlp::load(b, pair(&l.intermediate), pair(&l.output), h, c.intermediate)?.with_activation(c.hidden_act.activation()),
                    output_norm: layer_norm(b, &l.output_norm, eps)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(BertModel {
            config: c.clone(),
            word: w.embeddings.word.clone(),
            position: w.embeddings.position.clone(),
            token_type: w.embeddings.token_type.clone(),
            embeddings_norm: layer_norm(b, &w.embeddings.layer_norm, eps)?,
            layers,
        })
    }

    /// Runs the encoder on one sequence of token ids (with their segment ids).
    pub async fn forward(&self, b: &mut B, ids: &[u32], type_ids: &[u32]) -> Result<BertOutput> {
        self.forward_capturing(b, ids, type_ids, None).await
    }

    /// [`forward`](Self::forward), also keeping one head's q, k, v and its layer's input; they
    /// come back in the same single read as the maps.
    pub async fn forward_capturing(&self, b: &mut B, ids: &[u32], type_ids: &[u32], capture: Option<CaptureAt>) -> Result<BertOutput> {
        self.forward_with(b, ids, type_ids, capture, false).await
    }

    /// [`forward_capturing`](Self::forward_capturing), also returning each attention row's
    /// entropy when `stats` (computed by the attention kernels, read with the maps).
    pub async fn forward_with(&self, b: &mut B, ids: &[u32], type_ids: &[u32], capture: Option<CaptureAt>, stats: bool) -> Result<BertOutput> {
        let c = &self.config;
        if let Some(at) = capture {
            ensure!(at.layer < c.layers, "capture.layer must be at most {} (0-based; the model has {} layers), got {}", c.layers - 1, c.layers, at.layer);
            ensure!(at.head < c.heads, "capture.head must be at most {} (0-based; the model has {} heads), got {}", c.heads - 1, c.heads, at.head);
        }
        let (seq, h) = (ids.len(), c.hidden);
        ensure!(seq > 0, "no tokens to run");
        ensure!(seq <= c.max_positions, "{seq} tokens exceed the model's {} positions", c.max_positions);
        ensure!(type_ids.len() == seq, "{} token type ids for {seq} tokens", type_ids.len());
        // Embeddings (host gather): word + position + token type, [seq, hidden].
        let mut x = vec![0.0f32; seq * h];
        for (i, (&id, &ty)) in ids.iter().zip(type_ids).enumerate() {
            ensure!((id as usize) < c.vocab_size, "token id {id} is outside the vocabulary of {}", c.vocab_size);
            ensure!((ty as usize) < c.type_vocab, "token type {ty} is outside the model's {} types", c.type_vocab);
            let row = &mut x[i * h..(i + 1) * h];
            let (w, p, t) = (id as usize * h, i * h, ty as usize * h);
            for (j, v) in row.iter_mut().enumerate() {
                *v = self.word[w + j] + self.position[p + j] + self.token_type[t + j];
            }
        }
        let x = b.upload(&x)?;
        let mut x = self.embeddings_norm.forward(b, &x, seq)?;

        let mut maps = Vec::with_capacity(self.layers.len());
        let mut entropies = Vec::new(); // [heads, seq] per layer, with stats
        let mut kept = None; // (layer input x, its fused qkv) for the captured layer
        for (i, l) in self.layers.iter().enumerate() {
            let captured = capture.is_some_and(|at| at.layer == i);
            let (y, weights, qkv, entropy) = l.attention.forward_with_stats(b, &x, seq, Residual { x: &x, scale: None }, stats)?; // [seq, hidden], [heads, seq, seq]
            entropies.extend(entropy);
            let y = l.attention_norm.forward(b, &y, seq)?;
            let z = l.mlp.forward(b, &y, seq, Residual { x: &y, scale: None })?;
            let next = l.output_norm.forward(b, &z, seq)?;
            if captured {
                kept = Some((std::mem::replace(&mut x, next), qkv));
            } else {
                x = next;
            }
            maps.push(weights);
            b.checkpoint().await;
        }

        maps.push(x);
        let kept_len = kept.as_ref().map_or(0, |_| 2);
        if let Some((x_in, qkv)) = kept {
            maps.extend([x_in, qkv]);
        }
        let entropy_len = entropies.len();
        maps.extend(entropies);
        let mut out = b.read_owned(maps).await?;
        let entropy = stats.then(|| out.split_off(out.len() - entropy_len));
        let mut kept = out.split_off(out.len() - kept_len).into_iter();
        let capture = match (capture, kept.next(), kept.next()) {
            (Some(at), Some(x_in), Some(qkv)) => Some(HeadCapture::from_fused(at, &qkv, x_in, seq, h, c.head_dim())),
            _ => None,
        };
        let hidden = out.pop().expect("read returns one vector per tensor"); // [seq, hidden]
        let attention = out;
        // Mean pooling over the (unpadded) sequence, then L2 normalization.
        let mut embedding = vec![0.0f32; h];
        for row in hidden.chunks_exact(h) {
            embedding.iter_mut().zip(row).for_each(|(e, v)| *e += v);
        }
        let norm = embedding.iter().map(|v| (v / seq as f32).powi(2)).sum::<f32>().sqrt().max(1e-12);
        embedding.iter_mut().for_each(|v| *v = *v / seq as f32 / norm);
        Ok(BertOutput { seq, attention, embedding, capture, entropy })
    }
}

/// MiniLM (or any BERT-architecture encoder) as a playground holds it: the weights on the host, and the tokenizer of their
/// vocabulary that prepares its input.
pub struct MiniLm {
    pub weights: BertWeights,
    pub tokenizer: Tokenizer,
}

impl MiniLm {
    pub fn new(weights: BertWeights) -> Result<MiniLm> {
        let tokenizer = Tokenizer::with_normalization(weights.vocab.clone(), weights.normalization)?;
        Ok(MiniLm { weights, tokenizer })
    }

    /// At most this many tokens, specials included: the model's positions, and 512.
    pub fn max_tokens(&self) -> usize {
        self.weights.config.max_positions.min(MAX_TOKENS)
    }

    /// Text (and an optional second segment) → WordPiece tokens, cut to the model's length.
    pub fn encode(&self, text: &str, pair: Option<&str>) -> Encoding {
        self.tokenizer.encode_max(text, pair, self.max_tokens())
    }
}

/// What one MiniLM forward takes: the tokens, which head to capture, if any, and whether to
/// return each attention row's entropy.
pub struct TextInput {
    pub encoding: Encoding,
    pub capture: Option<CaptureAt>,
    pub stats: bool,
}

impl From<Encoding> for TextInput {
    fn from(encoding: Encoding) -> TextInput {
        TextInput { encoding, capture: None, stats: false }
    }
}

impl Model for MiniLm {
    type On<B: Backend> = BertModel<B>;
    type Input = TextInput;
    type Output = BertOutput;

    fn upload<B: Backend>(&self, b: &mut B) -> Result<BertModel<B>> {
        BertModel::load(b, &self.weights)
    }

    async fn forward<B: Backend>(&self, on: &mut BertModel<B>, b: &mut B, input: &TextInput) -> Result<BertOutput> {
        let enc = &input.encoding;
        on.forward_with(b, &enc.ids, &enc.type_ids, input.capture, input.stats).await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::weights::format::WeightWriter;

    /// A tiny random BERT as a HF checkpoint: (safetensors bytes, config.json, vocab.txt).
    pub fn tiny_hf(layers: usize) -> (Vec<u8>, String, String) {
        let (h, inter, vocab, pos) = (4, 8, 6, 10);
        let config = format!(
            r#"{{"vocab_size":{vocab},"hidden_size":{h},"num_hidden_layers":{layers},"num_attention_heads":2,"intermediate_size":{inter},"max_position_embeddings":{pos},"type_vocab_size":2,"layer_norm_eps":1e-12,"hidden_act":"gelu"}}"#
        );
        let mut seed = 1u32;
        let mut rnd = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                    (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
                })
                .collect()
        };
        let mut w = WeightWriter::new("pt", StoreAs::F32);
        w.tensor("embeddings.word_embeddings.weight", &[vocab, h], &rnd(vocab * h)).unwrap();
        w.tensor("embeddings.position_embeddings.weight", &[pos, h], &rnd(pos * h)).unwrap();
        w.tensor("embeddings.token_type_embeddings.weight", &[2, h], &rnd(2 * h)).unwrap();
        let mut add = |w: &mut WeightWriter, name: &str, shape: &[usize]| {
            let n = shape.iter().product();
            w.tensor(name, shape, &rnd(n)).unwrap();
        };
        add(&mut w, "embeddings.LayerNorm.weight", &[h]);
        add(&mut w, "embeddings.LayerNorm.bias", &[h]);
        for i in 0..layers {
            let p = format!("encoder.layer.{i}");
            for (m, o, n) in [
                ("attention.self.query", h, h),
                ("attention.self.key", h, h),
                ("attention.self.value", h, h),
                ("attention.output.dense", h, h),
                ("intermediate.dense", inter, h),
                ("output.dense", h, inter),
            ] {
                add(&mut w, &format!("{p}.{m}.weight"), &[o, n]);
                add(&mut w, &format!("{p}.{m}.bias"), &[o]);
            }
            for m in ["attention.output.LayerNorm", "output.LayerNorm"] {
                add(&mut w, &format!("{p}.{m}.weight"), &[h]);
                add(&mut w, &format!("{p}.{m}.bias"), &[h]);
            }
        }
        let vocab_txt = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a"].join("\n");
        (w.to_bytes().unwrap(), config, vocab_txt)
    }

    fn err(r: Result<BertWeights>) -> String {
        match r {
            Err(Error::Weights(m)) => m,
            Err(e) => panic!("expected a weights error, got {e:?}"),
            Ok(_) => panic!("expected an error"),
        }
    }

    #[test]
    fn hf_to_web_round_trip_fuses_and_transposes() {
        let (st, cfg, vocab) = tiny_hf(2);
        let hf = BertWeights::from_hf(st.clone(), &cfg, &vocab).unwrap();
        assert_eq!(hf.layers.len(), 2);
        // qkv row r = [query row r | key row r | value row r] of the transposed [in, out] weights.
        let src = WeightFile::parse(st).unwrap();
        let key = src.tensor("encoder.layer.1.attention.self.key.weight", &[4, 4]).unwrap();
        let qkv = &hf.layers[1].qkv.weight;
        for r in 0..4 {
            for c in 0..4 {
                assert_eq!(qkv[r * 12 + 4 + c], key[c * 4 + r]);
            }
        }
        let web = BertWeights::from_web(hf.to_web(StoreAs::F32).unwrap()).unwrap();
        assert_eq!(web.config, hf.config);
        assert_eq!(web.vocab, hf.vocab);
        assert_eq!(web.layers[1].qkv.weight, hf.layers[1].qkv.weight);
        assert_eq!(web.layers[0].output.weight, hf.layers[0].output.weight);
        assert_eq!(web.embeddings.word, hf.embeddings.word);
    }

    #[test]
    fn bad_sources_give_clear_errors() {
        let (st, cfg, vocab) = tiny_hf(2);
        let fewer_layers = cfg.replace("\"num_hidden_layers\":2", "\"num_hidden_layers\":1");
        assert!(err(BertWeights::from_hf(st.clone(), &fewer_layers, &vocab)).contains("more layers"));
        let more_layers = cfg.replace("\"num_hidden_layers\":2", "\"num_hidden_layers\":3");
        assert!(err(BertWeights::from_hf(st.clone(), &more_layers, &vocab)).contains("missing tensor \"encoder.layer.2.attention.self.query.weight\""));
        let wider = cfg.replace("\"intermediate_size\":8", "\"intermediate_size\":9");
        assert!(err(BertWeights::from_hf(st.clone(), &wider, &vocab)).contains("has shape [8, 4], expected [9, 4]"));
        assert!(err(BertWeights::from_hf(st.clone(), &cfg, "[PAD]\n[UNK]")).contains("vocab_size = 6"));
        assert!(err(BertWeights::from_hf(st.clone(), "{}", &vocab)).contains("config"));
        let relu = cfg.replace("\"gelu\"", "\"relu\"");
        assert!(err(BertWeights::from_hf(st.clone(), &relu, &vocab)).contains("hidden_act"));
        let odd_heads = cfg.replace("\"num_attention_heads\":2", "\"num_attention_heads\":3");
        assert!(err(BertWeights::from_hf(st.clone(), &odd_heads, &vocab)).contains("multiple"));
        assert!(err(BertWeights::from_hf(st[..st.len() / 2].to_vec(), &cfg, &vocab)).contains("truncated"));
        assert!(err(BertWeights::from_hf(b"not a checkpoint".to_vec(), &cfg, &vocab)).contains("safetensors"));
    }

    #[test]
    fn bad_web_files_give_clear_errors() {
        let (st, cfg, vocab) = tiny_hf(1);
        let web = BertWeights::from_hf(st.clone(), &cfg, &vocab).unwrap().to_web(StoreAs::F16).unwrap();
        assert!(BertWeights::from_web(web.clone()).is_ok());
        assert!(err(BertWeights::from_web(web[..web.len() - 10].to_vec())).contains("truncated"));
        // The test checkpoint is written by our writer with arch "pt": not a BERT web file.
        assert!(err(BertWeights::from_web(st)).contains("\"pt\" model"));
        let mut other = WeightWriter::new("dinov2", StoreAs::F32);
        other.tensor("x", &[1], &[0.0]).unwrap();
        assert!(err(BertWeights::from_web(other.to_bytes().unwrap())).contains("\"dinov2\""));
        let mut no_cfg = WeightWriter::new(ARCH, StoreAs::F32);
        no_cfg.tensor("x", &[1], &[0.0]).unwrap();
        assert!(err(BertWeights::from_web(no_cfg.to_bytes().unwrap())).contains("config"));
    }
}
