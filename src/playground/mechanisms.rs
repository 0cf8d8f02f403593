//! The issue-5 helpers of the JS API, independent of JavaScript: rollout and multi-head attention
//! as requests with plain `Vec<f32>` operands, run end to end on any backend (upload → kernels →
//! one readback). `api::mechanisms` parses JS options into these; native tests drive them directly.

use crate::attention::multihead::{multi_head, MultiHeadArgs};
use crate::attention::rollout::{last_layer, rollout, RolloutArgs, RolloutOptions};
use crate::attention::AttentionSpec;
use crate::backend::Backend;
use crate::ensure;
use crate::error::Result;
use crate::playground::{read_attention, AttentionResult};

/// `Playground.rollout(maps, layers, heads, seq, options)`.
pub struct RolloutRequest {
    /// [layers, heads, seq, seq]
    pub maps: Vec<f32>,
    pub layers: usize,
    pub heads: usize,
    pub seq: usize,
    pub options: RolloutOptions,
}

/// Rollout through every layer: [seq, seq], row i = how much each input token flows into token i.
pub async fn run_rollout<B: Backend>(b: &mut B, req: &RolloutRequest) -> Result<Vec<f32>> {
    finite("maps", &req.maps)?;
    let maps = b.upload(&req.maps)?;
    let args = RolloutArgs { maps: &maps, layers: req.layers, heads: req.heads, seq: req.seq, options: req.options };
    crate::attention::rollout::check(&args, |t| b.len(t))?;
    let cumulative = rollout(b, &args)?;
    let all = b.read(&[&cumulative]).await?.pop().unwrap_or_default();
    ensure!(all.len() == req.layers * req.seq * req.seq, "rollout: the backend returned {} values", all.len());
    Ok(last_layer(&all, req.seq).to_vec())
}

/// `Playground.multiHead(options)`: x [seqQ, dModel], optional context [seqK, dModel] (cross-
/// attention), projections [dModel, heads·headDim] (wo: [heads·headDim, dModel]), optional biases.
pub struct MultiHeadRequest {
    pub x: Vec<f32>,
    pub context: Option<Vec<f32>>,
    pub wq: Vec<f32>,
    pub wk: Vec<f32>,
    pub wv: Vec<f32>,
    pub wo: Vec<f32>,
    pub bq: Option<Vec<f32>>,
    pub bk: Option<Vec<f32>>,
    pub bv: Option<Vec<f32>>,
    pub bo: Option<Vec<f32>>,
    pub heads: usize,
    pub seq_q: usize,
    /// Defaults to seq_q (self-attention); must be given with a context.
    pub seq_k: usize,
    pub d_model: usize,
    pub head_dim: usize,
    pub spec: AttentionSpec,
}

fn finite(name: &str, data: &[f32]) -> Result<()> {
    match data.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(crate::invalid!("{name}[{i}] must be a finite number, got {}", data[i])),
        None => Ok(()),
    }
}

impl MultiHeadRequest {
    /// Checks the lengths the caller stated (seqQ, seqK) against the arrays, in the JS API's terms;
    /// `multihead::check` then checks the projections.
    pub fn validate(&self) -> Result<()> {
        let MultiHeadRequest { seq_q, seq_k, d_model, .. } = *self;
        ensure!(d_model > 0 && self.heads > 0 && self.head_dim > 0, "multiHead: dModel, heads and headDim must be at least 1");
        ensure!(
            self.x.len() == seq_q * d_model,
            "multiHead: x must have seqQ × dModel = {seq_q} × {d_model} = {} values, got {}",
            seq_q * d_model,
            self.x.len()
        );
        match &self.context {
            Some(c) => ensure!(
                c.len() == seq_k * d_model,
                "multiHead: context must have seqK × dModel = {seq_k} × {d_model} = {} values, got {}",
                seq_k * d_model,
                c.len()
            ),
            None => ensure!(seq_k == seq_q, "multiHead: seqK ({seq_k}) differs from seqQ ({seq_q}) but no context is given"),
        }
        let named = [("x", Some(&self.x)), ("context", self.context.as_ref()), ("wq", Some(&self.wq)), ("wk", Some(&self.wk))];
        let more = [("wv", Some(&self.wv)), ("wo", Some(&self.wo)), ("bq", self.bq.as_ref()), ("bk", self.bk.as_ref())];
        let last = [("bv", self.bv.as_ref()), ("bo", self.bo.as_ref())];
        for (name, data) in named.into_iter().chain(more).chain(last) {
            if let Some(d) = data {
                finite(name, d)?;
            }
        }
        let dims = crate::attention::AttentionDims { heads: self.heads, seq_q, seq_k, head_dim: self.head_dim };
        self.spec.validate(&dims)
    }
}

/// Uploads everything, runs the projections, attention and output projection, reads back once.
/// The result's `output` is [seqQ, dModel]; weights [heads, seqQ, seqK] and the stats as for
/// plain attention.
pub async fn run_multi_head<B: Backend>(b: &mut B, req: &MultiHeadRequest) -> Result<AttentionResult> {
    req.validate()?;
    let up = |b: &mut B, d: &Option<Vec<f32>>| d.as_ref().map(|d| b.upload(d)).transpose();
    let x = b.upload(&req.x)?;
    let context = up(b, &req.context)?;
    let (wq, wk, wv, wo) = (b.upload(&req.wq)?, b.upload(&req.wk)?, b.upload(&req.wv)?, b.upload(&req.wo)?);
    let (bq, bk, bv, bo) = (up(b, &req.bq)?, up(b, &req.bk)?, up(b, &req.bv)?, up(b, &req.bo)?);
    let out = multi_head(
        b,
        &MultiHeadArgs {
            x: &x,
            context: context.as_ref(),
            d_model: req.d_model,
            heads: req.heads,
            head_dim: req.head_dim,
            wq: &wq,
            wk: &wk,
            wv: &wv,
            bq: bq.as_ref(),
            bk: bk.as_ref(),
            bv: bv.as_ref(),
            wo: &wo,
            bo: bo.as_ref(),
            spec: &req.spec,
        },
    )?;
    read_attention(b, &out.output, &out.attention).await
}
