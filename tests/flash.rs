//! The fused ("flash") kernel against the unfused reference, on the CPU and (natively, through
//! wgpu on whatever Vulkan adapter exists) on the GPU. Sizes are chosen to stress tile edges:
//! odd lengths, seq_q ≠ seq_k, blocks and tiles that end part-way.

mod extras_common;

use attention_playground::attention::{flash, reference, AttentionDims, AttentionSpec, Mask, Positions, Score};
use attention_playground::backend::{AttentionArgs, HeadLayout};
use attention_playground::gpu::GpuBackend;
use attention_playground::Backend;
use extras_common::{gpu, max_abs_diff, random};

/// Tolerance of the issue: the fused output equals the unfused one within 1e-5.
const TOL: f32 = 1e-5;

const SHAPES: [AttentionDims; 5] = [
    AttentionDims { heads: 2, seq_q: 67, seq_k: 45, head_dim: 24 },
    AttentionDims { heads: 1, seq_q: 130, seq_k: 200, head_dim: 64 },
    AttentionDims { heads: 3, seq_q: 5, seq_k: 129, head_dim: 7 },
    AttentionDims { heads: 2, seq_q: 65, seq_k: 17, head_dim: 128 },
    AttentionDims { heads: 1, seq_q: 1, seq_k: 1, head_dim: 3 },
];

/// Every fusable variant; RoPE only where headDim is even, relative bias sized for `dims`.
fn specs(dims: &AttentionDims) -> Vec<AttentionSpec> {
    let base = AttentionSpec { return_weights: false, ..Default::default() };
    let mut out = Vec::new();
    for score in [Score::ScaledDot, Score::Dot, Score::Cosine, Score::NegSqDist] {
        for mask in [Mask::None, Mask::Causal, Mask::Window(0), Mask::Window(9), Mask::Window(1000)] {
            out.push(AttentionSpec { score: score.clone(), mask, ..base.clone() });
        }
    }
    out.push(AttentionSpec { temperature: 0.35, mask: Mask::Causal, ..base.clone() });
    out.push(AttentionSpec { temperature: 7.0, score: Score::NegSqDist, ..base.clone() });
    let relative = Positions::RelativeBias(random(99, dims.seq_q + dims.seq_k - 1));
    for mask in [Mask::None, Mask::Causal, Mask::Window(4)] {
        if dims.head_dim % 2 == 0 {
            out.push(AttentionSpec { positions: Positions::Rope, mask, ..base.clone() });
        }
        out.push(AttentionSpec { positions: Positions::Alibi, mask, ..base.clone() });
        out.push(AttentionSpec { positions: relative.clone(), mask, ..base.clone() });
    }
    if dims.head_dim % 2 == 0 {
        out.push(AttentionSpec { positions: Positions::Rope, score: Score::Cosine, temperature: 0.5, ..base.clone() });
    }
    out.push(AttentionSpec { positions: Positions::Alibi, score: Score::NegSqDist, ..base });
    out
}

/// The unfused reference output, head-major [heads, seq_q, head_dim].
fn unfused(dims: &AttentionDims, q: &[f32], k: &[f32], v: &[f32], spec: &AttentionSpec) -> Vec<f32> {
    reference::attention(dims, q, k, v, spec).output.iter().map(|&x| x as f32).collect()
}

fn head_major_args<'a, T>(dims: AttentionDims, q: &'a T, k: &'a T, v: &'a T, spec: &'a AttentionSpec) -> AttentionArgs<'a, T> {
    AttentionArgs {
        dims,
        q,
        q_layout: HeadLayout::head_major(dims.seq_q, dims.head_dim),
        k,
        k_layout: HeadLayout::head_major(dims.seq_k, dims.head_dim),
        v,
        v_layout: HeadLayout::head_major(dims.seq_k, dims.head_dim),
        out_layout: HeadLayout::head_major(dims.seq_q, dims.head_dim),
        spec,
    }
}

fn operands(dims: &AttentionDims, seed: u64) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let AttentionDims { heads, seq_q, seq_k, head_dim: d } = *dims;
    (random(seed, heads * seq_q * d), random(seed + 1, heads * seq_k * d), random(seed + 2, heads * seq_k * d))
}

#[test]
fn cpu_flash_equals_unfused_reference() {
    for (n, dims) in SHAPES.iter().enumerate() {
        let (q, k, v) = operands(dims, 10 * n as u64);
        for spec in specs(dims) {
            let got = flash::attention_cpu(&head_major_args(*dims, &q, &k, &v, &spec)).unwrap();
            let want = unfused(dims, &q, &k, &v, &spec);
            let err = max_abs_diff(&got, &want);
            assert!(err <= TOL, "{dims:?} {spec:?}: max abs error {err}");
        }
    }
}

#[test]
fn cpu_flash_reads_and_writes_token_major_layouts() {
    // q, k, v side by side in one [seq, 3·heads·d] tensor, as a fused QKV projection gives them.
    let (heads, seq, d) = (3, 70, 16);
    let width = 3 * heads * d;
    let qkv = random(7, seq * width);
    let dims = AttentionDims { heads, seq_q: seq, seq_k: seq, head_dim: d };
    let spec = AttentionSpec { return_weights: false, mask: Mask::Causal, ..Default::default() };
    let args = AttentionArgs {
        dims,
        q: &qkv,
        q_layout: HeadLayout::token_major(0, d, width),
        k: &qkv,
        k_layout: HeadLayout::token_major(heads * d, d, width),
        v: &qkv,
        v_layout: HeadLayout::token_major(2 * heads * d, d, width),
        out_layout: HeadLayout::token_major(0, d, heads * d),
        spec: &spec,
    };
    let got = flash::attention_cpu(&args).unwrap(); // [seq, heads·d]
    let split = |off: usize| -> Vec<f32> {
        (0..heads).flat_map(|h| (0..seq).flat_map(move |i| (0..d).map(move |c| (h, i, c)))).map(|(h, i, c)| qkv[i * width + off + h * d + c]).collect()
    };
    let want = unfused(&dims, &split(0), &split(heads * d), &split(2 * heads * d), &spec); // [heads, seq, d]
    for h in 0..heads {
        for i in 0..seq {
            for c in 0..d {
                let (a, b) = (got[i * heads * d + h * d + c], want[(h * seq + i) * d + c]);
                assert!((a - b).abs() <= TOL, "h{h} i{i} c{c}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn fully_masked_rows_give_zero_output() {
    // seq_q > seq_k + window: the last queries see no key at all.
    let dims = AttentionDims { heads: 1, seq_q: 40, seq_k: 10, head_dim: 8 };
    let (q, k, v) = operands(&dims, 3);
    let spec = AttentionSpec { return_weights: false, mask: Mask::Window(2), ..Default::default() };
    let got = flash::attention_cpu(&head_major_args(dims, &q, &k, &v, &spec)).unwrap();
    assert!(got[13 * 8..].iter().all(|&x| x == 0.0));
    assert!(got[11 * 8..12 * 8].iter().any(|&x| x != 0.0));
}

fn gpu_flash(g: &mut GpuBackend, dims: AttentionDims, q: &[f32], k: &[f32], v: &[f32], spec: &AttentionSpec) -> Vec<f32> {
    let (qt, kt, vt) = (g.upload(q).unwrap(), g.upload(k).unwrap(), g.upload(v).unwrap());
    let out = g.flash_attention(&head_major_args(dims, &qt, &kt, &vt, spec)).unwrap();
    pollster::block_on(g.read(&[&out])).unwrap().remove(0)
}

#[test]
fn gpu_flash_equals_cpu_flash_and_reference() {
    let Some(mut g) = gpu() else { return };
    for (n, dims) in SHAPES.iter().enumerate() {
        let (q, k, v) = operands(dims, 100 + n as u64);
        for spec in specs(dims) {
            let got = gpu_flash(&mut g, *dims, &q, &k, &v, &spec);
            let cpu = flash::attention_cpu(&head_major_args(*dims, &q, &k, &v, &spec)).unwrap();
            let err = max_abs_diff(&got, &cpu);
            assert!(err <= TOL, "GPU vs CPU {dims:?} {spec:?}: max abs error {err}");
            let err = max_abs_diff(&got, &unfused(dims, &q, &k, &v, &spec));
            assert!(err <= TOL, "GPU vs reference {dims:?} {spec:?}: max abs error {err}");
        }
    }
}

/// Long key ranges are walked in several dispatches (GPU_CHUNK_TILES tiles each) that carry the running state:
/// chunk edges inside and at the end of blocks, a last chunk part-full, masks that skip chunks
/// (and blocks: only the first and last dispatches take every block).
#[test]
fn gpu_flash_across_dispatch_chunks_equals_cpu() {
    let Some(mut g) = gpu() else { return };
    let shapes = [
        AttentionDims { heads: 2, seq_q: 70, seq_k: 600, head_dim: 64 },  // 64-key chunks: 10
        AttentionDims { heads: 1, seq_q: 33, seq_k: 300, head_dim: 128 }, // 32-key chunks: 10
        AttentionDims { heads: 1, seq_q: 600, seq_k: 1030, head_dim: 20 }, // 128-key chunks: 9
        AttentionDims { heads: 1, seq_q: 200, seq_k: 100, head_dim: 128 }, // windows leave blocks keyless
    ];
    for (n, dims) in shapes.iter().enumerate() {
        let (q, k, v) = operands(dims, 300 + n as u64);
        for spec in specs(dims).into_iter().step_by(3) {
            let got = gpu_flash(&mut g, *dims, &q, &k, &v, &spec);
            let cpu = flash::attention_cpu(&head_major_args(*dims, &q, &k, &v, &spec)).unwrap();
            let err = max_abs_diff(&got, &cpu);
            assert!(err <= TOL, "GPU vs CPU {dims:?} {spec:?}: max abs error {err}");
        }
    }
}

#[test]
fn gpu_flash_rejects_what_it_cannot_fuse() {
    let Some(mut g) = gpu() else { return };
    let dims = AttentionDims { heads: 1, seq_q: 4, seq_k: 4, head_dim: 4 };
    let t = g.upload(&[0.5; 16]).unwrap();
    let spec = AttentionSpec { return_weights: false, mask: Mask::TopK(2), ..Default::default() };
    let e = g.flash_attention(&head_major_args(dims, &t, &t, &t, &spec)).err().unwrap().to_string();
    assert!(e.contains("does not support"), "{e}");
    let wide = AttentionDims { head_dim: 200, ..dims };
    let big = g.upload(&[0.5; 800]).unwrap();
    let spec = AttentionSpec { return_weights: false, ..Default::default() };
    let e = g.flash_attention(&head_major_args(wide, &big, &big, &big, &spec)).err().unwrap().to_string();
    assert!(e.contains("headDim ≤ 128"), "{e}");
}

/// `Backend::attention` without weights goes through the fused kernel and gives the output the
/// weights path gives, on each backend.
fn attention_without_weights_matches<B: Backend>(b: &mut B) {
    let dims = AttentionDims { heads: 3, seq_q: 71, seq_k: 40, head_dim: 32 };
    let (q, k, v) = operands(&dims, 77);
    let (qt, kt, vt) = (b.upload(&q).unwrap(), b.upload(&k).unwrap(), b.upload(&v).unwrap());
    for mask in [Mask::None, Mask::Causal, Mask::Window(5)] {
        let fused_spec = AttentionSpec { return_weights: false, mask, positions: Positions::Alibi, ..Default::default() };
        let full_spec = AttentionSpec { return_weights: true, ..fused_spec.clone() };
        let fused = b.attention(&head_major_args(dims, &qt, &kt, &vt, &fused_spec)).unwrap();
        assert!(fused.weights.is_none());
        let full = b.attention(&head_major_args(dims, &qt, &kt, &vt, &full_spec)).unwrap();
        let got = pollster::block_on(b.read(&[&fused.output, &full.output])).unwrap();
        let err = max_abs_diff(&got[0], &got[1]);
        assert!(err <= TOL, "{mask:?}: fused vs weights path max abs error {err}");
    }
}

#[test]
fn cpu_attention_without_weights_uses_the_fused_kernel() {
    attention_without_weights_matches(&mut attention_playground::cpu::CpuBackend::new());
}

#[test]
fn gpu_attention_without_weights_uses_the_fused_kernel() {
    let Some(mut g) = gpu() else { return };
    attention_without_weights_matches(&mut g);
}
