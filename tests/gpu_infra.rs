//! The GPU plumbing itself: dispatch, uniform slots, pooling and one-submit readback.

use attention_playground::gpu::KernelDef;
use attention_playground::Backend;
mod support;
use support::gpu;

const AXPY: &str = r#"
struct Params { a: f32, n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x < p.n) { y[id.x] = p.a * x[id.x] + 1.0; }
}
"#;

const AXPY_DEF: KernelDef = KernelDef { name: "test_axpy", source: AXPY, entry: "main", inputs: 1, outputs: 1, constants: &[] };

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    a: f32,
    n: u32,
}

#[test]
fn chained_dispatches_share_one_submit_and_distinct_params() {
    let Some(mut g) = gpu() else { return };
    let n = 1000usize; // not a multiple of the workgroup
    let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
    let xt = g.upload(&x).unwrap();
    let y1 = g.alloc(n).unwrap();
    let y2 = g.alloc(n).unwrap();
    let groups = [(n as u32).div_ceil(64), 1, 1];
    g.dispatch(&AXPY_DEF, &Params { a: 2.0, n: n as u32 }, &[&xt], &[&y1], groups).unwrap();
    g.dispatch(&AXPY_DEF, &Params { a: -3.0, n: n as u32 }, &[&y1], &[&y2], groups).unwrap();
    let out = pollster::block_on(g.read(&[&y1, &y2])).unwrap();
    for i in 0..n {
        let a = 2.0 * i as f32 + 1.0;
        assert_eq!(out[0][i], a);
        assert_eq!(out[1][i], -3.0 * a + 1.0);
    }
    // Again, with more dispatches than one uniform chunk holds, reusing pooled buffers.
    drop((y1, y2));
    let mut cur = xt.clone();
    for _ in 0..300 {
        let next = g.alloc(n).unwrap();
        g.dispatch(&AXPY_DEF, &Params { a: 1.0, n: n as u32 }, &[&cur], &[&next], groups).unwrap();
        cur = next;
    }
    let out = pollster::block_on(g.read(&[&cur])).unwrap();
    assert_eq!(out[0][7], 307.0);
}

#[test]
fn lost_device_reports_instead_of_hanging() {
    let Some(mut g) = gpu() else { return };
    let t = g.upload(&[1.0, 2.0]).unwrap();
    g.simulate_device_loss();
    let err = pollster::block_on(g.read(&[&t])).unwrap_err();
    assert!(matches!(err, attention_playground::Error::DeviceLost(_)), "{err}");
}
