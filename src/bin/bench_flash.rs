//! Fused ("flash") vs unfused attention: time, achieved GFLOP/s and intermediate memory, for
//! seq_q = seq_k = 256 … 16384 at 8 heads × headDim 64, on the CPU and on the native GPU.
//!
//!   cargo run --release --bin bench_flash -- [--min-seq N] [--max-seq N] [--gpu-max-seq N] [--backend cpu|gpu|both] [--reps N] [--fused-only]
//!
//! On a software adapter (llvmpipe, SwiftShader) GPU rows stop at 2048 unless `--gpu-max-seq` says
//! otherwise (the fused kernel takes a few minutes at 16384 on llvmpipe, the unfused one far longer).
//!
//! FLOPs counted: 4·heads·seq_q·seq_k·headDim (q·k and weights·v, a multiply and an add each);
//! the softmax's exp and the masks are not counted. Unfused attention stores the weights
//! [heads, seq, seq]; it runs only where they fit (`UNFUSED_CPU_MAX_BYTES` on the CPU, one GPU
//! buffer binding, 128 MiB by WebGPU's default limits, on the GPU) and prints "—" elsewhere.

use std::time::Instant;

use attention_playground::attention::flash::{self, BLOCK_Q};
use attention_playground::attention::{AttentionDims, AttentionSpec};
use attention_playground::backend::{AttentionArgs, HeadLayout};
use attention_playground::cpu::CpuBackend;
use attention_playground::gpu::GpuBackend;
use attention_playground::{Backend, Result};

const HEADS: usize = 8;
const HEAD_DIM: usize = 64;
/// The CPU's unfused path keeps the weights in memory: cap them at 1 GiB.
const UNFUSED_CPU_MAX_BYTES: usize = 1 << 30;

struct Options {
    min_seq: usize,
    max_seq: usize,
    fused_only: bool,
    gpu_max_seq: Option<usize>,
    cpu: bool,
    gpu: bool,
    reps: usize,
}

fn parse() -> std::result::Result<Options, String> {
    let mut o = Options { min_seq: 256, max_seq: 4096, fused_only: false, gpu_max_seq: None, cpu: true, gpu: true, reps: 3 };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--min-seq" => o.min_seq = value()?.parse().map_err(|e| format!("--min-seq: {e}"))?,
            "--fused-only" => o.fused_only = true,
            "--max-seq" => o.max_seq = value()?.parse().map_err(|e| format!("--max-seq: {e}"))?,
            "--gpu-max-seq" => o.gpu_max_seq = Some(value()?.parse().map_err(|e| format!("--gpu-max-seq: {e}"))?),
            "--reps" => o.reps = value()?.parse::<usize>().map_err(|e| format!("--reps: {e}"))?.max(1),
            "--backend" => match value()?.as_str() {
                "cpu" => (o.cpu, o.gpu) = (true, false),
                "gpu" => (o.cpu, o.gpu) = (false, true),
                "both" => (o.cpu, o.gpu) = (true, true),
                other => return Err(format!("--backend must be cpu, gpu or both, got {other}")),
            },
            other => return Err(format!("unknown argument {other}; use --min-seq N, --max-seq N, --gpu-max-seq N, --backend cpu|gpu|both, --reps N, --fused-only")),
        }
    }
    Ok(o)
}

fn data(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
        .collect()
}

fn args<'a, T>(dims: AttentionDims, q: &'a T, k: &'a T, v: &'a T, spec: &'a AttentionSpec) -> AttentionArgs<'a, T> {
    let l = HeadLayout::head_major(dims.seq_q, dims.head_dim);
    AttentionArgs { dims, q, q_layout: l, k, k_layout: l, v, v_layout: l, out_layout: l, spec }
}

/// Median seconds of `reps` runs of `f` (a single run once one takes over 20 s).
fn time(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut t = Vec::new();
    for _ in 0..reps {
        let start = Instant::now();
        f()?;
        t.push(start.elapsed().as_secs_f64());
        if t[0] > 20.0 {
            break;
        }
    }
    t.sort_by(f64::total_cmp);
    Ok(t[t.len() / 2])
}

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

struct Row {
    backend: &'static str,
    seq: usize,
    fused: Result<f64>,
    unfused: Option<Result<f64>>,
    fused_bytes: usize,
    unfused_bytes: usize,
}

fn print(r: &Row) {
    let flops = 4.0 * (HEADS * r.seq * r.seq * HEAD_DIM) as f64;
    let cell = |t: &Option<Result<f64>>| match t {
        None => format!("{:>10} {:>9}", "—", "—"),
        Some(Err(e)) => format!("error: {e}"),
        Some(Ok(s)) => format!("{:>9.1}ms {:>9.2}", s * 1e3, flops / s / 1e9),
    };
    println!(
        "{:<5} {:>6} | {} {:>10} | {} {:>10}",
        r.backend,
        r.seq,
        cell(&Some(r.fused.clone())),
        mib(r.fused_bytes),
        cell(&r.unfused),
        if r.unfused.is_some() { mib(r.unfused_bytes) } else { "—".into() }
    );
}

fn main() {
    let mut o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench_flash: {e}");
            std::process::exit(2);
        }
    };
    let mut gpu = if o.gpu {
        match pollster::block_on(GpuBackend::new()) {
            Ok(g) => {
                let name = g.context().adapter_name.clone();
                let software = ["llvmpipe", "swiftshader", "lavapipe"].iter().any(|s| name.to_lowercase().contains(s));
                if o.gpu_max_seq.is_none() && software {
                    o.gpu_max_seq = Some(2048);
                    println!("GPU: {name} (software: GPU rows stop at 2048; --gpu-max-seq N for more)");
                } else {
                    println!("GPU: {name}");
                }
                Some(g)
            }
            Err(e) => {
                println!("GPU: none ({e}); GPU rows skipped");
                None
            }
        }
    } else {
        None
    };
    println!("heads {HEADS}, headDim {HEAD_DIM}, softmax, scaled_dot, no mask; median of {} runs", o.reps);
    println!("memory = bytes allocated for intermediates (fused: per-head q/k/v copies + block state on the CPU, the running state between dispatches on the GPU; unfused: the weights)");
    println!("{:<5} {:>6} | {:>11} {:>9} {:>10} | {:>11} {:>9} {:>10}", "", "seq", "fused", "GFLOP/s", "memory", "unfused", "GFLOP/s", "memory");
    let fused_spec = AttentionSpec { return_weights: false, ..Default::default() };
    let unfused_spec = AttentionSpec { return_weights: true, ..Default::default() };
    let mut seq = o.min_seq.max(1);
    while seq <= o.max_seq {
        let dims = AttentionDims { heads: HEADS, seq_q: seq, seq_k: seq, head_dim: HEAD_DIM };
        let n = HEADS * seq * HEAD_DIM;
        let (q, k, v) = (data(n, 1), data(n, 2), data(n, 3));
        let weights_bytes = HEADS * seq * seq * 4;
        if o.cpu {
            let mut cpu = CpuBackend::new();
            let fused = time(o.reps, || flash::attention_cpu(&args(dims, &q, &k, &v, &fused_spec)).map(drop));
            let unfused = (!o.fused_only && weights_bytes <= UNFUSED_CPU_MAX_BYTES)
                .then(|| time(o.reps, || cpu.attention(&args(dims, &q, &k, &v, &unfused_spec)).map(drop)));
            let fused_bytes = 3 * seq * HEAD_DIM * 4 + BLOCK_Q * HEAD_DIM * 4;
            print(&Row { backend: "cpu", seq, fused, unfused, fused_bytes, unfused_bytes: weights_bytes });
        }
        if let Some(g) = gpu.as_mut().filter(|_| seq <= o.gpu_max_seq.unwrap_or(usize::MAX)) {
            let up = |g: &mut GpuBackend, x: &[f32]| g.upload(x);
            let tensors = up(g, &q).and_then(|qt| Ok((qt, up(g, &k)?, up(g, &v)?)));
            match tensors {
                Err(e) => println!("gpu   {seq:>6} | upload failed: {e}"),
                Ok((qt, kt, vt)) => {
                    // One warm-up run builds the pipelines; each timed run submits and reads back.
                    let run_fused = |g: &mut GpuBackend| -> Result<()> {
                        let out = g.flash_attention(&args(dims, &qt, &kt, &vt, &fused_spec))?;
                        pollster::block_on(g.read(&[&out])).map(drop)
                    };
                    let fused = run_fused(g).and_then(|_| time(o.reps, || run_fused(g)));
                    let unfused = (!o.fused_only && g.check_size(HEADS * seq * seq).is_ok()).then(|| {
                        let run = |g: &mut GpuBackend| -> Result<()> {
                            let r = g.attention(&args(dims, &qt, &kt, &vt, &unfused_spec))?;
                            pollster::block_on(g.read(&[&r.output])).map(drop)
                        };
                        run(g).and_then(|_| time(o.reps, || run(g)))
                    });
                    let chunks = seq.div_ceil(flash::gpu_chunk_keys(HEAD_DIM));
                    let fused_bytes = if chunks > 1 { HEADS * seq * (HEAD_DIM + 2) * 4 } else { 4 };
                    print(&Row { backend: "gpu", seq, fused, unfused, fused_bytes, unfused_bytes: weights_bytes });
                }
            }
        }
        seq *= 2;
    }
}
