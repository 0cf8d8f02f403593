//! MiniLM against PyTorch (fixtures from scripts/make-text-fixtures.py): our tokens must equal
//! the HF tokenizer's, attention weights within 2e-3 (max abs; fixtures are f16), and the
//! sentence embedding a cosine ≥ 0.9999 from torch's. CPU backend, every fixture case.
//!
//! Needs the converted model: `make build` writes www/models/minilm-l6-v2.safetensors.

use attention_playground::cpu::CpuBackend;
use attention_playground::models::bert::BertModel;
use attention_playground::text::Tokenizer;
use attention_playground::weights::bert::BertWeights;
use attention_playground::weights::WeightFile;

const WEB_FILE: &str = "www/models/minilm-l6-v2.safetensors";

fn path(p: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

#[test]
fn minilm_cpu_matches_torch() {
    let web = path(WEB_FILE);
    assert!(web.exists(), "{} is missing: run `make build` first (it fetches and converts MiniLM)", web.display());
    let weights = BertWeights::from_web(std::fs::read(web).unwrap()).unwrap();
    let tokenizer = Tokenizer::new(weights.vocab.clone()).unwrap();
    let mut cpu = CpuBackend::new();
    let model = BertModel::load(&mut cpu, &weights).unwrap();
    let c = &weights.config;

    let cases: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path("tests/fixtures/text/cases.json")).unwrap()).unwrap();
    let att = WeightFile::parse(std::fs::read(path("tests/fixtures/text/attention.safetensors")).unwrap()).unwrap();
    let cases = cases["cases"].as_array().unwrap();
    assert!(cases.len() >= 25);
    for (i, case) in cases.iter().enumerate() {
        let text = case["text"].as_str().unwrap();
        let pair = case["pair"].as_str();
        let enc = tokenizer.encode(text, pair);
        let tokens: Vec<&str> = case["tokens"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        assert_eq!(enc.tokens, tokens, "case {i}: tokens");
        let ids: Vec<u32> = case["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        assert_eq!(enc.ids, ids, "case {i}: ids");

        let out = pollster::block_on(model.forward(&mut cpu, &enc.ids, &enc.type_ids)).unwrap();
        let seq = out.seq;
        let rows: Vec<usize> = case["rows"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        let want = att.tensor(&format!("case{i}"), &[c.layers, c.heads, rows.len(), seq]).unwrap();
        let mut max_err = 0.0f32;
        for lh in 0..c.layers * c.heads {
            for (r, &row) in rows.iter().enumerate() {
                for j in 0..seq {
                    let ours = out.attention[(lh * seq + row) * seq + j];
                    let theirs = want[(lh * rows.len() + r) * seq + j];
                    max_err = max_err.max((ours - theirs).abs());
                }
            }
        }
        assert!(max_err <= 2e-3, "case {i} ({seq} tokens): attention max abs err {max_err}");
        let emb: Vec<f32> = case["embedding"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        let cos: f32 = emb.iter().zip(&out.embedding).map(|(a, b)| a * b).sum::<f32>()
            / (emb.iter().map(|v| v * v).sum::<f32>().sqrt() * out.embedding.iter().map(|v| v * v).sum::<f32>().sqrt());
        assert!(cos >= 0.9999, "case {i}: embedding cosine {cos}");
        eprintln!("case {i}: {seq} tokens, attention max err {max_err:.2e}, cosine {cos:.7}");
    }
}
