//! BERT encoder (all-MiniLM-L6-v2), generic over the backend: embeddings, post-LN layers of
//! self-attention + GELU feed-forward, then mean pooling and L2 normalization (sentence
//! embedding). Structs mirror HF's module tree; the weights live on the backend, uploaded once.
//!
//! Embedding gather and pooling run on the host (a gather of `seq` rows, and a mean over them);
//! everything in between is backend ops, read back once per forward.

use crate::backend::Backend;
use crate::models::blocks::{LayerNorm, Mlp, Residual, SelfAttention};
use crate::ensure;
use crate::error::Result;
use crate::playground::Model;
use crate::text::{Encoding, Tokenizer};
use crate::weights::bert::{BertConfig, BertWeights, LayerNormWeights, LinearWeights};

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
                    mlp: Mlp::load(b, pair(&l.intermediate), pair(&l.output), h, c.intermediate)?,
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
        let c = &self.config;
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
        for l in &self.layers {
            let (y, weights) = l.attention.forward(b, &x, seq, Residual { x: &x, scale: None })?; // [seq, hidden], [heads, seq, seq]
            let y = l.attention_norm.forward(b, &y, seq)?;
            let z = l.mlp.forward(b, &y, seq, Residual { x: &y, scale: None })?;
            x = l.output_norm.forward(b, &z, seq)?;
            maps.push(weights);
            b.checkpoint().await;
        }

        maps.push(x);
        let mut out = b.read_owned(maps).await?;
        let hidden = out.pop().expect("read returns one vector per tensor"); // [seq, hidden]
        let attention = out;
        // Mean pooling over the (unpadded) sequence, then L2 normalization.
        let mut embedding = vec![0.0f32; h];
        for row in hidden.chunks_exact(h) {
            embedding.iter_mut().zip(row).for_each(|(e, v)| *e += v);
        }
        let norm = embedding.iter().map(|v| (v / seq as f32).powi(2)).sum::<f32>().sqrt().max(1e-12);
        embedding.iter_mut().for_each(|v| *v = *v / seq as f32 / norm);
        Ok(BertOutput { seq, attention, embedding })
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

impl Model for MiniLm {
    type On<B: Backend> = BertModel<B>;
    type Input = Encoding;
    type Output = BertOutput;

    fn upload<B: Backend>(&self, b: &mut B) -> Result<BertModel<B>> {
        BertModel::load(b, &self.weights)
    }

    async fn forward<B: Backend>(&self, on: &mut BertModel<B>, b: &mut B, enc: &Encoding) -> Result<BertOutput> {
        on.forward(b, &enc.ids, &enc.type_ids).await
    }
}
