//! BERT weights (all-MiniLM-L6-v2) on the host: read from a Hugging Face checkpoint (for the
//! converter) or from our web file (for the page), checked tensor by tensor.
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

use serde::{Deserialize, Serialize};

use super::format::{StoreAs, WeightFile, WeightWriter};
use crate::error::{Error, Result};

pub const ARCH: &str = "bert";

/// The architecture numbers the model needs (HF `config.json` names in `serde` aliases).
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
    #[serde(alias = "type_vocab_size")]
    pub type_vocab: usize,
    pub layer_norm_eps: f32,
}

impl BertConfig {
    /// Parses a HF `config.json` (or our stored config) and checks what the model code assumes.
    pub fn from_json(json: &str) -> Result<BertConfig> {
        let c: BertConfig = serde_json::from_str(json).map_err(|e| Error::Weights(format!("config: {e}")))?;
        let v: serde_json::Value = serde_json::from_str(json).map_err(|e| Error::Weights(format!("config: {e}")))?;
        if let Some(act) = v.get("hidden_act").and_then(|a| a.as_str()) {
            if act != "gelu" {
                return Err(Error::Weights(format!("config: hidden_act \"{act}\" is not supported (only the exact erf \"gelu\")")));
            }
        }
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
    pub embeddings: EmbeddingWeights,
    pub layers: Vec<LayerWeights>,
}

/// Reads tensors by name from one file, in one of the two layouts.
struct Reader<'a> {
    file: &'a WeightFile,
    /// HF checkpoints store linear weights [out, in] and q, k, v apart.
    hf: bool,
}

impl Reader<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        self.file.tensor(name, shape)
    }

    fn layer_norm(&self, prefix: &str, dim: usize) -> Result<LayerNormWeights> {
        Ok(LayerNormWeights { weight: self.get(&format!("{prefix}.weight"), &[dim])?, bias: self.get(&format!("{prefix}.bias"), &[dim])? })
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

    fn model(&self, config: BertConfig, vocab: Vec<String>) -> Result<BertWeights> {
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
        if self.file.contains(&extra) {
            return Err(Error::Weights(format!("the file has more layers than the config's {} (found \"{extra}\")", c.layers)));
        }
        Ok(BertWeights { config, vocab, embeddings, layers })
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

fn parse_vocab(vocab_txt: &str) -> Vec<String> {
    vocab_txt.lines().map(|l| l.trim_end_matches('\r').to_string()).collect()
}

impl BertWeights {
    /// From a Hugging Face BERT checkpoint: `model.safetensors`, `config.json`, `vocab.txt`.
    pub fn from_hf(safetensors: Vec<u8>, config_json: &str, vocab_txt: &str) -> Result<BertWeights> {
        let config = BertConfig::from_json(config_json)?;
        let file = WeightFile::parse(safetensors)?;
        Reader { file: &file, hf: true }.model(config, parse_vocab(vocab_txt))
    }

    /// From our web file.
    pub fn from_web(bytes: Vec<u8>) -> Result<BertWeights> {
        let file = WeightFile::parse_web(bytes, ARCH)?;
        let config = BertConfig::from_json(file.meta_value("config").ok_or_else(|| Error::Weights("no \"config\" in the file's metadata".into()))?)?;
        let vocab = parse_vocab(file.meta_value("vocab").ok_or_else(|| Error::Weights("no \"vocab\" in the file's metadata".into()))?);
        Reader { file: &file, hf: false }.model(config, vocab)
    }

    /// Serializes into the web format.
    pub fn to_web(&self, store: StoreAs) -> Result<Vec<u8>> {
        let c = &self.config;
        let h = c.hidden;
        let mut w = WeightWriter::new(ARCH, store);
        w.meta("config", serde_json::to_string(c).map_err(|e| Error::Weights(e.to_string()))?);
        w.meta("vocab", self.vocab.join("\n"));
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
