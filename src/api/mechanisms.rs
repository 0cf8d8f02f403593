//! Issue 5's helpers on `Playground`: `Playground.sinusoidal` (static), `pg.rollout` and
//! `pg.multiHead`, both on the instance's backend. Parsing only; the work is in
//! `crate::playground::mechanisms`.

use js_sys::{Float32Array, Promise};
use wasm_bindgen::prelude::*;

use super::attention::{parse_spec, result_to_js, SPEC_KEYS};
use super::parse::{absent, check_keys, choice, count, floats, flag, get, optional_floats, optional_options, required_count};
use super::{js_error, settle, Playground};
use crate::attention::rollout::{HeadFusion, RolloutOptions};
use crate::attention::sinusoidal::sinusoidal;
use crate::error::Result;
use crate::invalid;
use crate::playground::mechanisms::{run_multi_head, run_rollout, MultiHeadRequest, RolloutRequest};

#[wasm_bindgen(typescript_custom_section)]
const TS_MECHANISMS: &str = r#"
export interface RolloutOptions {
  /** add the identity for the residual connection (0.5·A + 0.5·I); default true */
  residual?: boolean;
  /** how a layer's heads are combined; default 'mean' */
  headFusion?: 'mean' | 'max' | 'min';
}
/** Everything of AttentionOptions except q, k, v, seqK-as-required and headDim's meaning, plus: */
export interface MultiHeadOptions extends Omit<AttentionOptions, 'q' | 'k' | 'v' | 'seqK'> {
  /** [seqQ, dModel] */
  x: Float32Array | number[];
  /** [seqK, dModel]: cross-attention to this sequence; absent: self-attention */
  context?: Float32Array | number[];
  /** [dModel, heads·headDim] each (x · W) */
  wq: Float32Array | number[]; wk: Float32Array | number[]; wv: Float32Array | number[];
  /** [heads·headDim, dModel] */
  wo: Float32Array | number[];
  /** [heads·headDim] each; bo [dModel] */
  bq?: Float32Array | number[]; bk?: Float32Array | number[]; bv?: Float32Array | number[]; bo?: Float32Array | number[];
  /** default seqQ; required with a context */
  seqK?: number;
  dModel: number;
}
/** weights [heads, seqQ, seqK], entropy and coverage as for attention(); only output differs */
export interface MultiHeadResult extends Omit<AttentionResult, 'output'> {
  /** [seqQ, dModel]: concat(heads) · wo + bo */
  output: Float32Array;
}
"#;

const MULTI_HEAD_OPERANDS: &[&str] =
    &["x", "context", "wq", "wk", "wv", "wo", "bq", "bk", "bv", "bo", "heads", "seqQ", "seqK", "dModel", "headDim"];

fn parse_multi_head(opts: &JsValue) -> Result<MultiHeadRequest> {
    let known: Vec<&str> = MULTI_HEAD_OPERANDS.iter().chain(SPEC_KEYS).copied().collect();
    check_keys(opts, "multiHead options", &known)?;
    let seq_q = required_count(opts, "seqQ")?;
    let context = optional_floats(opts, "context", "multiHead: context")?;
    let seq_k_v = get(opts, "seqK");
    let seq_k = match (absent(&seq_k_v), &context) {
        (true, None) => seq_q,
        (true, Some(_)) => return Err(invalid!("multiHead: seqK is required with a context")),
        (false, _) => count(&seq_k_v, "seqK", 1)?,
    };
    let must = |key: &str| floats(&get(opts, key), &format!("multiHead: {key}"));
    Ok(MultiHeadRequest {
        x: must("x")?,
        context,
        wq: must("wq")?,
        wk: must("wk")?,
        wv: must("wv")?,
        wo: must("wo")?,
        bq: optional_floats(opts, "bq", "multiHead: bq")?,
        bk: optional_floats(opts, "bk", "multiHead: bk")?,
        bv: optional_floats(opts, "bv", "multiHead: bv")?,
        bo: optional_floats(opts, "bo", "multiHead: bo")?,
        heads: required_count(opts, "heads")?,
        seq_q,
        seq_k,
        d_model: required_count(opts, "dModel")?,
        head_dim: required_count(opts, "headDim")?,
        spec: parse_spec(opts)?,
    })
}

fn parse_rollout_options(opts: &JsValue) -> Result<RolloutOptions> {
    if !optional_options(opts, "rollout options", &["residual", "headFusion"])? {
        return Ok(RolloutOptions::default());
    }
    let fusion = choice(&get(opts, "headFusion"), "headFusion", "mean", &["mean", "max", "min"], &[])?;
    Ok(RolloutOptions { residual: flag(&get(opts, "residual"), "residual", true)?, head_fusion: HeadFusion::parse(fusion)? })
}

fn parse_rollout(maps: &JsValue, layers: &JsValue, heads: &JsValue, seq: &JsValue, opts: &JsValue) -> Result<RolloutRequest> {
    Ok(RolloutRequest {
        maps: floats(maps, "rollout: maps")?,
        layers: count(layers, "rollout: layers", 1)?,
        heads: count(heads, "rollout: heads", 1)?,
        seq: count(seq, "rollout: seq", 1)?,
        options: parse_rollout_options(opts)?,
    })
}

#[wasm_bindgen]
impl Playground {
    /// `Playground.sinusoidal(seq, dim)` (static): the absolute sinusoidal position encoding
    /// (Vaswani et al. 2017), [seq, dim] row-major: sin on even columns, cos on odd ones, with
    /// frequency 1/10000^(2i/dim). Add it to embeddings; needs no instance or backend.
    pub fn sinusoidal(
        #[wasm_bindgen(unchecked_param_type = "number")] seq: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] dim: JsValue,
    ) -> std::result::Result<Float32Array, JsValue> {
        settle::usable()?;
        let table = sinusoidal(count(&seq, "seq", 1).map_err(js_error)?, count(&dim, "dim", 1).map_err(js_error)?).map_err(js_error)?;
        Ok(Float32Array::from(&table[..]))
    }

    /// `await pg.rollout(maps, layers, heads, seq, { residual: true, headFusion: 'mean' })`:
    /// attention rollout (Abnar & Zuidema 2020) of maps [layers, heads, seq, seq] on the active
    /// backend → Float32Array [seq, seq], rows summing to 1.
    #[wasm_bindgen(unchecked_return_type = "Promise<Float32Array>")]
    pub fn rollout(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Float32Array | number[]")] maps: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] layers: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] heads: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] seq: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RolloutOptions")] opts: JsValue,
    ) -> Promise {
        self.queue(parse_rollout(&maps, &layers, &heads, &seq, &opts), async |shared, req| {
            let r = shared.run(async |engine| crate::on_backend!(engine, b => run_rollout(b, &req).await)).await?;
            Ok(Float32Array::from(&r[..]).into())
        })
    }

    /// `await pg.multiHead({ x, context?, wq, wk, wv, wo, bq?, bk?, bv?, bo?, heads, seqQ, seqK?,
    /// dModel, headDim, ...attention options })`: full multi-head self- or cross-attention →
    /// `{ weights [heads, seqQ, seqK], output [seqQ, dModel] }`.
    #[wasm_bindgen(js_name = multiHead, unchecked_return_type = "Promise<MultiHeadResult>")]
    pub fn multi_head(&self, #[wasm_bindgen(unchecked_param_type = "MultiHeadOptions")] opts: JsValue) -> Promise {
        let req = parse_multi_head(&opts).and_then(|req| req.validate().map(|_| req));
        self.queue(req, async |shared, req| {
            let r = shared.run(async |engine| crate::on_backend!(engine, b => run_multi_head(b, &req).await)).await?;
            Ok(result_to_js(r, shared.kind.get()))
        })
    }
}
