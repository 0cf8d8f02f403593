//! `runText(…, { stats: true })`: MiniLM's forward also returns each attention row's entropy,
//! computed by the attention kernels (CPU and GPU) as they normalize the row, read back with the
//! maps in the forward's one read. Reference: −Σ p ln p over the same forward's returned weights,
//! in f64; tolerance 1e-4 nats (f32 logs summed over up to 512 terms).
//!
//! Needs the converted model from `make build` (skips outside CI when it is absent).

use attention_playground::cpu::CpuBackend;
use attention_playground::models::bert::{BertModel, BertOutput, BertWeights};
use attention_playground::text::Tokenizer;
use attention_playground::Backend;
mod support;
use support::counting::Counting;
use support::gpu;

const TEXTS: [(&str, Option<&str>); 3] = [
    ("The cat sat on the mat because it was warm.", None),
    ("Attention is all you need!", Some("It was cold.")),
    ("", None),
];

fn weights() -> Option<BertWeights> {
    support::model_file(&support::manifest_path("text"), "MiniLM").map(|bytes| BertWeights::from_web(bytes).expect("the converted weights load"))
}

/// The largest |kernel entropy − entropy of the returned row| over every layer, head and row.
fn entropy_error(out: &BertOutput, heads: usize) -> f64 {
    let seq = out.seq;
    let entropy = out.entropy.as_ref().expect("stats were asked for");
    assert_eq!(entropy.len(), out.attention.len(), "one entropy block per layer");
    let mut worst = 0.0f64;
    for (maps, ent) in out.attention.iter().zip(entropy) {
        assert_eq!(ent.len(), heads * seq, "[heads, seq] per layer");
        for (row, &e) in maps.chunks_exact(seq).zip(ent) {
            let want: f64 = row.iter().filter(|&&p| p > 0.0).map(|&p| -(p as f64) * (p as f64).ln()).sum();
            worst = worst.max((e as f64 - want).abs());
        }
    }
    worst
}

fn check<B: Backend>(b: B, label: &str) {
    let Some(weights) = weights() else { return };
    let tokenizer = Tokenizer::new(weights.vocab.clone()).unwrap();
    let mut b = Counting::new(b);
    let model = BertModel::load(&mut b, &weights).unwrap();
    for (text, pair) in TEXTS {
        let enc = tokenizer.encode(text, pair);
        b.reset();
        let with = pollster::block_on(model.forward_with(&mut b, &enc.ids, &enc.type_ids, None, true)).unwrap();
        assert_eq!(b.reads, 1, "{label}: the entropies are read with the maps, in one read");
        let err = entropy_error(&with, weights.config.heads);
        assert!(err <= 1e-4, "{label} {text:?}: entropy off by {err:e}");
        let without = pollster::block_on(model.forward(&mut b, &enc.ids, &enc.type_ids)).unwrap();
        assert!(without.entropy.is_none(), "{label}: no entropy unless asked for");
        assert_eq!(with.attention, without.attention, "{label}: stats change no weight");
        eprintln!("{label} {:?}: {} tokens, entropy max err {err:.1e}", text, with.seq);
    }
}

#[test]
fn minilm_entropy_on_the_cpu_is_that_of_its_maps() {
    check(CpuBackend::new(), "cpu");
}

#[test]
fn minilm_entropy_on_the_gpu_is_that_of_its_maps() {
    let Some(g) = gpu() else { return };
    check(g, "gpu");
}
