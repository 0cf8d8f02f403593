//! BERT encoder (all-MiniLM-L6-v2), generic over the backend: embeddings, post-LN layers of
//! self-attention + GELU feed-forward, then mean pooling and L2 normalization (sentence
//! embedding). Structs mirror HF's module tree; the weights live on the backend, uploaded once.
//!
//! Embedding gather and pooling run on the host (a gather of `seq` rows, and a mean over them);
//! everything in between is backend ops, read back once per forward.

use crate::attention::{AttentionDims, AttentionSpec};
use crate::backend::{Activation, AttentionArgs, Backend, Linear as LinearOp};
use crate::models::blocks::{LayerNorm, Linear};
use crate::ensure;
use crate::error::Result;
use crate::playground::Model;
use crate::text::{Encoding, Tokenizer};
use crate::weights::bert::{BertConfig, BertWeights, LayerNormWeights, LinearWeights};

fn linear<B: Backend>(b: &mut B, w: &LinearWeights, inp: usize, out: usize) -> Result<Linear<B::Tensor>> {
    Linear::load(b, &w.weight, Some(&w.bias), inp, out)
}

fn layer_norm<B: Backend>(b: &mut B, w: &LayerNormWeights, eps: f32) -> Result<LayerNorm<B::Tensor>> {
    LayerNorm::load(b, &w.weight, &w.bias, eps)
}

struct BertLayer<T> {
    /// attention.self.{query,key,value} fused: [hidden, 3·hidden]
    qkv: Linear<T>,
    /// attention.output.dense
    attention_output: Linear<T>,
    attention_norm: LayerNorm<T>,
    /// intermediate.dense (GELU)
    intermediate: Linear<T>,
    /// output.dense
    output: Linear<T>,
    output_norm: LayerNorm<T>,
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
    fn from_fused(at: CaptureAt, qkv: &[f32], x: Vec<f32>, seq: usize, hidden: usize, head_dim: usize) -> HeadCapture {
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
    embeddings_norm: LayerNorm<B::Tensor>,
    layers: Vec<BertLayer<B::Tensor>>,
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
                    qkv: linear(b, &l.qkv, h, 3 * h)?,
                    attention_output: linear(b, &l.attention_output, h, h)?,
                    attention_norm: layer_norm(b, &l.attention_norm, eps)?,
                    intermediate: linear(b, &l.intermediate, h, c.intermediate)?,
                    output: linear(b, &l.output, c.intermediate, h)?,
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

        let dims = AttentionDims { heads: c.heads, seq_q: seq, seq_k: seq, head_dim: c.head_dim() };
        let spec = AttentionSpec::default(); // scaled dot product, softmax, weights returned
        let mut maps = Vec::with_capacity(self.layers.len());
        let mut kept = None; // (layer input x, its fused qkv) for the captured layer
        for (i, l) in self.layers.iter().enumerate() {
            // [seq, 3·hidden]: q | k | v, heads side by side in each row.
            let qkv = b.linear(&l.qkv.op(&x, seq))?;
            let att = b.attention(&AttentionArgs::fused_qkv(dims, &qkv, &spec))?;
            // Post-LN: LN(x + dense(context)), then LN(y + dense2(gelu(dense1(y)))).
            let y = b.linear(&LinearOp { residual: Some(&x), ..l.attention_output.op(&att.output, seq) })?;
            let y = l.attention_norm.forward(b, &y, seq)?;
            let inter = b.linear(&LinearOp { activation: Activation::Gelu, ..l.intermediate.op(&y, seq) })?;
            let z = b.linear(&LinearOp { residual: Some(&y), ..l.output.op(&inter, seq) })?;
            let next = l.output_norm.forward(b, &z, seq)?;
            if capture.is_some_and(|at| at.layer == i) {
                kept = Some((std::mem::replace(&mut x, next), qkv));
            } else {
                x = next;
            }
            maps.push(att.weights.ok_or_else(|| crate::invalid!("the backend returned no attention weights"))?);
            b.checkpoint().await;
        }

        maps.push(x);
        let kept_len = kept.as_ref().map_or(0, |_| 2);
        if let Some((x_in, qkv)) = kept {
            maps.extend([x_in, qkv]);
        }
        let mut out = b.read_owned(maps).await?;
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
        Ok(BertOutput { seq, attention, embedding, capture })
    }
}

/// MiniLM as a playground holds it: the weights on the host, and the tokenizer of their
/// vocabulary that prepares its input.
pub struct MiniLm {
    pub weights: BertWeights,
    pub tokenizer: Tokenizer,
}

impl MiniLm {
    pub fn new(weights: BertWeights) -> Result<MiniLm> {
        let tokenizer = Tokenizer::new(weights.vocab.clone())?;
        Ok(MiniLm { weights, tokenizer })
    }

    /// Text (and an optional second segment) → WordPiece tokens, cut to the model's length.
    pub fn encode(&self, text: &str, pair: Option<&str>) -> Encoding {
        self.tokenizer.encode(text, pair)
    }
}

/// What one MiniLM forward takes: the tokens, and which head to capture, if any.
pub struct TextInput {
    pub encoding: Encoding,
    pub capture: Option<CaptureAt>,
}

impl From<Encoding> for TextInput {
    fn from(encoding: Encoding) -> TextInput {
        TextInput { encoding, capture: None }
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
        on.forward_capturing(b, &enc.ids, &enc.type_ids, input.capture).await
    }
}
