//! A BERT-architecture encoder from a Hugging Face model folder, as `loadTextModelFiles` gets it:
//! `config.json` (its variations: sizes, GELU flavour, layer-norm eps), `model.safetensors`
//! (f32, f16 or bf16; tensor names bare as `BertModel` saves them, or under a prefix such as
//! `bert.` when a model with a head was saved whole), and the WordPiece vocabulary from
//! `tokenizer.json` (with its normalizer's settings) or `vocab.txt` (with `tokenizer_config.json`'s
//! `do_lower_case`). Anything it cannot use is an error that names it; no partial model.

use serde_json::Value;

use super::bert::{parse_vocab, BertConfig, BertWeights, Reader};
use crate::error::{Error, Result};
use crate::text::normalize::Normalization;
use crate::weights::folder::ModelFiles;
use crate::weights::WeightFile;

/// The files of a folder this converter reads (any others are left unread).
pub const TEXT_FILES: [&str; 5] = ["config.json", "model.safetensors", "tokenizer.json", "vocab.txt", "tokenizer_config.json"];

/// The one tensor every BERT has, by which the name prefix is found.
const ANCHOR: &str = "embeddings.word_embeddings.weight";

fn bad(msg: impl Into<String>) -> Error {
    Error::Weights(msg.into())
}

impl BertWeights {
    /// Converts a model folder's files (see the module header).
    pub fn from_files(mut files: ModelFiles) -> Result<BertWeights> {
        missing(&files)?;
        let config_json = files.require_text("config.json", "the model's configuration")?;
        check_model_type(config_json)?;
        let config = BertConfig::from_json(config_json)?;
        let (vocab, normalization) = vocabulary(&files)?;
        let safetensors = match files.take("model.safetensors", "the weights") {
            Ok(bytes) => bytes,
            Err(_) if files.was_offered("model.safetensors.index.json") => {
                return Err(bad("model.safetensors is missing: weights split into shards (model.safetensors.index.json) are not supported; give one model.safetensors"))
            }
            Err(_) if files.was_offered("pytorch_model.bin") => {
                return Err(bad(
                    "model.safetensors is missing: only safetensors weights are read, not pytorch_model.bin (save with save_pretrained(…, safe_serialization=True))",
                ))
            }
            Err(e) => return Err(e),
        };
        let file = WeightFile::parse(safetensors).map_err(|e| bad(format!("model.safetensors: {}", message(e))))?;
        let prefix = prefix(&file)?;
        Reader { file: &file, hf: true, prefix }.model(config, vocab, normalization)
    }
}

/// Every required file that is absent, in one message.
fn missing(files: &ModelFiles) -> Result<()> {
    let mut absent = Vec::new();
    if !files.has("config.json") {
        absent.push("config.json (the model's configuration)");
    }
    // Weights in another form get their own message (from_files).
    let other_weights = files.was_offered("model.safetensors.index.json") || files.was_offered("pytorch_model.bin");
    if !files.has("model.safetensors") && !other_weights {
        absent.push("model.safetensors (the weights)");
    }
    if !files.has("tokenizer.json") && !files.has("vocab.txt") {
        absent.push("vocab.txt or tokenizer.json (the WordPiece vocabulary)");
    }
    match absent.as_slice() {
        [] => Ok(()),
        [one] => Err(bad(format!("{one} is missing"))),
        [most @ .., last] => Err(bad(format!("{} and {last} are missing", most.join(", ")))),
    }
}

fn message(e: Error) -> String {
    match e {
        Error::Weights(m) | Error::Invalid(m) => m,
        other => other.to_string(),
    }
}

/// Only BERT's layout is converted; other encoders (RoBERTa, DistilBERT, ALBERT…) name and shape
/// their tensors otherwise, or tokenize otherwise.
fn check_model_type(config_json: &str) -> Result<()> {
    let v: Value = serde_json::from_str(config_json).map_err(|e| bad(format!("config.json is not JSON ({e})")))?;
    match v.get("model_type") {
        None => Ok(()),
        Some(Value::String(t)) if t == "bert" => Ok(()),
        Some(t) => Err(bad(format!(
            "config.json: model_type {t} is not supported; this converter reads BERT-architecture encoders (model_type \"bert\": BERT, MiniLM and the like)"
        ))),
    }
}

/// "" or the prefix before `embeddings.word_embeddings.weight` ("bert.", …); bare names win.
fn prefix(file: &WeightFile) -> Result<String> {
    if file.contains(ANCHOR) {
        return Ok(String::new());
    }
    let names = file.names();
    let mut found: Vec<&str> = names.iter().filter_map(|n| n.strip_suffix(ANCHOR)).filter(|p| p.is_empty() || p.ends_with('.')).collect();
    found.sort_by_key(|p| p.len());
    match found.first() {
        Some(p) => Ok(p.to_string()),
        None => {
            let some: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
            Err(bad(format!(
                "model.safetensors has no tensor \"{ANCHOR}\" (nor one under a prefix such as \"bert.\"): not a BERT checkpoint? Its first tensors: {some:?}"
            )))
        }
    }
}

/// The vocabulary and its normalization: `tokenizer.json` if given (what HF's fast tokenizer
/// reads), else `vocab.txt` with `tokenizer_config.json`'s settings.
fn vocabulary(files: &ModelFiles) -> Result<(Vec<String>, Normalization)> {
    if let Some(json) = files.text("tokenizer.json")? {
        return from_tokenizer_json(json);
    }
    let Some(vocab_txt) = files.text("vocab.txt")? else {
        return Err(bad("vocab.txt or tokenizer.json is missing (the WordPiece vocabulary)"));
    };
    let mut norm = Normalization::UNCASED;
    if let Some(cfg) = files.text("tokenizer_config.json")? {
        let v: Value = serde_json::from_str(cfg).map_err(|e| bad(format!("tokenizer_config.json is not JSON ({e})")))?;
        // BertTokenizer's defaults: lowercase; strip accents when lowercasing unless told.
        let lowercase = flag(&v, "do_lower_case", "tokenizer_config.json")?.unwrap_or(true);
        let strip_accents = flag(&v, "strip_accents", "tokenizer_config.json")?.unwrap_or(lowercase);
        norm = Normalization { lowercase, strip_accents };
    }
    Ok((parse_vocab(vocab_txt), norm))
}

/// A true/false/null (or absent) setting.
fn flag(v: &Value, key: &str, file: &str) -> Result<Option<bool>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(bad(format!("{file}: \"{key}\" must be true, false or null, got {other}"))),
    }
}

fn from_tokenizer_json(json: &str) -> Result<(Vec<String>, Normalization)> {
    let v: Value = serde_json::from_str(json).map_err(|e| bad(format!("tokenizer.json is not JSON ({e})")))?;
    let model = v.get("model").ok_or_else(|| bad("tokenizer.json has no \"model\""))?;
    match model.get("type").and_then(Value::as_str) {
        Some("WordPiece") => {}
        Some(t) => return Err(bad(format!("tokenizer.json holds a {t} tokenizer; only WordPiece vocabularies (BERT's) are supported"))),
        None => return Err(bad("tokenizer.json: the model has no \"type\" (expected \"WordPiece\")")),
    }
    match model.get("continuing_subword_prefix").and_then(Value::as_str) {
        None | Some("##") => {}
        Some(p) => return Err(bad(format!("tokenizer.json: continuing_subword_prefix \"{p}\" is not supported (only \"##\")"))),
    }
    let map = model.get("vocab").and_then(Value::as_object).ok_or_else(|| bad("tokenizer.json: the model has no \"vocab\" object"))?;
    let mut vocab: Vec<Option<String>> = vec![None; map.len()];
    for (token, id) in map {
        let id = id.as_u64().and_then(|i| usize::try_from(i).ok()).filter(|&i| i < map.len());
        let id = id.ok_or_else(|| bad(format!("tokenizer.json: token {token:?} has an id outside 0..{}", map.len())))?;
        if vocab[id].replace(token.clone()).is_some() {
            return Err(bad(format!("tokenizer.json: two tokens have id {id}")));
        }
    }
    // Each id is in 0..len and none repeats, so every slot is filled.
    let vocab = vocab.into_iter().map(Option::unwrap_or_default).collect();
    Ok((vocab, normalizer(v.get("normalizer"))?))
}

fn normalizer(n: Option<&Value>) -> Result<Normalization> {
    let Some(n) = n.filter(|n| !n.is_null()) else {
        return Ok(Normalization { lowercase: false, strip_accents: false });
    };
    match n.get("type").and_then(Value::as_str) {
        Some("BertNormalizer") => {
            let lowercase = flag(n, "lowercase", "tokenizer.json normalizer")?.unwrap_or(true);
            let strip_accents = flag(n, "strip_accents", "tokenizer.json normalizer")?.unwrap_or(lowercase);
            Ok(Normalization { lowercase, strip_accents })
        }
        Some("Lowercase") => Ok(Normalization { lowercase: true, strip_accents: false }),
        other => Err(bad(format!(
            "tokenizer.json: normalizer {} is not supported (only BertNormalizer, as BERT's)",
            other.map_or_else(|| n.to_string(), |t| format!("\"{t}\""))
        ))),
    }
}
