//! The web weight format: a safetensors file (f16 or f32 tensors) whose metadata names the
//! format, the architecture and its config, so one fetch gives the page everything a model needs.
//!
//! Metadata keys: `format` = FORMAT, `arch` (e.g. "bert", "dinov2"), `config` (JSON), and
//! whatever else an architecture needs (e.g. `vocab`, newline-separated).

use std::collections::HashMap;

use half::f16;
use safetensors::tensor::{Dtype, Metadata, TensorView};

use crate::error::{Error, Result};

pub const FORMAT: &str = "attention-playground/weights@1";

/// How tensors are stored in a file we write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreAs {
    F16,
    F32,
}

/// A parsed weight file: the header, plus the bytes it indexes.
pub struct WeightFile {
    bytes: Vec<u8>,
    data_start: usize,
    meta: Metadata,
}

impl WeightFile {
    /// Parses any safetensors file (ours, or a source checkpoint such as HF `model.safetensors`).
    pub fn parse(bytes: Vec<u8>) -> Result<WeightFile> {
        let (header_len, meta) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| Error::Weights(format!("not a valid safetensors file ({e:?}); is the file truncated or of another kind?")))?;
        let data_start = 8 + header_len;
        Ok(WeightFile { bytes, data_start, meta })
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
        self.meta.metadata().as_ref()?.get(key).map(String::as_str)
    }

    pub fn names(&self) -> Vec<String> {
        let mut n: Vec<String> = self.meta.tensors().into_keys().collect();
        n.sort();
        n
    }

    pub fn contains(&self, name: &str) -> bool {
        self.meta.info(name).is_some()
    }

    pub fn shape(&self, name: &str) -> Result<&[usize]> {
        Ok(&self.info(name)?.shape)
    }

    fn info(&self, name: &str) -> Result<&safetensors::tensor::TensorInfo> {
        self.meta.info(name).ok_or_else(|| Error::Weights(format!("tensor \"{name}\" is missing")))
    }

    /// The tensor `name` as f32, checking that its shape is `expect`.
    pub fn tensor(&self, name: &str, expect: &[usize]) -> Result<Vec<f32>> {
        let info = self.info(name)?;
        if info.shape != expect {
            return Err(Error::Weights(format!("tensor \"{name}\" has shape {:?}, expected {:?}", info.shape, expect)));
        }
        let (a, b) = info.data_offsets;
        let raw = self
            .bytes
            .get(self.data_start + a..self.data_start + b)
            .ok_or_else(|| Error::Weights(format!("tensor \"{name}\" lies beyond the end of the file (truncated?)")))?;
        let n: usize = info.shape.iter().product();
        let out: Vec<f32> = match info.dtype {
            Dtype::F32 => raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            Dtype::F16 => raw.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            Dtype::BF16 => raw.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            other => return Err(Error::Weights(format!("tensor \"{name}\" has dtype {other:?}; only f32, f16 and bf16 are supported"))),
        };
        if out.len() != n {
            return Err(Error::Weights(format!("tensor \"{name}\" has {} values for shape {:?}", out.len(), info.shape)));
        }
        if out.iter().any(|v| !v.is_finite()) {
            return Err(Error::Weights(format!("tensor \"{name}\" contains NaN or infinite values")));
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
        let truncated = bytes[..bytes.len() - 3].to_vec();
        assert!(WeightFile::parse(truncated).is_err());
        assert!(WeightFile::parse(b"garbage".to_vec()).is_err());
    }
}
