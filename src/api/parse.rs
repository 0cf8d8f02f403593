//! Every argument of the JS API is read here, with one rule per kind of value and one wording per
//! rule, so `attention`, `multiHead`, `rollout`, `sinusoidal`, `create`, `load*Model`, `runText`
//! and `runImage` accept and refuse alike. Arguments arrive as untyped `JsValue`s (the TypeScript
//! types are only advice to the caller), so nothing the caller passes reaches wasm-bindgen's
//! unchecked conversions, which trap or coerce (`"10"` → 10) instead of refusing.

use js_sys::{Array, Float32Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::error::Result;
use crate::invalid;

/// JS numbers are exact integers up to 2^53 − 1 (`Number.MAX_SAFE_INTEGER`).
pub(crate) const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
/// Sizes and counts: anything larger cannot be indexed in wasm32 memory anyway.
const MAX_COUNT: u64 = (1 << 31) - 1;

pub(crate) fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

pub(crate) fn absent(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

/// A number as JS writes it (`1e+39`, `Infinity`), which is how the caller wrote it.
fn js_number(n: f64) -> String {
    js_sys::Number::from(n).to_string_with_radix(10).map(String::from).unwrap_or_else(|_| n.to_string())
}

/// How a value is named in a message: strings quoted, numbers as JS writes them.
pub(crate) fn describe(v: &JsValue) -> String {
    if let Some(s) = v.as_string() {
        format!("'{s}'")
    } else if let Some(n) = v.as_f64() {
        js_number(n)
    } else if v.is_null() {
        "null".into()
    } else if v.is_function() {
        "a function".into()
    } else if Array::is_array(v) {
        "an array".into()
    } else if v.is_object() {
        "an object".into()
    } else {
        v.js_typeof().as_string().unwrap_or_default()
    }
}

/// A whole number in [min, max].
pub(crate) fn whole_in(v: &JsValue, name: &str, min: u64, max: u64) -> Result<u64> {
    match v.as_f64() {
        Some(n) if n.fract() == 0.0 && n >= min as f64 && n <= max as f64 => Ok(n as u64),
        Some(n) if n.fract() == 0.0 && n > max as f64 => Err(invalid!("{name} must be at most {max}, got {}", describe(v))),
        _ => Err(invalid!("{name} must be a whole number ≥ {min}, got {}", describe(v))),
    }
}

/// A size or count: a whole number ≥ `min` (and below 2^31).
pub(crate) fn count(v: &JsValue, name: &str, min: usize) -> Result<usize> {
    whole_in(v, name, min as u64, MAX_COUNT).map(|n| n as usize)
}

/// `obj[key]`, a count ≥ 1 that must be given.
pub(crate) fn required_count(obj: &JsValue, key: &str) -> Result<usize> {
    let v = get(obj, key);
    if absent(&v) {
        return Err(invalid!("{key} is required (a whole number ≥ 1)"));
    }
    count(&v, key, 1)
}

/// One f32 from a JS number: finite, and within f32's range (1e39 is a finite JS number but
/// would become Infinity).
fn f32_of(n: f64) -> Option<f32> {
    let x = n as f32;
    x.is_finite().then_some(x)
}

/// A number that must be a finite f32.
pub(crate) fn number(v: &JsValue, name: &str) -> Result<f32> {
    let n = v.as_f64().ok_or_else(|| invalid!("{name} must be a number, got {}", describe(v)))?;
    f32_of(n).ok_or_else(|| invalid!("{name} must be a finite number within f32's range (±3.4e38), got {}", js_number(n)))
}

/// An optional number (`default` when absent).
pub(crate) fn number_or(v: &JsValue, name: &str, default: f32) -> Result<f32> {
    if absent(v) { Ok(default) } else { number(v, name) }
}

/// A Float32Array, or a plain array of numbers; every value a finite f32.
pub(crate) fn floats(v: &JsValue, name: &str) -> Result<Vec<f32>> {
    if let Some(a) = v.dyn_ref::<Float32Array>() {
        let data = a.to_vec();
        return match data.iter().position(|x| !x.is_finite()) {
            Some(i) => Err(invalid!("{name}[{i}] must be a finite number, got {}", js_number(data[i].into()))),
            None => Ok(data),
        };
    }
    if Array::is_array(v) {
        return Array::from(v)
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let n = x.as_f64().ok_or_else(|| invalid!("{name}[{i}] must be a number, got {}", describe(&x)))?;
                f32_of(n).ok_or_else(|| invalid!("{name}[{i}] must be a finite number within f32's range (±3.4e38), got {}", js_number(n)))
            })
            .collect();
    }
    if absent(v) {
        return Err(invalid!("{name} is required (a Float32Array)"));
    }
    Err(invalid!("{name} must be a Float32Array (or an array of numbers), got {}", describe(v)))
}

/// `obj[key]` through `floats`, or `None` when absent.
pub(crate) fn optional_floats(obj: &JsValue, key: &str, name: &str) -> Result<Option<Vec<f32>>> {
    let v = get(obj, key);
    if absent(&v) { Ok(None) } else { floats(&v, name).map(Some) }
}

/// Bytes from a Uint8Array or Uint8ClampedArray.
pub(crate) fn bytes(v: &JsValue, name: &str, what: &str) -> Result<Vec<u8>> {
    if let Some(a) = v.dyn_ref::<js_sys::Uint8ClampedArray>() {
        Ok(a.to_vec())
    } else if let Some(a) = v.dyn_ref::<js_sys::Uint8Array>() {
        Ok(a.to_vec())
    } else {
        Err(invalid!("{name} must be a Uint8Array or Uint8ClampedArray{what}, got {}", describe(v)))
    }
}

pub(crate) fn string(v: &JsValue, name: &str) -> Result<String> {
    v.as_string().ok_or_else(|| invalid!("{name} must be a string, got {}", describe(v)))
}

pub(crate) fn optional_string(v: &JsValue, name: &str) -> Result<Option<String>> {
    if absent(v) { Ok(None) } else { string(v, name).map(Some) }
}

/// Where to fetch from: a non-empty string (relative ones resolve against the page, as `fetch`
/// does).
pub(crate) fn url(v: &JsValue, name: &str) -> Result<String> {
    match v.as_string() {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(invalid!("{name} must be a URL (a non-empty string), got {}", describe(v))),
    }
}

/// An optional callback.
pub(crate) fn callback(v: &JsValue, name: &str) -> Result<Option<Function>> {
    if absent(v) {
        return Ok(None);
    }
    v.dyn_ref::<Function>().cloned().map(Some).ok_or_else(|| invalid!("{name} must be a function, got {}", describe(v)))
}

pub(crate) fn flag(v: &JsValue, name: &str, default: bool) -> Result<bool> {
    if absent(v) {
        return Ok(default);
    }
    v.as_bool().ok_or_else(|| invalid!("{name} must be true or false, got {}", describe(v)))
}

/// `'a', 'b' or 'c'`, followed by `others` written as they are (e.g. `{ window: w }`).
fn listing(names: &[&str], others: &[&str]) -> String {
    let all: Vec<String> = names.iter().map(|n| format!("'{n}'")).chain(others.iter().map(|o| o.to_string())).collect();
    match all.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => all.join(""),
    }
}

/// One of `names` (`default` when absent); `others` are the non-string forms the option also
/// takes, named in the message only (the caller handles them before calling this).
pub(crate) fn choice(v: &JsValue, name: &str, default: &'static str, names: &[&'static str], others: &[&str]) -> Result<&'static str> {
    if absent(v) {
        return Ok(default);
    }
    let wrong = || invalid!("{name} must be {}, got {}", listing(names, others), describe(v));
    let s = v.as_string().ok_or_else(wrong)?;
    names.iter().find(|n| **n == s).copied().ok_or_else(wrong)
}

/// An option object: rejects non-objects and any key not in `known` (a typo should not pass
/// silently).
pub(crate) fn check_keys(obj: &JsValue, what: &str, known: &[&str]) -> Result<()> {
    let o = match obj.dyn_ref::<Object>() {
        Some(o) if !obj.is_function() && !Array::is_array(obj) => o,
        _ => return Err(invalid!("{what} must be an object, got {}", describe(obj))),
    };
    for key in Object::keys(o).iter().filter_map(|k| k.as_string()) {
        if !known.contains(&key.as_str()) {
            return Err(invalid!("{what}: unknown option '{key}' (known: {})", known.join(", ")));
        }
    }
    Ok(())
}

/// An optional option object: `Ok(false)` when absent, else checked as `check_keys` does.
pub(crate) fn optional_options(obj: &JsValue, what: &str, known: &[&str]) -> Result<bool> {
    if absent(obj) {
        return Ok(false);
    }
    check_keys(obj, what, known).map(|_| true)
}
