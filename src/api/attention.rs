//! Option objects of `Playground.create` and `Playground.attention`, parsed into Rust types with
//! messages that name the offending field; results turned back into typed arrays.

use js_sys::{Array, Float32Array, Object, Reflect};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

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

#[derive(Deserialize, Default)]
struct CreateOptions {
    backend: Option<String>,
}

pub(crate) fn parse_create(opts: &JsValue) -> Result<BackendChoice> {
    if opts.is_undefined() || opts.is_null() {
        return Ok(BackendChoice::Auto);
    }
    check_keys(opts, "Playground.create options", &["backend"])?;
    let o: CreateOptions =
        serde_wasm_bindgen::from_value(opts.clone()).map_err(|e| invalid!("Playground.create options: {e}"))?;
    BackendChoice::parse(o.backend.as_deref().unwrap_or("auto"))
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

pub(crate) fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub(crate) fn absent(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

pub(crate) fn describe(v: &JsValue) -> String {
    if let Some(s) = v.as_string() {
        format!("'{s}'")
    } else if let Some(n) = v.as_f64() {
        n.to_string()
    } else if v.is_object() {
        "an object".into()
    } else {
        v.js_typeof().as_string().unwrap_or_default()
    }
}

/// A whole number ≥ `min` (JS numbers are f64).
pub(crate) fn count(v: &JsValue, name: &str, min: usize) -> Result<usize> {
    match v.as_f64() {
        Some(n) if n.fract() == 0.0 && n >= min as f64 && n < (1u64 << 31) as f64 => Ok(n as usize),
        _ => Err(invalid!("{name} must be a whole number ≥ {min}, got {}", describe(v))),
    }
}

pub(crate) fn required_count(obj: &JsValue, key: &str) -> Result<usize> {
    let v = get(obj, key);
    if absent(&v) {
        return Err(invalid!("{key} is required (a whole number ≥ 1)"));
    }
    count(&v, key, 1)
}

pub(crate) fn number(v: &JsValue, name: &str) -> Result<f64> {
    v.as_f64().ok_or_else(|| invalid!("{name} must be a number, got {}", describe(v)))
}

/// A Float32Array, or a plain array of numbers.
pub(crate) fn floats(v: &JsValue, name: &str) -> Result<Vec<f32>> {
    if let Some(a) = v.dyn_ref::<Float32Array>() {
        return Ok(a.to_vec());
    }
    if Array::is_array(v) {
        return Array::from(v)
            .iter()
            .enumerate()
            .map(|(i, x)| x.as_f64().map(|f| f as f32).ok_or_else(|| invalid!("{name}[{i}] must be a number, got {}", describe(&x))))
            .collect();
    }
    if absent(v) {
        return Err(invalid!("{name} is required (a Float32Array)"));
    }
    Err(invalid!("{name} must be a Float32Array (or an array of numbers), got {}", describe(v)))
}

fn name_of(v: &JsValue, key: &str, default: &'static str) -> Result<String> {
    if absent(v) {
        return Ok(default.into());
    }
    v.as_string().ok_or_else(|| invalid!("{key} must be a string, got {}", describe(v)))
}

/// Keys of an option object, rejecting any not in `known` (a typo should not pass silently).
pub(crate) fn check_keys(obj: &JsValue, what: &str, known: &[&str]) -> Result<()> {
    let Some(o) = obj.dyn_ref::<Object>() else {
        return Err(invalid!("{what} must be an object, got {}", describe(obj)));
    };
    for key in Object::keys(o).iter().filter_map(|k| k.as_string()) {
        if !known.contains(&key.as_str()) {
            return Err(invalid!("{what}: unknown option '{key}' (known: {})", known.join(", ")));
        }
    }
    Ok(())
}

fn parse_score(opts: &JsValue) -> Result<Score> {
    let name = name_of(&get(opts, "score"), "score", "scaled_dot")?;
    let additive = get(opts, "additive");
    if name != "additive" && !absent(&additive) {
        return Err(invalid!("additive parameters are given but score is '{name}', not 'additive'"));
    }
    Ok(match name.as_str() {
        "dot" => Score::Dot,
        "scaled_dot" => Score::ScaledDot,
        "cosine" => Score::Cosine,
        "neg_sq_dist" => Score::NegSqDist,
        "additive" => {
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
        other => {
            return Err(invalid!("score must be 'dot', 'scaled_dot', 'cosine', 'neg_sq_dist' or 'additive', got '{other}'"))
        }
    })
}

fn parse_normalizer(v: &JsValue) -> Result<Normalizer> {
    match name_of(v, "normalizer", "softmax")?.as_str() {
        "softmax" => Ok(Normalizer::Softmax),
        "sparsemax" => Ok(Normalizer::Sparsemax),
        "entmax15" => Ok(Normalizer::Entmax15),
        other => Err(invalid!("normalizer must be 'softmax', 'sparsemax' or 'entmax15', got '{other}'")),
    }
}

fn parse_mask(v: &JsValue) -> Result<Mask> {
    if v.is_object() {
        let window = get(v, "window");
        let top_k = get(v, "topK");
        check_keys(v, "mask", &["window", "topK"])?;
        return match (absent(&window), absent(&top_k)) {
            (false, true) => Ok(Mask::Window(count(&window, "mask.window", 0)?)),
            (true, false) => Ok(Mask::TopK(count(&top_k, "mask.topK", 1)?)),
            _ => Err(invalid!("mask object must be {{ window: w }} or {{ topK: k }}")),
        };
    }
    match name_of(v, "mask", "none")?.as_str() {
        "none" => Ok(Mask::None),
        "causal" => Ok(Mask::Causal),
        other => Err(invalid!("mask must be 'none', 'causal', {{ window: w }} or {{ topK: k }}, got '{other}'")),
    }
}

fn parse_positions(v: &JsValue) -> Result<Positions> {
    if v.is_object() {
        check_keys(v, "positions", &["relativeBias"])?;
        return Ok(Positions::RelativeBias(floats(&get(v, "relativeBias"), "positions.relativeBias")?));
    }
    match name_of(v, "positions", "none")?.as_str() {
        "none" => Ok(Positions::None),
        "rope" => Ok(Positions::Rope),
        "alibi" => Ok(Positions::Alibi),
        other => Err(invalid!("positions must be 'none', 'rope', 'alibi' or {{ relativeBias }}, got '{other}'")),
    }
}

fn parse_dropout(v: &JsValue) -> Result<Option<Dropout>> {
    if absent(v) {
        return Ok(None);
    }
    check_keys(v, "dropout", &["p", "seed"])?;
    let p = number(&get(v, "p"), "dropout.p")? as f32;
    let seed_v = get(v, "seed");
    let seed = if absent(&seed_v) { 0 } else { count(&seed_v, "dropout.seed", 0)? as u64 };
    Ok(Some(Dropout { p, seed }))
}

pub(crate) fn flag(v: &JsValue, name: &str, default: bool) -> Result<bool> {
    if absent(v) {
        return Ok(default);
    }
    v.as_bool().ok_or_else(|| invalid!("{name} must be true or false, got {}", describe(v)))
}

/// The spec part of an option object (score … returnWeights); keys are checked by the caller.
pub(crate) fn parse_spec(opts: &JsValue) -> Result<AttentionSpec> {
    let temperature = get(opts, "temperature");
    Ok(AttentionSpec {
        score: parse_score(opts)?,
        temperature: if absent(&temperature) { 1.0 } else { number(&temperature, "temperature")? as f32 },
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
