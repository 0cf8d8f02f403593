//! The CPU path on a thread pool gives the same bits as on one thread (`cpu::pool`: work is cut
//! into pieces fixed by the shapes, never by the thread count): dense ops, every attention
//! variant, and the MiniLM and DINOv2 forwards on real inputs, 1 thread against 2 and 4.
//! With the same bits, the models' parity with PyTorch / onnxruntime (bert_parity, dinov2_parity)
//! holds on any number of threads.

mod attention_common;
mod support;

use attention_common::{inputs, run, variants, Host};
use attention_playground::backend::{Activation, LayerNorm, Linear, Weight};
use attention_playground::cpu::dense::{self, seeded_uniform};
use attention_playground::cpu::{pool, CpuBackend};
use attention_playground::models::bert::{BertModel, BertWeights};
use attention_playground::models::dinov2::{Dinov2, Dinov2Weights};
use attention_playground::text::Tokenizer;

/// Runs `f` on a rayon pool of `n` threads (1: on the calling thread, the single-threaded path).
/// Every piece goes to the pool, also where the work is too small to be worth it in use
/// (`pool::MIN_PARALLEL_WORK`), so the small shapes here split too.
fn on_threads<R: Send>(n: usize, f: impl FnOnce() -> R + Send) -> R {
    pool::set_min_parallel_work(0);
    if n == 1 {
        assert_eq!(pool::threads(), 1, "outside a pool the CPU path is single-threaded");
        return f();
    }
    rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap().install(|| {
        assert_eq!(pool::threads(), n);
        f()
    })
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// `f` on 1, 2 and 4 threads gives the same bits.
fn same_bits(what: &str, f: impl Fn() -> Vec<Vec<f32>> + Send + Sync) {
    let one: Vec<Vec<u32>> = on_threads(1, &f).iter().map(|v| bits(v)).collect();
    for n in [2, 4] {
        let many: Vec<Vec<u32>> = on_threads(n, &f).iter().map(|v| bits(v)).collect();
        assert!(one == many, "{what}: {n} threads differ from 1");
    }
}

#[test]
fn dense_ops_are_bit_identical_on_any_thread_count() {
    // Shapes across the piece boundaries (64 rows, 128 columns) and k blocks (512), with every
    // epilogue; row-major and packed weights.
    for &(rows, k, n) in &[(1, 1, 1), (17, 384, 1152), (65, 700, 130), (257, 384, 1536), (129, 1536, 384), (300, 1100, 9)] {
        let x = seeded_uniform(rows * k, 1, 1.0);
        let w = seeded_uniform(k * n, 2, 0.1);
        let packed = dense::PackedWeight::new(&w, k, n).unwrap();
        let bias = seeded_uniform(n, 3, 0.5);
        let res = seeded_uniform(rows * n, 4, 1.0);
        let scale = seeded_uniform(n, 5, 1.0);
        for activation in [Activation::None, Activation::Gelu] {
            same_bits(&format!("linear {rows}×{k}·{k}×{n} {activation:?}"), || {
                let plain = Linear { activation, ..Linear::new(&x, rows, &w, k, n, Some(&bias)) };
                let fused = Linear { activation, residual: Some(&res), residual_scale: Some(&scale), ..Linear::with_weight(&x, rows, Weight::Uploaded(&packed), k, n, Some(&bias)) };
                vec![dense::linear(&plain), dense::linear(&fused)]
            });
        }
        let (gamma, beta) = (seeded_uniform(k, 6, 1.0), seeded_uniform(k, 7, 1.0));
        same_bits(&format!("layer_norm {rows}×{k}"), || vec![dense::layer_norm(&LayerNorm { x: &x, rows, dim: k, gamma: &gamma, beta: &beta, eps: 1e-6 })]);
    }
}

#[test]
fn attention_is_bit_identical_on_any_thread_count() {
    for &(heads, seq_q, seq_k, d) in &[(12, 70, 70, 32), (3, 5, 9, 8), (6, 130, 129, 64)] {
        let x = inputs(heads, seq_q, seq_k, d, 9);
        for (name, mut spec) in variants(seq_q, seq_k, d) {
            spec.return_weights = true;
            same_bits(&format!("{name} {heads}×{seq_q}×{seq_k}×{d}"), || {
                let Host { output, weights, entropy, coverage } = run(&mut CpuBackend::new(), &x, &spec).unwrap();
                [Some(output), weights, entropy, coverage].into_iter().flatten().collect()
            });
        }
    }
}

#[test]
fn minilm_is_bit_identical_on_any_thread_count() {
    let Some(bytes) = support::model_file(&support::manifest_path("text"), "MiniLM") else { return };
    let weights = BertWeights::from_web(bytes).unwrap();
    let tokenizer = Tokenizer::new(weights.vocab.clone()).unwrap();
    let model = BertModel::load(&mut CpuBackend::new(), &weights).unwrap();
    let long = "The quick brown fox jumps over the lazy dog near the river bank. ".repeat(14);
    for text in ["Attention is all you need.", long.as_str()] {
        let enc = tokenizer.encode(text, None);
        same_bits(&format!("MiniLM on {} tokens", enc.ids.len()), || {
            let out = pollster::block_on(model.forward(&mut CpuBackend::new(), &enc.ids, &enc.type_ids)).unwrap();
            let mut all = out.attention;
            all.push(out.embedding);
            all
        });
    }
}

#[test]
fn dinov2_is_bit_identical_on_any_thread_count() {
    let Some(bytes) = support::model_file(&support::manifest_path("vision"), "DINOv2") else { return };
    let weights = Dinov2Weights::from_bytes(bytes).unwrap();
    let model = std::sync::Mutex::new(Dinov2::load(&mut CpuBackend::new(), &weights).unwrap());
    // A 224 × 168 gradient (not square: a 16 × 12 grid).
    let (w, h) = (224, 168);
    let rgba: Vec<u8> = (0..w * h).flat_map(|i| [(i % w * 255 / w) as u8, (i / w * 255 / h) as u8, (i * 7 % 251) as u8, 255]).collect();
    same_bits("DINOv2 on 224×168", || {
        let out = pollster::block_on(model.lock().unwrap().run_image(&mut CpuBackend::new(), &rgba, w, h)).unwrap();
        let mut all = out.attention;
        all.push(out.hidden);
        all.push(out.saliency.unwrap());
        all
    });
}
