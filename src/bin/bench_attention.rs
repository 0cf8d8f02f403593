//! Attention time per backend for seqK 64 … 4096 (a benchmark, not a test).
//!
//!     cargo run --release --bin bench_attention -- [--heads 4] [--head-dim 64] [--seq-q N]
//!         [--normalizer softmax|sparsemax|entmax15] [--reps 5] [--max-seq 4096] [--cpu-only]
//!         [--gpu-max-seq N]
//!
//! On a software adapter (llvmpipe, SwiftShader) the GPU column stops at 1024 unless
//! `--gpu-max-seq` says otherwise: beyond it one call takes minutes there.
//!
//! Each row is the median over `reps` calls (after one warm-up) of one full call: recording or
//! computing the attention and reading back its output (the weights are computed but not read
//! back). seqQ defaults to seqK (self-attention). GFLOP/s counts the two matrix products,
//! 4·heads·seqQ·seqK·headDim flops, as is usual for attention.

#[cfg(target_arch = "wasm32")]
fn main() {
    // Native tool only: the browser benchmark lives with the page.
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    if let Err(e) = native::main() {
        eprintln!("bench_attention: {e}");
        std::process::exit(1);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::time::Instant;

    use attention_playground::attention::{AttentionDims, AttentionSpec, Normalizer};
    use attention_playground::backend::{AttentionArgs, HeadLayout};
    use attention_playground::cpu::CpuBackend;
    use attention_playground::gpu::GpuBackend;
    use attention_playground::Backend;

    struct Options {
        heads: usize,
        head_dim: usize,
        seq_q: Option<usize>,
        normalizer: Normalizer,
        reps: usize,
        max_seq: usize,
        cpu_only: bool,
        gpu_max_seq: Option<usize>,
    }

    fn parse() -> Result<Options, String> {
        let mut o = Options { heads: 4, head_dim: 64, seq_q: None, normalizer: Normalizer::Softmax, reps: 5, max_seq: 4096, cpu_only: false, gpu_max_seq: None };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
            let number = |s: String, name: &str| s.parse::<usize>().map_err(|_| format!("{name}: not a number: {s}"));
            match a.as_str() {
                "--heads" => o.heads = number(value("--heads")?, "--heads")?,
                "--head-dim" => o.head_dim = number(value("--head-dim")?, "--head-dim")?,
                "--seq-q" => o.seq_q = Some(number(value("--seq-q")?, "--seq-q")?),
                "--reps" => o.reps = number(value("--reps")?, "--reps")?.max(1),
                "--max-seq" => o.max_seq = number(value("--max-seq")?, "--max-seq")?,
                "--cpu-only" => o.cpu_only = true,
                "--gpu-max-seq" => o.gpu_max_seq = Some(number(value("--gpu-max-seq")?, "--gpu-max-seq")?),
                "--normalizer" => {
                    o.normalizer = match value("--normalizer")?.as_str() {
                        "softmax" => Normalizer::Softmax,
                        "sparsemax" => Normalizer::Sparsemax,
                        "entmax15" => Normalizer::Entmax15,
                        other => return Err(format!("unknown normalizer {other}")),
                    }
                }
                other => return Err(format!("unknown argument {other} (see the header of src/bin/bench_attention.rs)")),
            }
        }
        Ok(o)
    }

    /// Median milliseconds of one call on `b`, after a warm-up call.
    fn time<B: Backend>(b: &mut B, dims: AttentionDims, data: &[Vec<f32>; 3], spec: &AttentionSpec, reps: usize) -> Result<f64, String> {
        let q = b.upload(&data[0]).map_err(|e| e.to_string())?;
        let k = b.upload(&data[1]).map_err(|e| e.to_string())?;
        let v = b.upload(&data[2]).map_err(|e| e.to_string())?;
        let args = AttentionArgs {
            dims,
            q: &q,
            q_layout: HeadLayout::head_major(dims.seq_q, dims.head_dim),
            k: &k,
            k_layout: HeadLayout::head_major(dims.seq_k, dims.head_dim),
            v: &v,
            v_layout: HeadLayout::head_major(dims.seq_k, dims.head_dim),
            out_layout: HeadLayout::head_major(dims.seq_q, dims.head_dim),
            spec,
        };
        let mut once = || -> Result<f64, String> {
            let start = Instant::now();
            let out = b.attention(&args).map_err(|e| e.to_string())?;
            pollster::block_on(b.read(&[&out.output])).map_err(|e| e.to_string())?;
            Ok(start.elapsed().as_secs_f64() * 1e3)
        };
        once()?;
        let mut ms: Vec<f64> = (0..reps).map(|_| once()).collect::<Result<_, _>>()?;
        ms.sort_by(f64::total_cmp);
        Ok(ms[ms.len() / 2])
    }

    pub fn main() -> Result<(), String> {
        let mut o = parse()?;
        let mut gpu = if o.cpu_only {
            None
        } else {
            match pollster::block_on(GpuBackend::new()) {
                Ok(g) => Some(g),
                Err(e) => {
                    eprintln!("no GPU backend ({e}); CPU only");
                    None
                }
            }
        };
        let adapter = gpu.as_ref().map_or("none".to_string(), |g| g.context().adapter_name.clone());
        println!(
            "attention, {} heads, headDim {}, seqQ {}, {:?}, median of {} calls incl. readback of the output",
            o.heads,
            o.head_dim,
            o.seq_q.map_or("= seqK".to_string(), |s| s.to_string()),
            o.normalizer,
            o.reps
        );
        let software = ["llvmpipe", "swiftshader", "lavapipe"].iter().any(|s| adapter.to_lowercase().contains(s));
        if software && o.gpu_max_seq.is_none() {
            o.gpu_max_seq = Some(1024);
        }
        println!(
            "GPU adapter: {adapter}{}; CPU: 1 thread",
            if software { " (software: GPU rows stop at --gpu-max-seq, default 1024)" } else { "" }
        );
        println!("{:>6} {:>12} {:>10} {:>12} {:>10}", "seqK", "CPU ms", "CPU GF/s", "GPU ms", "GPU GF/s");
        let spec = AttentionSpec { normalizer: o.normalizer, ..Default::default() };
        let mut seq = 64;
        while seq <= o.max_seq {
            let dims = AttentionDims { heads: o.heads, seq_q: o.seq_q.unwrap_or(seq), seq_k: seq, head_dim: o.head_dim };
            let mut state = 0x2545_F491_4F6C_DD1Du64;
            let mut vec = |n: usize| -> Vec<f32> {
                (0..n)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
                    })
                    .collect()
            };
            let data = [vec(o.heads * dims.seq_q * o.head_dim), vec(o.heads * seq * o.head_dim), vec(o.heads * seq * o.head_dim)];
            let gflop = 4.0 * (o.heads * dims.seq_q * seq * o.head_dim) as f64 / 1e9;
            let cpu_ms = time(&mut CpuBackend::new(), dims, &data, &spec, o.reps)?;
            let gpu_cell = match gpu.as_mut() {
                Some(_) if o.gpu_max_seq.is_some_and(|m| seq > m) => format!("{:>12} {:>10}", "skipped", "-"),
                Some(g) => match time(g, dims, &data, &spec, o.reps) {
                    Ok(ms) => format!("{ms:>12.2} {:>10.2}", gflop / ms * 1e3),
                    Err(e) => format!("  error: {e}"),
                },
                None => format!("{:>12} {:>10}", "-", "-"),
            };
            println!("{seq:>6} {cpu_ms:>12.2} {:>10.2} {gpu_cell}", gflop / cpu_ms * 1e3);
            seq *= 2;
        }
        Ok(())
    }
}
