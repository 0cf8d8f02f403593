//! The weight-file parsers on mutated files (issue 13, fuzzing (c)): never a panic, and a message
//! that names what is wrong. Small valid BERT and DINOv2 web files are written here, then
//! mutated byte by byte, truncated, or edited in their header (a tensor dropped, its dtype,
//! shape or offsets changed, the config replaced); with `www/models` present, the real MiniLM
//! file's header is edited too. `PROPTEST_CASES` sets the number of cases (default 256 per
//! property; `make fuzz-inputs` runs many more).
//!
//! The ONNX reader and the DINOv2 conversion (`src/weights/onnx.rs`, `dinov2_onnx.rs`) are
//! fuzzed beside them (`cargo test --lib fuzz_onnx`); what the page loads is our web format.

use attention_playground::models::dinov2::{synthetic, DecoderConfig, Dinov2Config, Dinov2Weights};
use attention_playground::models::bert::BertWeights;
use attention_playground::weights::{StoreAs, WeightFile};
use attention_playground::Error;
use proptest::prelude::*;
use proptest::test_runner::Config;
mod support;
use support::tiny_bert;

fn tiny_dinov2() -> Vec<u8> {
    let config = Dinov2Config {
        hidden: 8,
        layers: 1,
        heads: 2,
        mlp: 16,
        patch: 2,
        grid: 3,
        eps: 1e-6,
        pos_cubic_a: -0.75,
        decoder: Some(DecoderConfig { channels: vec![4, 3], bn_eps: 1e-5 }),
        variant: Default::default(),
    };
    synthetic(&config, 3).unwrap()
}

/// (header JSON, data section) of a safetensors file.
fn split(bytes: &[u8]) -> (serde_json::Value, &[u8]) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (serde_json::from_slice(&bytes[8..8 + n]).unwrap(), &bytes[8 + n..])
}

fn join(header: &serde_json::Value, data: &[u8]) -> Vec<u8> {
    let text = serde_json::to_vec(header).unwrap();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(data);
    out
}

/// The message of a weights error; any other outcome fails the case.
fn weights_error<T>(r: attention_playground::Result<T>) -> Result<String, TestCaseError> {
    match r {
        Err(Error::Weights(m)) if !m.is_empty() => Ok(m),
        Err(e) => Err(TestCaseError::fail(format!("expected a weights error, got {e:?}"))),
        Ok(_) => Err(TestCaseError::fail("a broken file was accepted")),
    }
}

/// Loads `bytes` with the parser for the architecture it claims (never panicking is the point;
/// proptest reports a panic as a failure).
fn load(bytes: Vec<u8>) -> attention_playground::Result<()> {
    let arch = WeightFile::parse(bytes.clone())?.meta_value("arch").map(str::to_string);
    match arch.as_deref() {
        Some("dinov2") => Dinov2Weights::from_bytes(bytes).map(|_| ()),
        _ => BertWeights::from_web(bytes).map(|_| ()),
    }
}

/// One edit of a header, and what the message must then name.
#[derive(Clone, Debug)]
enum Edit {
    Drop,
    Dtype(String),
    Shape(Vec<usize>),
    Offsets(serde_json::Value),
    Config(String),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        Just(Edit::Drop),
        prop::sample::select(vec!["F64", "I32", "U8", "BOOL", "f32", "", "F8_E4M3"]).prop_map(|d| Edit::Dtype(d.to_string())),
        prop::collection::vec(0usize..20, 0..4).prop_map(Edit::Shape),
        prop_oneof![
            Just(serde_json::json!([8, 4])),
            Just(serde_json::json!([0])),
            Just(serde_json::json!("x")),
            Just(serde_json::json!([0, 1u64 << 60])),
            Just(serde_json::json!([-1, 4])),
            (0u64..2000, 0u64..2000).prop_map(|(a, b)| serde_json::json!([a, b])),
        ]
        .prop_map(Edit::Offsets),
        "\\PC{0,40}".prop_map(Edit::Config),
    ]
}

/// Applies `e` to tensor number `pick` (modulo their count) of `bytes`, then loads the file with
/// `load(file, tensor name, its shape before the edit)`; checks that it fails naming that tensor
/// (or the config), unless the edit changed nothing that matters.
fn check_edit(bytes: &[u8], pick: usize, e: &Edit, load: impl Fn(Vec<u8>, &str, &[usize]) -> attention_playground::Result<()>) -> Result<(), TestCaseError> {
    let (mut header, data) = split(bytes);
    let mut names: Vec<String> = header.as_object().unwrap().keys().filter(|k| *k != "__metadata__").cloned().collect();
    names.sort();
    let name = names[pick % names.len()].clone();
    let entry = &mut header[&name];
    let before = entry.clone();
    match e {
        Edit::Drop => {
            header.as_object_mut().unwrap().remove(&name);
        }
        Edit::Dtype(d) => entry["dtype"] = d.as_str().into(),
        Edit::Shape(s) => entry["shape"] = serde_json::json!(s),
        Edit::Offsets(o) => entry["data_offsets"] = o.clone(),
        Edit::Config(c) => header["__metadata__"]["config"] = c.as_str().into(),
    }
    let unchanged = !matches!(e, Edit::Drop | Edit::Config(_)) && header[&name] == before;
    let shape: Vec<usize> = serde_json::from_value(before["shape"].clone()).unwrap();
    let result = load(join(&header, data), &name, &shape);
    // New offsets of the right length point at other bytes of the file: still a valid file.
    if unchanged || (matches!(e, Edit::Offsets(_)) && result.is_ok()) {
        return Ok(());
    }
    let m = weights_error(result)?;
    let named = match e {
        Edit::Config(_) => m.contains("config"),
        Edit::Drop => m.contains(&format!("missing tensor \"{name}\"")),
        _ => m.contains(&format!("\"{name}\"")),
    };
    prop_assert!(named, "{e:?} on \"{name}\" gave a message that does not name it: {m}");
    Ok(())
}

/// The real MiniLM web file, read once (None without `make build`).
fn real_minilm() -> Option<&'static [u8]> {
    static FILE: std::sync::OnceLock<Option<Vec<u8>>> = std::sync::OnceLock::new();
    FILE.get_or_init(|| std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(support::manifest_path("text"))).ok()).as_deref()
}

/// `default` cases, or PROPTEST_CASES / `divisor` (at least `default`) when that is set.
fn cases(default: u32, divisor: u32) -> Config {
    let n = std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse::<u32>().ok()).map_or(default, |n| (n / divisor).max(default));
    Config { cases: n, failure_persistence: None, ..Config::default() }
}

proptest! {
    #![proptest_config(cases(256, 1))]

    #[test]
    fn mutated_bytes_never_panic(which in 0usize..3, flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut bytes = match which { 0 => tiny_bert(StoreAs::F32), 1 => tiny_bert(StoreAs::F16), _ => tiny_dinov2() };
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        // Either it still loads (a flipped weight is still a weight) or it says why.
        if let Err(e) = load(bytes) {
            prop_assert!(matches!(&e, Error::Weights(m) if !m.is_empty()), "{e:?}");
        }
    }

    #[test]
    fn truncated_files_never_panic(which in 0usize..2, keep in any::<prop::sample::Index>()) {
        let bytes = if which == 0 { tiny_bert(StoreAs::F16) } else { tiny_dinov2() };
        let n = keep.index(bytes.len());
        weights_error(load(bytes[..n].to_vec()))?;
    }

    #[test]
    fn header_edits_name_the_tensor(which in 0usize..2, pick in any::<usize>(), e in edit()) {
        let bytes = if which == 0 { tiny_bert(StoreAs::F32) } else { tiny_dinov2() };
        check_edit(&bytes, pick, &e, |f, _, _| load(f))?;
    }

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), len in any::<u64>()) {
        let mut with_len = len.to_le_bytes().to_vec();
        with_len.extend_from_slice(&bytes);
        weights_error(load(bytes))?;
        weights_error(load(with_len))?;
    }
}

proptest! {
    // Each case copies the 67 MB file (seconds on a loaded machine): a thousandth of the others'
    // count. Only the edited tensor is read (or, for a config edit, the config): the whole model
    // is what the small files are for.
    #![proptest_config(cases(4, 1000))]

    #[test]
    fn real_minilm_header_edits_name_the_tensor(pick in any::<usize>(), e in edit()) {
        if let Some(bytes) = real_minilm() {
            check_edit(bytes, pick, &e, |f, name, shape| match e {
                Edit::Config(_) => BertWeights::from_web(f).map(|_| ()),
                _ => WeightFile::parse(f)?.tensor(name, shape).map(|_| ()),
            })?;
        }
    }
}

#[test]
fn the_issue_s_cases() {
    let bytes = tiny_bert(StoreAs::F32);
    let (header, data) = split(&bytes);
    let without = |name: &str| {
        let mut h = header.clone();
        h.as_object_mut().unwrap().remove(name);
        BertWeights::from_web(join(&h, data)).err().map(|e| e.to_string())
    };
    // Dropping a tensor used to be reported as an InvalidOffset of the next one.
    assert_eq!(
        without("encoder.layer.0.attention.output.LayerNorm.weight").as_deref(),
        Some("bad weights: missing tensor \"encoder.layer.0.attention.output.LayerNorm.weight\"")
    );
    let mut h = header.clone();
    h["embeddings.LayerNorm.bias"]["dtype"] = "F64".into();
    assert_eq!(
        BertWeights::from_web(join(&h, data)).err().map(|e| e.to_string()).as_deref(),
        Some("bad weights: tensor \"embeddings.LayerNorm.bias\" has dtype F64, expected F32, F16 or BF16")
    );
    let mut h = header.clone();
    h["embeddings.LayerNorm.bias"]["shape"] = serde_json::json!([2, 2]);
    assert_eq!(
        BertWeights::from_web(join(&h, data)).err().map(|e| e.to_string()).as_deref(),
        Some("bad weights: tensor \"embeddings.LayerNorm.bias\" has shape [2, 2], expected [4]")
    );
}
