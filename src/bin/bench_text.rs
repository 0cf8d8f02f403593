//! Native benchmark of the MiniLM forward (not a test): median wall-clock latency of
//! `BertModel::forward` (tokens in, all 72 attention maps and the embedding read back) for
//! n = 17, 128, 512 tokens, on the CPU backend and the GPU backend (Vulkan; Mesa llvmpipe here,
//! where GPU figures are CPU figures).
//!
//!   cargo run --release --bin bench_text [-- --no-gpu] [-- --reps N] [-- --profile] [-- --threads N]
//!
//! `--threads N` runs the CPU path on N threads of rayon's pool and also prints each forward's CPU
//! time (all threads) and its busiest threads' (the caller blocks while the pool works, so its
//! time is the part not split): on a loaded machine, where wall time says little,
//! 1-thread CPU time over the 2-thread busiest thread bounds the speed-up an idle machine gives.
//!
//! `--profile` also splits the CPU forward by op (the CPU backend computes each op when it is
//! called, so timing the calls is timing the work): where the time goes, for tuning.
//!
//! Needs the text model named in www/models/manifest.json (`make build`).

use std::time::Instant;

use attention_playground::attention::rollout::RolloutArgs;
use attention_playground::backend::{Activation, AttentionArgs, AttentionOutput, BackendKind, Col2Im, LayerNorm, Linear, Resize};
use attention_playground::cpu::CpuBackend;
use attention_playground::gpu::GpuBackend;
use attention_playground::models::bert::{BertModel, BertWeights};
use attention_playground::{Backend, Result};

const SIZES: [usize; 3] = [17, 128, 512];

/// The text model's file: its name carries a content hash, so the manifest says which it is.
fn text_model_path() -> String {
    let manifest = std::fs::read_to_string("www/models/manifest.json").unwrap_or_else(|e| panic!("www/models/manifest.json: {e} (run `make build`)"));
    let m: serde_json::Value = serde_json::from_str(&manifest).expect("www/models/manifest.json is JSON");
    format!("www/models/{}", m["text"].as_str().expect("www/models/manifest.json names a \"text\" model"))
}

/// Token ids of a plausible sentence of `n` tokens: [CLS] … [SEP], words from the vocabulary.
fn ids(n: usize) -> Vec<u32> {
    (0..n).map(|i| if i == 0 { 101 } else if i == n - 1 { 102 } else { 1996 + (i as u32 * 37) % 5000 }).collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// CPU milliseconds (user + system) of each thread of this process, by thread id (Linux
/// /proc; empty elsewhere). Clock ticks of 10 ms: measure several forwards together.
fn thread_cpu_ms() -> std::collections::HashMap<String, f64> {
    let mut out = std::collections::HashMap::new();
    for e in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        // Fields after the parenthesized name: state is field 3, utime 14, stime 15.
        let f: Vec<&str> = stat[stat.rfind(')').unwrap_or(0) + 2..].split(' ').collect();
        let ticks = |i: usize| f.get(i - 3).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        out.insert(e.file_name().to_string_lossy().into_owned(), (ticks(14) + ticks(15)) * 10.0);
    }
    out
}

/// Median milliseconds of `reps` forwards of `n` tokens, after one warm-up; with `cpu`, also
/// the CPU ms per forward over all threads and on the busiest three.
fn time<B: Backend>(b: &mut B, model: &BertModel<B>, n: usize, reps: usize, cpu: bool) -> (f64, Option<(f64, Vec<f64>)>) {
    let (ids, types) = (ids(n), vec![0u32; n]);
    let mut run = || {
        let start = Instant::now();
        let out = pollster::block_on(model.forward(b, &ids, &types)).expect("forward");
        assert_eq!(out.attention.iter().map(Vec::len).sum::<usize>(), 72 * n * n);
        start.elapsed().as_secs_f64() * 1e3
    };
    run();
    let before = thread_cpu_ms();
    let wall = median((0..reps).map(|_| run()).collect());
    let after = thread_cpu_ms();
    let mut spent: Vec<f64> = after.iter().map(|(t, ms)| (ms - before.get(t).copied().unwrap_or(0.0)) / reps as f64).collect();
    spent.sort_by(|a, b| b.total_cmp(a));
    (wall, cpu.then(|| (spent.iter().sum(), spent[..spent.len().min(3)].to_vec())))
}

/// A backend that adds up the wall time of each kind of op it forwards to `inner`.
struct Timed<B> {
    inner: B,
    /// (op, seconds), in first-seen order.
    spent: Vec<(&'static str, f64)>,
}

impl<B> Timed<B> {
    fn add<R>(&mut self, op: &'static str, f: impl FnOnce(&mut B) -> R) -> R {
        let start = Instant::now();
        let r = f(&mut self.inner);
        let t = start.elapsed().as_secs_f64();
        match self.spent.iter_mut().find(|(o, _)| *o == op) {
            Some((_, s)) => *s += t,
            None => self.spent.push((op, t)),
        }
        r
    }
}

impl<B: Backend> Backend for Timed<B> {
    type Tensor = B::Tensor;
    type Weight = B::Weight;
    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }
    fn upload(&mut self, data: &[f32]) -> Result<B::Tensor> {
        self.add("upload", |b| b.upload(data))
    }
    fn len(&self, t: &B::Tensor) -> usize {
        self.inner.len(t)
    }
    fn upload_weight(&mut self, w: &[f32], inp: usize, out: usize) -> Result<B::Weight> {
        self.add("upload", |b| b.upload_weight(w, inp, out))
    }
    fn linear(&mut self, op: &Linear<'_, B::Tensor, B::Weight>) -> Result<B::Tensor> {
        let name = match (op.activation, op.out_dim) {
            (Activation::Gelu, _) => "linear FFN up + GELU",
            (_, o) if o == 3 * op.in_dim => "linear QKV",
            (_, o) if o < op.in_dim => "linear FFN down",
            _ => "linear attention out",
        };
        self.add(name, |b| b.linear(op))
    }
    fn layer_norm(&mut self, op: &LayerNorm<'_, B::Tensor>) -> Result<B::Tensor> {
        self.add("layer_norm", |b| b.layer_norm(op))
    }
    fn col2im(&mut self, op: &Col2Im<'_, B::Tensor>) -> Result<B::Tensor> {
        self.add("col2im", |b| b.col2im(op))
    }
    fn resize(&mut self, op: &Resize<'_, B::Tensor>) -> Result<B::Tensor> {
        self.add("resize", |b| b.resize(op))
    }
    fn attention(&mut self, args: &AttentionArgs<'_, B::Tensor>) -> Result<AttentionOutput<B::Tensor>> {
        self.add("attention (weights returned)", |b| b.attention(args))
    }
    fn rollout(&mut self, args: &RolloutArgs<'_, B::Tensor>) -> Result<B::Tensor> {
        self.add("rollout", |b| b.rollout(args))
    }
    async fn read(&mut self, tensors: &[&B::Tensor]) -> Result<Vec<Vec<f32>>> {
        let start = Instant::now();
        let r = self.inner.read(tensors).await;
        self.spent.push(("read", start.elapsed().as_secs_f64()));
        r
    }
}

/// One CPU forward of each size, split by op.
fn profile(weights: &BertWeights) {
    let mut b = Timed { inner: CpuBackend::new(), spent: vec![] };
    let model = BertModel::load(&mut b, weights).expect("load on the CPU");
    for n in SIZES {
        b.spent.clear();
        let start = Instant::now();
        pollster::block_on(model.forward(&mut b, &ids(n), &vec![0; n])).expect("forward");
        let total = start.elapsed().as_secs_f64();
        println!("  cpu n={n} profile ({:.1} ms):", total * 1e3);
        for (op, t) in &b.spent {
            println!("    {op:<30} {:8.1} ms {:5.1}%", t * 1e3, 100.0 * t / total);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let no_gpu = args.iter().any(|a| a == "--no-gpu");
    let reps = args.iter().position(|a| a == "--reps").and_then(|i| args.get(i + 1)).and_then(|s| s.parse().ok()).unwrap_or(5);
    let threads: Option<usize> = args.iter().position(|a| a == "--threads").and_then(|i| args.get(i + 1)).and_then(|s| s.parse().ok());
    if let Some(t) = threads {
        attention_playground::cpu::pool::set_threads(t);
        println!("CPU path on {} thread(s)", attention_playground::cpu::pool::threads());
    }
    let path = text_model_path();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e} (run `make build`)"));
    let weights = BertWeights::from_web(bytes).expect("the converted weights load");

    if args.iter().any(|a| a == "--profile") {
        profile(&weights);
    }
    println!("MiniLM-L6 forward, all 72 maps + embedding read back; median of {reps} (ms)");
    let mut cpu = CpuBackend::new();
    let model = BertModel::load(&mut cpu, &weights).expect("load on the CPU");
    for n in SIZES {
        match time(&mut cpu, &model, n, reps, threads.is_some()) {
            (wall, Some((total, busiest))) => println!("  cpu  n={n:>3}: {wall:9.1}   CPU ms per forward: {total:.0} on all threads, {busiest:.0?} on the busiest"),
            (wall, None) => println!("  cpu  n={n:>3}: {wall:9.1}"),
        }
    }
    if no_gpu {
        return;
    }
    match pollster::block_on(GpuBackend::new()) {
        Ok(mut gpu) => {
            let name = gpu.context().adapter_name.clone();
            let model = BertModel::load(&mut gpu, &weights).expect("load on the GPU");
            for n in SIZES {
                println!("  gpu  n={n:>3}: {:9.1}   ({name})", time(&mut gpu, &model, n, reps, false).0);
            }
        }
        Err(e) => println!("  gpu: skipped ({e})"),
    }
}
