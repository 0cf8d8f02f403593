// The saliency decoder's upsampling ops. CPU twins: `cpu::upsample::{col2im, resize}`.
//
// col2im — the rest of a transposed 4×4 convolution (stride 2, padding 1) whose tap products a
//   linear made, then BatchNorm (folded to scale, shift) and ReLU.
//   bindings: 0 params (Col2ImParams), 1 taps [skip + h·w, 16·c], 2 scale [c], 3 shift [c],
//             4 y [2h, 2w, c] (read_write).
//   One invocation per output element (oy, ox, ch): sums the taps of the ≤ 2×2 input pixels
//   with oy = 2·iy + ky − 1 and ox = 2·ix + kx − 1, in input-pixel order (as the CPU's scatter
//   adds them), then relu(scale·sum + shift).
//   Dispatch (groups_x, ceil(total / 64 / groups_x), 1).
//
// resize — bilinear resize of [planes, h, w] to [planes, oh, ow], half-pixel centres, the sample
//   clamped to the image (ONNX Resize `linear`), then the sigmoid when p.sigmoid = 1.
//   bindings: 0 params (ResizeParams), 1 x [planes, h, w], 2 y [planes, oh, ow] (read_write).
//   One invocation per output element; interpolates along x in the two source rows, then along
//   y, as the CPU's separable passes do.
//   Dispatch (groups_x, ceil(planes·oh·ow / 64 / groups_x), 1).

// Col2ImParams and ResizeParams are in the prelude generated from src/gpu/contract.rs.

@group(0) @binding(0) var<uniform> cp: Col2ImParams;
@group(0) @binding(1) var<storage, read> taps: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> shift: array<f32>;
@group(0) @binding(4) var<storage, read_write> up: array<f32>;

// First input index (of n) that reaches output o: the lowest i with o + 1 − 2i ≤ 3.
fn first_reaching(o: u32) -> u32 {
    return (max(o + 1u, 3u) - 3u + 1u) / 2u;
}

@compute @workgroup_size(64)
fn col2im(@builtin(global_invocation_id) id: vec3<u32>) {
    let e = id.y * cp.groups_x * 64u + id.x;
    if (e >= cp.total) { return; }
    let c = cp.channels;
    let ow = 2u * cp.width;
    let ch = e % c;
    let ox = (e / c) % ow;
    let oy = e / c / ow;
    let row = 16u * c;
    var acc = 0.0;
    for (var iy = first_reaching(oy); iy <= min((oy + 1u) / 2u, cp.height - 1u); iy++) {
        let ky = oy + 1u - 2u * iy;
        for (var ix = first_reaching(ox); ix <= min((ox + 1u) / 2u, cp.width - 1u); ix++) {
            let kx = ox + 1u - 2u * ix;
            acc += taps[(cp.skip + iy * cp.width + ix) * row + (ky * 4u + kx) * c + ch];
        }
    }
    up[e] = max(acc * scale[ch] + shift[ch], 0.0);
}

@group(0) @binding(0) var<uniform> rp: ResizeParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// Along one axis: the two source indices and their weights for output index o (n → m).
struct Taps { i0: u32, i1: u32, w0: f32, w1: f32 }

fn linear_taps(o: u32, n: u32, m: u32) -> Taps {
    let scale = f32(n) / f32(m);
    let x = clamp((f32(o) + 0.5) * scale - 0.5, 0.0, f32(n - 1u));
    let x0 = floor(x);
    let t = x - x0;
    let i0 = u32(x0);
    // At the last index both taps fall on it: one weight, as the CPU merges them.
    if (i0 + 1u >= n) { return Taps(i0, i0, (1.0 - t) + t, 0.0); }
    return Taps(i0, i0 + 1u, 1.0 - t, t);
}

@compute @workgroup_size(64)
fn resize(@builtin(global_invocation_id) id: vec3<u32>) {
    let e = id.y * rp.groups_x * 64u + id.x;
    let ow = rp.out_width;
    let oh = rp.out_height;
    if (e >= rp.planes * oh * ow) { return; }
    let ox = e % ow;
    let oy = (e / ow) % oh;
    let plane = e / ow / oh * rp.width * rp.height;
    let tx = linear_taps(ox, rp.width, ow);
    let ty = linear_taps(oy, rp.height, oh);
    let r0 = plane + ty.i0 * rp.width;
    let r1 = plane + ty.i1 * rp.width;
    let m0 = tx.w0 * src[r0 + tx.i0] + tx.w1 * src[r0 + tx.i1];
    let m1 = tx.w0 * src[r1 + tx.i0] + tx.w1 * src[r1 + tx.i1];
    var v = 0.0 + ty.w0 * m0 + ty.w1 * m1;
    if (rp.sigmoid == 1u) { v = 1.0 / (1.0 + exp(-v)); }
    dst[e] = v;
}
