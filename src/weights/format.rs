//! The web weight format: a safetensors file (f16 or f32 tensors) whose metadata names the
//! format, the architecture and its config, so one fetch gives the page everything a model needs.
//!
//! Metadata keys: `format` = FORMAT, `arch` (e.g. "bert", "dinov2"), `config` (JSON), and
//! whatever else an architecture needs (e.g. `vocab`, newline-separated).

use std::collections::HashMap;

use half::f16;
use safetensors::tensor::{Dtype, TensorView};

use crate::error::{Error, Result};

pub const FORMAT: &str = "attention-playground/weights@1";

/// How tensors are stored in a file we write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreAs {
    F16,
    F32,
}

/// Headers above this are no real weight file's (safetensors itself stops at 100 MB).
const MAX_HEADER: usize = 100_000_000;

/// One tensor's header entry, read leniently: a wrong entry is reported when that tensor is
/// asked for, by name, not as an error about the whole file (or about its neighbour).
struct TensorInfo {
    dtype: String,
    shape: Vec<usize>,
    /// [begin, end) in the data section.
    offsets: (usize, usize),
}

/// A parsed weight file: the header, plus the bytes it indexes.
pub struct WeightFile {
    bytes: Vec<u8>,
    data_start: usize,
    tensors: HashMap<String, TensorInfo>,
    metadata: HashMap<String, String>,
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Weights(format!("not a valid safetensors file: {what}"))
}

fn whole(v: &serde_json::Value) -> Option<usize> {
    v.as_u64().and_then(|n| usize::try_from(n).ok())
}

impl TensorInfo {
    fn parse(name: &str, entry: &serde_json::Value) -> Result<TensorInfo> {
        let bad = |what: &str| corrupt(format_args!("tensor \"{name}\" in the header: {what}"));
        let dtype = entry.get("dtype").and_then(|d| d.as_str()).ok_or_else(|| bad("no \"dtype\" string"))?;
        let shape = entry
            .get("shape")
            .and_then(|s| s.as_array())
            .and_then(|s| s.iter().map(whole).collect::<Option<Vec<_>>>())
            .ok_or_else(|| bad("\"shape\" must be a list of whole numbers"))?;
        let offsets = match entry.get("data_offsets").and_then(|o| o.as_array()).map(|o| o.iter().map(whole).collect::<Vec<_>>()) {
            Some(o) if o.len() == 2 && matches!((o[0], o[1]), (Some(a), Some(b)) if a <= b) => (o[0].unwrap_or(0), o[1].unwrap_or(0)),
            _ => return Err(bad("\"data_offsets\" must be [begin, end] with begin ≤ end")),
        };
        Ok(TensorInfo { dtype: dtype.to_string(), shape, offsets })
    }
}

impl WeightFile {
    /// Parses any safetensors file (ours, or a source checkpoint such as HF `model.safetensors`).
    /// The header is read here; each tensor is checked when it is asked for (`tensor`), so a
    /// message names the tensor that is wrong.
    pub fn parse(bytes: Vec<u8>) -> Result<WeightFile> {
        let len_bytes: [u8; 8] = bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| corrupt(format_args!("the file is {} bytes, too short to hold a header length; is it truncated or of another kind?", bytes.len())))?;
        let header_len = u64::from_le_bytes(len_bytes);
        let available = bytes.len() - 8;
        if header_len > available as u64 || header_len as usize > MAX_HEADER {
            return Err(corrupt(format_args!(
                "the header length says {header_len} bytes but {available} follow; is the file truncated or of another kind?"
            )));
        }
        let data_start = 8 + header_len as usize;
        let header: serde_json::Value = serde_json::from_slice(&bytes[8..data_start])
            .map_err(|e| corrupt(format_args!("the header is not JSON ({e}); is the file truncated or of another kind?")))?;
        let entries = header.as_object().ok_or_else(|| corrupt("the header is not a JSON object"))?;
        let mut tensors = HashMap::new();
        let mut metadata = HashMap::new();
        for (name, entry) in entries {
            if name == "__metadata__" {
                let map = entry.as_object().ok_or_else(|| corrupt("\"__metadata__\" is not an object"))?;
                for (key, value) in map {
                    let value = value.as_str().ok_or_else(|| corrupt(format_args!("metadata \"{key}\" is not a string")))?;
                    metadata.insert(key.clone(), value.to_string());
                }
            } else {
                tensors.insert(name.clone(), TensorInfo::parse(name, entry)?);
            }
        }
        Ok(WeightFile { bytes, data_start, tensors, metadata })
    }

    /// Parses one of our web files and checks that it holds `arch`.
    pub fn parse_web(bytes: Vec<u8>, arch: &str) -> Result<WeightFile> {
        let f = WeightFile::parse(bytes)?;
        match f.meta_value("format") {
            Some(FORMAT) => {}
            Some(other) => return Err(Error::Weights(format!("weight format \"{other}\" is not supported (expected \"{FORMAT}\")"))),
            None => return Err(Error::Weights(format!("no \"format\" in the file's metadata: not an attention-playground weight file (expected \"{FORMAT}\")"))),
        }
        match f.meta_value("arch") {
            Some(a) if a == arch => Ok(f),
            Some(a) => Err(Error::Weights(format!("this file holds a \"{a}\" model, not a \"{arch}\" model"))),
            None => Err(Error::Weights("no \"arch\" in the file's metadata".into())),
        }
    }

    pub fn meta_value(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    pub fn names(&self) -> Vec<String> {
        let mut n: Vec<String> = self.tensors.keys().cloned().collect();
        n.sort();
        n
    }

    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    pub fn shape(&self, name: &str) -> Result<&[usize]> {
        Ok(&self.info(name)?.shape)
    }

    fn info(&self, name: &str) -> Result<&TensorInfo> {
        self.tensors.get(name).ok_or_else(|| Error::Weights(format!("missing tensor \"{name}\"")))
    }

    /// The tensor `name` as f32, checking its dtype, that its shape is `expect`, and that its
    /// bytes are where the header says.
    pub fn tensor(&self, name: &str, expect: &[usize]) -> Result<Vec<f32>> {
        let info = self.info(name)?;
        let size: usize = match info.dtype.as_str() {
            "F32" => 4,
            "F16" | "BF16" => 2,
            other => return Err(Error::Weights(format!("tensor \"{name}\" has dtype {other}, expected F32, F16 or BF16"))),
        };
        if info.shape != expect {
            return Err(Error::Weights(format!("tensor \"{name}\" has shape {:?}, expected {:?}", info.shape, expect)));
        }
        let (a, b) = info.offsets;
        let needs = expect.iter().try_fold(size, |acc, &d| acc.checked_mul(d));
        if needs != Some(b - a) {
            let needs = needs.map_or_else(|| "more than fits in memory".to_string(), |n| n.to_string());
            return Err(Error::Weights(format!("tensor \"{name}\" has {} bytes of data, but shape {expect:?} of {} needs {needs}", b - a, info.dtype)));
        }
        let raw = (self.data_start.checked_add(a).zip(self.data_start.checked_add(b)))
            .and_then(|(a, b)| self.bytes.get(a..b))
            .ok_or_else(|| Error::Weights(format!("tensor \"{name}\" lies beyond the end of the file (truncated?)")))?;
        let out: Vec<f32> = match size {
            4 => raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            _ if info.dtype == "F16" => raw.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            _ => raw.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        };
        if let Some(i) = out.iter().position(|v| !v.is_finite()) {
            return Err(Error::Weights(format!("tensor \"{name}\" holds {} at index {i}: weights must be finite", out[i])));
        }
        Ok(out)
    }
}

/// Builds a web weight file.
pub struct WeightWriter {
    store: StoreAs,
    tensors: Vec<(String, Vec<usize>, Vec<u8>)>,
    meta: HashMap<String, String>,
}

impl WeightWriter {
    pub fn new(arch: &str, store: StoreAs) -> Self {
        let mut meta = HashMap::new();
        meta.insert("format".to_string(), FORMAT.to_string());
        meta.insert("arch".to_string(), arch.to_string());
        WeightWriter { store, tensors: Vec::new(), meta }
    }

    pub fn meta(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.meta.insert(key.to_string(), value.into());
        self
    }

    pub fn tensor(&mut self, name: &str, shape: &[usize], data: &[f32]) -> Result<&mut Self> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(Error::Weights(format!("tensor \"{name}\": {} values for shape {shape:?}", data.len())));
        }
        let bytes = match self.store {
            StoreAs::F32 => bytemuck::cast_slice(data).to_vec(),
            StoreAs::F16 => data.iter().flat_map(|v| f16::from_f32(*v).to_le_bytes()).collect(),
        };
        self.tensors.push((name.to_string(), shape.to_vec(), bytes));
        Ok(self)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let dtype = match self.store {
            StoreAs::F16 => Dtype::F16,
            StoreAs::F32 => Dtype::F32,
        };
        let views = self
            .tensors
            .iter()
            .map(|(name, shape, bytes)| {
                TensorView::new(dtype, shape.clone(), bytes)
                    .map(|v| (name.clone(), v))
                    .map_err(|e| Error::Weights(format!("tensor \"{name}\": {e:?}")))
            })
            .collect::<Result<Vec<_>>>()?;
        safetensors::serialize(views, Some(self.meta.clone().into_iter().collect())).map_err(|e| Error::Weights(format!("could not write the file: {e:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let mut w = WeightWriter::new("toy", StoreAs::F16);
        w.meta("config", "{\"n\":2}");
        w.tensor("a.weight", &[2, 3], &[1.0, -2.0, 0.5, 0.25, 3.0, -0.125]).unwrap();
        let bytes = w.to_bytes().unwrap();
        let f = WeightFile::parse_web(bytes.clone(), "toy").unwrap();
        assert_eq!(f.meta_value("config"), Some("{\"n\":2}"));
        assert_eq!(f.tensor("a.weight", &[2, 3]).unwrap(), vec![1.0, -2.0, 0.5, 0.25, 3.0, -0.125]);
        assert!(matches!(f.tensor("a.weight", &[3, 2]), Err(Error::Weights(m)) if m.contains("shape")));
        assert!(matches!(f.tensor("b", &[1]), Err(Error::Weights(m)) if m.contains("missing")));
        assert!(matches!(WeightFile::parse_web(bytes.clone(), "bert"), Err(Error::Weights(m)) if m.contains("\"toy\"")));
        // The header is intact, so the file parses; the tensor cut short says so when read.
        let truncated = WeightFile::parse(bytes[..bytes.len() - 3].to_vec()).unwrap();
        assert!(matches!(truncated.tensor("a.weight", &[2, 3]), Err(Error::Weights(m)) if m.contains("\"a.weight\" lies beyond the end")));
        assert!(WeightFile::parse(b"garbage".to_vec()).is_err());
    }
}
