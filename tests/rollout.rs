//! Attention rollout on both backends against a plain f64 reference written from the paper.

mod extras_common;

use attention_playground::attention::rollout::{last_layer, rollout, HeadFusion, RolloutArgs, RolloutOptions};
use attention_playground::cpu::CpuBackend;
use attention_playground::Backend;
use extras_common::{gpu, max_abs_diff, random};

/// Random attention maps [layers, heads, seq, seq]: each row a softmax of random scores.
fn maps(layers: usize, heads: usize, seq: usize, seed: u64) -> Vec<f32> {
    let mut m = random(seed, layers * heads * seq * seq);
    for row in m.chunks_mut(seq) {
        let z: f32 = row.iter().map(|x| (3.0 * x).exp()).sum();
        row.iter_mut().for_each(|x| *x = (3.0 * *x).exp() / z);
    }
    m
}

/// Abnar & Zuidema 2020, one loop per step, in f64: cumulative [layers, seq, seq].
fn reference(maps: &[f32], layers: usize, heads: usize, seq: usize, o: RolloutOptions) -> Vec<f64> {
    let at = |l: usize, h: usize, r: usize, c: usize| maps[((l * heads + h) * seq + r) * seq + c] as f64;
    let mut out = Vec::new();
    let mut prev: Option<Vec<f64>> = None;
    for l in 0..layers {
        let mut a = vec![0.0f64; seq * seq];
        for r in 0..seq {
            for c in 0..seq {
                let vals = (0..heads).map(|h| at(l, h, r, c));
                let f = match o.head_fusion {
                    HeadFusion::Mean => vals.sum::<f64>() / heads as f64,
                    HeadFusion::Max => vals.fold(f64::MIN, f64::max),
                    HeadFusion::Min => vals.fold(f64::MAX, f64::min),
                };
                a[r * seq + c] = if o.residual { 0.5 * f + if r == c { 0.5 } else { 0.0 } } else { f };
            }
            let s: f64 = a[r * seq..(r + 1) * seq].iter().sum();
            a[r * seq..(r + 1) * seq].iter_mut().for_each(|x| *x /= s);
        }
        let cur = match prev {
            None => a,
            Some(p) => (0..seq * seq).map(|e| (0..seq).map(|k| a[e / seq * seq + k] * p[k * seq + e % seq]).sum()).collect(),
        };
        out.extend_from_slice(&cur);
        prev = Some(cur);
    }
    out
}

fn all_options() -> Vec<RolloutOptions> {
    [HeadFusion::Mean, HeadFusion::Max, HeadFusion::Min]
        .into_iter()
        .flat_map(|head_fusion| [true, false].map(|residual| RolloutOptions { residual, head_fusion }))
        .collect()
}

fn run<B: Backend>(b: &mut B, m: &[f32], layers: usize, heads: usize, seq: usize, options: RolloutOptions) -> Vec<f32> {
    let t = b.upload(m).unwrap();
    let out = rollout(b, &RolloutArgs { maps: &t, layers, heads, seq, options }).unwrap();
    pollster::block_on(b.read(&[&out])).unwrap().remove(0)
}

const SHAPES: [(usize, usize, usize); 4] = [(1, 1, 1), (3, 2, 17), (6, 12, 33), (2, 3, 70)];

#[test]
fn cpu_equals_the_paper_and_rows_sum_to_one() {
    let mut cpu = CpuBackend::new();
    for (n, &(layers, heads, seq)) in SHAPES.iter().enumerate() {
        let m = maps(layers, heads, seq, n as u64);
        for o in all_options() {
            let got = run(&mut cpu, &m, layers, heads, seq, o);
            let want: Vec<f32> = reference(&m, layers, heads, seq, o).iter().map(|&x| x as f32).collect();
            let err = max_abs_diff(&got, &want);
            assert!(err < 1e-5, "{layers}×{heads}×{seq} {o:?}: max abs error {err}");
            for row in got.chunks(seq) {
                let s: f32 = row.iter().sum();
                assert!((s - 1.0).abs() < 1e-5, "row sums to {s}");
            }
        }
    }
}

#[test]
fn gpu_equals_cpu() {
    let Some(mut g) = gpu() else { return };
    let mut cpu = CpuBackend::new();
    for (n, &(layers, heads, seq)) in SHAPES.iter().enumerate() {
        let m = maps(layers, heads, seq, 50 + n as u64);
        for o in all_options() {
            let got = run(&mut g, &m, layers, heads, seq, o);
            let want = run(&mut cpu, &m, layers, heads, seq, o);
            let err = max_abs_diff(&got, &want);
            assert!(err < 1e-5, "{layers}×{heads}×{seq} {o:?}: GPU vs CPU max abs error {err}");
            assert_eq!(last_layer(&got, seq).len(), seq * seq);
        }
    }
}

#[test]
fn gpu_two_layers_by_hand() {
    let Some(mut g) = gpu() else { return };
    // See the CPU unit test: R2 = Ã2 · Ã1 = [[0.8125, 0.1875], [0.25, 0.75]].
    let m = [1.0, 0.0, 0.5, 0.5, 0.5, 0.5, 0.0, 1.0];
    let got = run(&mut g, &m, 2, 1, 2, RolloutOptions::default());
    assert_eq!(last_layer(&got, 2), &[0.8125, 0.1875, 0.25, 0.75]);
}

#[test]
fn gpu_rejects_wrong_sizes() {
    let Some(mut g) = gpu() else { return };
    let t = g.upload(&[0.0; 10]).unwrap();
    let args = RolloutArgs { maps: &t, layers: 1, heads: 1, seq: 3, options: RolloutOptions::default() };
    let e = rollout(&mut g, &args).err().unwrap().to_string();
    assert!(e.contains("maps has 10 values"), "{e}");
}
