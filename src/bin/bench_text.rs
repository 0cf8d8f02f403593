//! Native benchmark of the MiniLM forward (not a test): median wall-clock latency of
//! `BertModel::forward` (tokens in, all 72 attention maps and the embedding read back) for
//! n = 17, 128, 512 tokens, on the CPU backend and the GPU backend (Vulkan; Mesa llvmpipe here,
//! where GPU figures are CPU figures).
//!
//!   cargo run --release --bin bench_text [-- --no-gpu] [-- --reps N]
//!
//! Needs www/models/minilm-l6-v2.safetensors (`make build`).

use std::time::Instant;

use attention_playground::cpu::CpuBackend;
use attention_playground::gpu::GpuBackend;
use attention_playground::models::bert::BertModel;
use attention_playground::weights::bert::BertWeights;
use attention_playground::Backend;

const WEIGHTS: &str = "www/models/minilm-l6-v2.safetensors";
const SIZES: [usize; 3] = [17, 128, 512];

/// Token ids of a plausible sentence of `n` tokens: [CLS] … [SEP], words from the vocabulary.
fn ids(n: usize) -> Vec<u32> {
    (0..n).map(|i| if i == 0 { 101 } else if i == n - 1 { 102 } else { 1996 + (i as u32 * 37) % 5000 }).collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median milliseconds of `reps` forwards of `n` tokens, after one warm-up.
fn time<B: Backend>(b: &mut B, model: &BertModel<B>, n: usize, reps: usize) -> f64 {
    let (ids, types) = (ids(n), vec![0u32; n]);
    let mut run = || {
        let start = Instant::now();
        let out = pollster::block_on(model.forward(b, &ids, &types)).expect("forward");
        assert_eq!(out.attention.len(), 72 * n * n);
        start.elapsed().as_secs_f64() * 1e3
    };
    run();
    median((0..reps).map(|_| run()).collect())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let no_gpu = args.iter().any(|a| a == "--no-gpu");
    let reps = args.iter().position(|a| a == "--reps").and_then(|i| args.get(i + 1)).and_then(|s| s.parse().ok()).unwrap_or(5);
    let bytes = std::fs::read(WEIGHTS).unwrap_or_else(|e| panic!("{WEIGHTS}: {e} (run `make build`)"));
    let weights = BertWeights::from_web(bytes).expect("the converted weights load");

    println!("MiniLM-L6 forward, all 72 maps + embedding read back; median of {reps} (ms)");
    let mut cpu = CpuBackend::new();
    let model = BertModel::load(&mut cpu, &weights).expect("load on the CPU");
    for n in SIZES {
        println!("  cpu  n={n:>3}: {:9.1}", time(&mut cpu, &model, n, reps));
    }
    if no_gpu {
        return;
    }
    match pollster::block_on(GpuBackend::new()) {
        Ok(mut gpu) => {
            let name = gpu.context().adapter_name.clone();
            let model = BertModel::load(&mut gpu, &weights).expect("load on the GPU");
            for n in SIZES {
                println!("  gpu  n={n:>3}: {:9.1}   ({name})", time(&mut gpu, &model, n, reps));
            }
        }
        Err(e) => println!("  gpu: skipped ({e})"),
    }
}
