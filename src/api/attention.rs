//! Option objects of `Playground.create` and `Playground.attention`, read into Rust types with
//! `parse`'s rules; results turned back into typed arrays.

use js_sys::{Float32Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use super::parse::{absent, check_keys, choice, count, floats, flag, get, number, number_or, optional_options, required_count, whole_in, MAX_SAFE_INTEGER};

use crate::attention::{AdditiveParams, AttentionDims, AttentionSpec, Dropout, Mask, Normalizer, Positions, Score};
use crate::backend::BackendKind;
use crate::error::Result;
use crate::invalid;
use crate::playground::{AttentionRequest, AttentionResult, BackendChoice};

#[wasm_bindgen(typescript_custom_section)]
const TS_ATTENTION: &str = r#"
export interface AttentionOptions {
  /** [heads, seqQ, headDim], row-major */
  q: Float32Array | number[];
  /** [heads, seqK, headDim] */
  k: Float32Array | number[];
  /** [heads, seqK, headDim] */
  v: Float32Array | number[];
  heads: number; seqQ: number; seqK: number; headDim: number;
  /** default 'scaled_dot' */
  score?: 'dot' | 'scaled_dot' | 'cosine' | 'neg_sq_dist' | 'additive';
  /** with score 'additive': vᵀ tanh(W_q q + W_k k); wq, wk [hidden, headDim], v [hidden] */
  additive?: { hidden: number; wq: Float32Array | number[]; wk: Float32Array | number[]; v: Float32Array | number[] };
  /** every score is divided by it; default 1 */
  temperature?: number;
  /** default 'softmax' */
  normalizer?: 'softmax' | 'sparsemax' | 'entmax15';
  /** default 'none' */
  mask?: 'none' | 'causal' | { window: number } | { topK: number };
  /** default 'none'; relativeBias has seqQ + seqK − 1 values, indexed by i − j + seqK − 1 */
  positions?: 'none' | 'rope' | 'alibi' | { relativeBias: Float32Array | number[] };
  /** attention dropout after normalizing, rescaled by 1/(1−p); deterministic for a seed */
  dropout?: { p: number; seed: number } | null;
  /** also return entropy [heads, seqQ] and coverage [heads, seqK]; default false */
  stats?: boolean;
  /** default true; false lets the backend use the fused kernel and omit `weights` */
  returnWeights?: boolean;
}
export interface AttentionResult {
  /** [heads, seqQ, seqK]; absent when returnWeights is false */
  weights?: Float32Array;
  /** [heads, seqQ, headDim] = weights · v */
  output: Float32Array;
  /** [heads, seqQ], with stats: true */
  entropy?: Float32Array;
  /** [heads, seqK], with stats: true */
  coverage?: Float32Array;
  /** the backend that computed this result */
  backend: 'webgpu' | 'cpu';
}
"#;

/// Options that say what an attention call computes (shared by `attention` and `multiHead`).
pub(crate) const SPEC_KEYS: &[&str] =
    &["score", "additive", "temperature", "normalizer", "mask", "positions", "dropout", "stats", "returnWeights"];
const OPERAND_KEYS: &[&str] = &["q", "k", "v", "heads", "seqQ", "seqK", "headDim"];

pub(crate) fn parse_create(opts: &JsValue) -> Result<BackendChoice> {
    if !optional_options(opts, "Playground.create options", &["backend"])? {
        return Ok(BackendChoice::Auto);
    }
    BackendChoice::parse(choice(&get(opts, "backend"), "backend", "auto", &["auto", "webgpu", "cpu"], &[])?)
}

/// `obj[key] = value` on a plain object we just made (cannot fail).
pub(crate) fn js_field(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

/// One Float32Array holding `parts` end to end, copied from wasm memory once.
pub(crate) fn joined_f32(parts: &[Vec<f32>]) -> js_sys::Float32Array {
    let out = js_sys::Float32Array::new_with_length(parts.iter().map(Vec::len).sum::<usize>() as u32);
    let mut at = 0u32;
    for p in parts {
        out.subarray(at, at + p.len() as u32).copy_from(p);
        at += p.len() as u32;
    }
    out
}

const SCORES: &[&str] = &["dot", "scaled_dot", "cosine", "neg_sq_dist", "additive"];

fn parse_score(opts: &JsValue) -> Result<Score> {
    let name = choice(&get(opts, "score"), "score", "scaled_dot", SCORES, &[])?;
    let additive = get(opts, "additive");
    if name != "additive" && !absent(&additive) {
        return Err(invalid!("additive parameters are given but score is '{name}', not 'additive'"));
    }
    Ok(match name {
        "dot" => Score::Dot,
        "scaled_dot" => Score::ScaledDot,
        "cosine" => Score::Cosine,
        "neg_sq_dist" => Score::NegSqDist,
        _ => {
            if absent(&additive) {
                return Err(invalid!("score 'additive' needs additive: {{ hidden, wq, wk, v }}"));
            }
            check_keys(&additive, "additive", &["hidden", "wq", "wk", "v"])?;
            let hidden = count(&get(&additive, "hidden"), "additive.hidden", 1)?;
            Score::Additive(AdditiveParams {
                hidden,
                wq: floats(&get(&additive, "wq"), "additive.wq")?,
                wk: floats(&get(&additive, "wk"), "additive.wk")?,
                v: floats(&get(&additive, "v"), "additive.v")?,
            })
        }
    })
}

fn parse_normalizer(v: &JsValue) -> Result<Normalizer> {
    Ok(match choice(v, "normalizer", "softmax", &["softmax", "sparsemax", "entmax15"], &[])? {
        "softmax" => Normalizer::Softmax,
        "sparsemax" => Normalizer::Sparsemax,
        _ => Normalizer::Entmax15,
    })
}

fn parse_mask(v: &JsValue) -> Result<Mask> {
    if v.is_object() {
        check_keys(v, "mask", &["window", "topK"])?;
        let window = get(v, "window");
        let top_k = get(v, "topK");
        return match (absent(&window), absent(&top_k)) {
            (false, true) => Ok(Mask::Window(count(&window, "mask.window", 0)?)),
            (true, false) => Ok(Mask::TopK(count(&top_k, "mask.topK", 1)?)),
            _ => Err(invalid!("mask object must be {{ window: w }} or {{ topK: k }}")),
        };
    }
    Ok(match choice(v, "mask", "none", &["none", "causal"], &["{ window: w }", "{ topK: k }"])? {
        "none" => Mask::None,
        _ => Mask::Causal,
    })
}

fn parse_positions(v: &JsValue) -> Result<Positions> {
    if v.is_object() {
        check_keys(v, "positions", &["relativeBias"])?;
        return Ok(Positions::RelativeBias(floats(&get(v, "relativeBias"), "positions.relativeBias")?));
    }
    Ok(match choice(v, "positions", "none", &["none", "rope", "alibi"], &["{ relativeBias }"])? {
        "none" => Positions::None,
        "rope" => Positions::Rope,
        _ => Positions::Alibi,
    })
}

fn parse_dropout(v: &JsValue) -> Result<Option<Dropout>> {
    if !optional_options(v, "dropout", &["p", "seed"])? {
        return Ok(None);
    }
    let p = number(&get(v, "p"), "dropout.p")?;
    let seed_v = get(v, "seed");
    let seed = if absent(&seed_v) { 0 } else { whole_in(&seed_v, "dropout.seed", 0, MAX_SAFE_INTEGER)? };
    Ok(Some(Dropout { p, seed }))
}

/// The spec part of an option object (score … returnWeights); keys are checked by the caller.
pub(crate) fn parse_spec(opts: &JsValue) -> Result<AttentionSpec> {
    Ok(AttentionSpec {
        score: parse_score(opts)?,
        temperature: number_or(&get(opts, "temperature"), "temperature", 1.0)?,
        normalizer: parse_normalizer(&get(opts, "normalizer"))?,
        mask: parse_mask(&get(opts, "mask"))?,
        positions: parse_positions(&get(opts, "positions"))?,
        dropout: parse_dropout(&get(opts, "dropout"))?,
        stats: flag(&get(opts, "stats"), "stats", false)?,
        return_weights: flag(&get(opts, "returnWeights"), "returnWeights", true)?,
    })
}

pub(crate) fn parse_request(opts: &JsValue) -> Result<AttentionRequest> {
    let known: Vec<&str> = OPERAND_KEYS.iter().chain(SPEC_KEYS).copied().collect();
    check_keys(opts, "attention options", &known)?;
    let dims = AttentionDims {
        heads: required_count(opts, "heads")?,
        seq_q: required_count(opts, "seqQ")?,
        seq_k: required_count(opts, "seqK")?,
        head_dim: required_count(opts, "headDim")?,
    };
    let req = AttentionRequest {
        dims,
        q: floats(&get(opts, "q"), "q")?,
        k: floats(&get(opts, "k"), "k")?,
        v: floats(&get(opts, "v"), "v")?,
        spec: parse_spec(opts)?,
    };
    req.validate()?;
    Ok(req)
}

pub(crate) fn result_to_js(r: AttentionResult, backend: BackendKind) -> JsValue {
    let obj = Object::new();
    let array = |v: &[f32]| JsValue::from(Float32Array::from(v));
    if let Some(w) = &r.weights {
        js_field(&obj, "weights", &array(w));
    }
    js_field(&obj, "output", &array(&r.output));
    if let Some(e) = &r.entropy {
        js_field(&obj, "entropy", &array(e));
    }
    if let Some(c) = &r.coverage {
        js_field(&obj, "coverage", &array(c));
    }
    js_field(&obj, "backend", &backend.js_name().into());
    obj.into()
}
