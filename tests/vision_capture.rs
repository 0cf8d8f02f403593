//! runImage's capture (`Dinov2::run_image_capturing`): one head's q, k, v of one layer, checked by
//! two properties on both backends — q, k and v are the captured normed input times that head's
//! columns of the layer's fused projection (host f64), and softmax(q·kᵀ / √d) is the attention
//! map the same forward returned for that head — and against each other (CPU vs GPU), on a tiny
//! random model and (CPU) on the real DINOv2 when `make build` has converted it.

use attention_playground::cpu::CpuBackend;
use attention_playground::models::bert::CaptureAt;
use attention_playground::models::dinov2::{synthetic, Dinov2, Dinov2Output, Dinov2Weights};
use attention_playground::{Backend, Error};
mod support;
use support::counting::Counting;

fn image(w: usize, h: usize) -> Vec<u8> {
    (0..w * h * 4).map(|i| ((i * 7919) % 251) as u8).collect()
}

/// Both properties for `out.capture`, within `tol` (absolute, on values of about ±10 and on
/// weights in [0, 1]).
fn check(label: &str, weights: &Dinov2Weights, out: &Dinov2Output, at: CaptureAt, tol: f32) {
    let c = &weights.config;
    let (t, hidden, d) = (out.tokens, c.hidden, c.hidden / c.heads);
    let cap = out.capture.as_ref().expect("a capture was asked for");
    assert_eq!((cap.at, cap.head_dim), (at, d), "{label}");
    assert_eq!([cap.q.len(), cap.k.len(), cap.v.len(), cap.x.len()], [t * d, t * d, t * d, t * hidden], "{label}");
    let l = &weights.layers[at.layer];
    for (which, got) in [(0, &cap.q), (1, &cap.k), (2, &cap.v)] {
        let col0 = which * hidden + at.head * d;
        let mut worst = 0.0f32;
        for i in 0..t {
            for ch in 0..d {
                let col = col0 + ch;
                let want: f64 = l.qkv_bias[col] as f64 + (0..hidden).map(|j| cap.x[i * hidden + j] as f64 * l.qkv_weight[j * 3 * hidden + col] as f64).sum::<f64>();
                worst = worst.max((got[i * d + ch] - want as f32).abs());
            }
        }
        assert!(worst < tol, "{label}: {} differs from x·W + b by {worst:e}", ["q", "k", "v"][which]);
    }
    let map = &out.attention[at.layer][at.head * t * t..][..t * t];
    let scale = 1.0 / (d as f64).sqrt();
    let mut worst = 0.0f32;
    for i in 0..t {
        let s: Vec<f64> = (0..t).map(|j| (0..d).map(|ch| cap.q[i * d + ch] as f64 * cap.k[j * d + ch] as f64).sum::<f64>() * scale).collect();
        let top = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = s.iter().map(|v| (v - top).exp()).sum();
        for j in 0..t {
            worst = worst.max((map[i * t + j] - ((s[j] - top).exp() / sum) as f32).abs());
        }
    }
    assert!(worst < tol, "{label}: softmax(q·kᵀ/√d) differs from the returned map by {worst:e}");
}

#[test]
fn tiny_model_capture_reproduces_the_head_on_both_backends() {
    let config = support::tiny_dinov2_config(vec![8, 4, 4]);
    let weights = Dinov2Weights::from_bytes(synthetic(&config, 5).unwrap()).unwrap();
    let (w, h) = (70, 42);
    let rgba = image(w, h);
    let at = CaptureAt { layer: config.layers - 1, head: config.heads - 1 };
    let mut cpu = CpuBackend::new();
    let mut mc = Dinov2::load(&mut cpu, &weights).unwrap();
    let a = pollster::block_on(mc.run_image_capturing(&mut cpu, &rgba, w, h, Some(at))).unwrap();
    check("cpu", &weights, &a, at, 1e-4);
    // The same forward without a capture returns the same maps and none.
    let plain = pollster::block_on(mc.run_image(&mut cpu, &rgba, w, h)).unwrap();
    assert!(plain.capture.is_none());
    assert_eq!(plain.attention, a.attention);
    assert_eq!(plain.saliency, a.saliency);

    let Some(g) = support::gpu() else { return };
    let mut g = Counting::new(g);
    let mut mg = Dinov2::load(&mut g, &weights).unwrap();
    g.reset();
    let b = pollster::block_on(mg.run_image_capturing(&mut g, &rgba, w, h, Some(at))).unwrap();
    assert_eq!(g.reads, 1, "the capture comes back in the forward's one readback");
    check("gpu", &weights, &b, at, 1e-4);
    let (ca, cb) = (a.capture.unwrap(), b.capture.unwrap());
    for (name, x, y) in [("q", &ca.q, &cb.q), ("k", &ca.k, &cb.k), ("x", &ca.x, &cb.x)] {
        let worst = x.iter().zip(y).map(|(p, q)| (p - q).abs()).fold(0.0, f32::max);
        assert!(worst < 1e-4, "{name}: GPU and CPU differ by {worst:e}");
    }
}

#[test]
fn real_dinov2_capture_on_the_cpu() {
    let Some(bytes) = support::model_file(&support::manifest_path("vision"), "DINOv2") else { return };
    let weights = Dinov2Weights::from_bytes(bytes).unwrap();
    let mut cpu = CpuBackend::new();
    let mut m = Dinov2::load(&mut cpu, &weights).unwrap();
    let at = CaptureAt { layer: 9, head: 4 };
    let out = pollster::block_on(m.run_image_capturing(&mut cpu, &image(96, 80), 96, 80, Some(at))).unwrap();
    // f16 weights: q·k sums 64 products of values up to ~±20, so allow 1e-3.
    check("dinov2 cpu", &weights, &out, at, 1e-3);
}

#[test]
fn capture_out_of_range_is_an_error() {
    let config = support::tiny_dinov2_config(vec![8, 4, 4]);
    let weights = Dinov2Weights::from_bytes(synthetic(&config, 5).unwrap()).unwrap();
    let mut cpu = CpuBackend::new();
    let mut m = Dinov2::load(&mut cpu, &weights).unwrap();
    let rgba = image(28, 28);
    for (at, want) in [(CaptureAt { layer: config.layers, head: 0 }, "capture.layer must be at most"), (CaptureAt { layer: 0, head: config.heads }, "capture.head must be at most")] {
        match pollster::block_on(m.run_image_capturing(&mut cpu, &rgba, 28, 28, Some(at))) {
            Err(Error::Invalid(msg)) => assert!(msg.contains(want), "{msg}"),
            other => panic!("expected an error, got {:?}", other.map(|o| o.tokens)),
        }
    }
    let _ = cpu.kind();
}
