//! BERT-family checkpoint folder (HF `model.safetensors` + `config.json` + `vocab.txt` or
//! `tokenizer.json`; see `BertWeights::from_files`) → web format. f32 by default: with f16 weights MiniLM's attention maps move by up to ~2e-3 from
//! PyTorch's, which is the parity tolerance; `--f16` halves the file for those who accept that.
//! `--f16-embeddings` stores only the word-embedding table (half of MiniLM) in f16.

use std::path::Path;

use attention_playground::models::bert::BertWeights;
use attention_playground::models::bert_files::TEXT_FILES;
use attention_playground::weights::folder::ModelFiles;
use attention_playground::weights::{narrow, StoreAs};

const USAGE: &str = "usage: convert text <model folder> <out.safetensors> [--manifest FILE] [--f16 | --f16-embeddings]";

pub fn run(args: &[String]) -> Result<(), String> {
    let mut pos = Vec::new();
    let mut manifest = None;
    let mut store = StoreAs::F32;
    let mut f16_embeddings = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--manifest" => manifest = Some(it.next().ok_or(USAGE)?.clone()),
            "--f16" => store = StoreAs::F16,
            "--f16-embeddings" => f16_embeddings = true,
            _ if a.starts_with("--") => return Err(format!("unknown option {a}; {USAGE}")),
            _ => pos.push(a.clone()),
        }
    }
    let [src, out] = pos.as_slice() else { return Err(USAGE.into()) };
    let dir = Path::new(src);
    // The same conversion as the page's loadTextModelFiles: the folder's files it reads, by name.
    let mut files = ModelFiles::new();
    for name in TEXT_FILES {
        let path = dir.join(name);
        if path.is_file() {
            files.insert(name, std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?);
        }
    }
    let weights = BertWeights::from_files(files).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut bytes = weights.to_web(store).map_err(|e| e.to_string())?;
    if f16_embeddings && matches!(store, StoreAs::F32) {
        bytes = narrow::to_f16(&bytes, &["embeddings.word_embeddings.weight"])?;
    }
    if let Some(parent) = Path::new(out).parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(out, &bytes).map_err(|e| format!("cannot write {out}: {e}"))?;
    let c = &weights.config;
    eprintln!(
        "convert text: wrote {out} ({:.1} MB; {} layers × {} heads, hidden {}, vocab {})",
        bytes.len() as f64 / 1e6,
        c.layers,
        c.heads,
        c.hidden,
        c.vocab_size
    );
    if let Some(m) = manifest {
        let hashed = super::manifest::publish(&m, "text", out)?;
        eprintln!("convert text: renamed to {} and recorded in {m}", hashed.display());
    }
    Ok(())
}
