//! Native benchmark of the dense ops (not a test): GFLOP/s of `linear` for the MiniLM and
//! ViT-S/14 shapes on the CPU (fast and reference paths) and the GPU, LayerNorm rows/s, and the
//! f16 → f32 weight decoding rate.
//!
//!   cargo run --release --bin bench_dense [-- --no-gpu] [-- --reps N]
//!
//! GPU figures time `reps` linears recorded into one submission plus one small readback, so they
//! include dispatch overhead but not per-op synchronisation. On Mesa llvmpipe they are CPU figures.
//! CPU figures are thread CPU time (Linux), so a busy shared machine distorts them less.

use std::time::Instant;

use attention_playground::backend::{Activation, LayerNorm, Linear};
use attention_playground::cpu::dense::{self, seeded_uniform};
use attention_playground::gpu::GpuBackend;
use attention_playground::Backend;

/// (label, rows, in, out, gelu)
const SHAPES: [(&str, usize, usize, usize, bool); 8] = [
    ("MiniLM n=17 QKV", 17, 384, 1152, false),
    ("MiniLM n=128 QKV", 128, 384, 1152, false),
    ("MiniLM n=128 out-proj", 128, 384, 384, false),
    ("MiniLM n=128 FFN up+GELU", 128, 384, 1536, true),
    ("MiniLM n=128 FFN down", 128, 1536, 384, false),
    ("MiniLM n=512 FFN up+GELU", 512, 384, 1536, true),
    ("ViT-S n=197 FFN up+GELU", 197, 384, 1536, true),
    ("ViT-S n=197 FFN down", 197, 1536, 384, false),
];

/// Seconds this thread has run on a CPU, so that other processes sharing the machine do not
/// inflate the figures (Linux, 64-bit; wall-clock time elsewhere).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn thread_time() -> f64 {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: clock_gettime writes one timespec (two longs on 64-bit Linux) to a valid pointer.
    let ok = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0;
    assert!(ok, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.sec as f64 + ts.nsec as f64 * 1e-9
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn thread_time() -> f64 {
    START_WALL.with(|s| s.elapsed().as_secs_f64())
}

/// Median seconds of `f` over enough runs to fill ~`budget` seconds (at least 3). GPU timings
/// pass `wall = true`: the GPU (or llvmpipe's worker threads) works outside this thread.
fn median_secs(budget: f64, wall: bool, mut f: impl FnMut()) -> f64 {
    let now = || if wall { START_WALL.with(|s| s.elapsed().as_secs_f64()) } else { thread_time() };
    f();
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 3 || (start.elapsed().as_secs_f64() < budget && times.len() < 200) {
        let t = now();
        f();
        times.push(now() - t);
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

thread_local! {
    static START_WALL: Instant = Instant::now();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let no_gpu = args.iter().any(|a| a == "--no-gpu");
    let reps: usize = args.iter().position(|a| a == "--reps").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(10);

    let mut gpu = if no_gpu {
        None
    } else {
        match pollster::block_on(GpuBackend::new()) {
            Ok(g) => {
                println!("GPU: {}", g.context().adapter_name);
                Some(g)
            }
            Err(e) => {
                println!("GPU: none ({e})");
                None
            }
        }
    };

    println!("\nlinear x[rows,in]·w[in,out] + bias (+GELU): GFLOP/s = 2·rows·in·out / median time");
    println!("{:<26} {:>9} {:>9} {:>11} {:>9} {:>11}", "shape", "cpu ms", "cpu GF/s", "naive GF/s", "gpu ms", "gpu GF/s");
    for (label, rows, k, n, gelu) in SHAPES {
        let x = seeded_uniform(rows * k, 1, 1.0);
        let w = seeded_uniform(k * n, 2, 1.0 / (k as f32).sqrt());
        let b = seeded_uniform(n, 3, 0.1);
        let mut op = Linear::new(&x, rows, &w, k, n, Some(&b));
        if gelu {
            op.activation = Activation::Gelu;
        }
        let flop = 2.0 * (rows * k * n) as f64;
        let cpu = median_secs(1.0, false, || {
            std::hint::black_box(dense::linear(&op));
        });
        let naive = median_secs(0.5, false, || {
            std::hint::black_box(dense::reference::linear(&op));
        });
        let gpu_s = gpu.as_mut().map(|g| {
            let [xt, wt, bt] = [&x, &w, &b].map(|v| g.upload(v).unwrap());
            let probe = g.upload(&[0.0]).unwrap();
            median_secs(1.0, true, || {
                for _ in 0..reps {
                    let mut gop = Linear::new(&xt, rows, &wt, k, n, Some(&bt));
                    if gelu {
                        gop.activation = Activation::Gelu;
                    }
                    g.linear(&gop).unwrap();
                }
                pollster::block_on(g.read(&[&probe])).unwrap();
            }) / reps as f64
        });
        let (gms, ggf) = match gpu_s {
            Some(s) => (format!("{:.3}", s * 1e3), format!("{:.1}", flop / s / 1e9)),
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:<26} {:>9.3} {:>9.1} {:>11.2} {:>9} {:>11}",
            label,
            cpu * 1e3,
            flop / cpu / 1e9,
            flop / naive / 1e9,
            gms,
            ggf
        );
    }

    println!("\nlayer_norm [rows, 384]");
    for rows in [128usize, 197, 512] {
        let dim = 384;
        let x = seeded_uniform(rows * dim, 4, 2.0);
        let g = seeded_uniform(dim, 5, 1.0);
        let op = LayerNorm { x: &x, rows, dim, gamma: &g, beta: &g, eps: 1e-12 };
        let s = median_secs(0.5, false, || {
            std::hint::black_box(dense::layer_norm(&op));
        });
        println!("  rows {rows:>4}: cpu {:.1} µs", s * 1e6);
    }

    // Weights are stored as f16; the loader (weights::format) widens them once at load time,
    // exactly like this.
    let n = 22_000_000; // ≈ all-MiniLM-L6-v2's parameter count
    let raw: Vec<u8> = seeded_uniform(n, 6, 1.0).iter().flat_map(|&v| half::f16::from_f32(v).to_le_bytes()).collect();
    let s = median_secs(1.0, false, || {
        let out: Vec<f32> = raw.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect();
        std::hint::black_box(out);
    });
    println!("\nf16 → f32 of {n} values: {:.1} ms ({:.0} M values/s)", s * 1e3, n as f64 / s / 1e6);
}
