// Attention rollout (Abnar & Zuidema 2020). CPU twin: `attention::rollout::rollout_cpu`.
//
// rollout_fuse — bindings: 0 p, 1 maps [layers, heads, seq, seq] (read), 2 fused [layers, seq, seq].
//   Dispatch (ceil(seq / 64), layers, 1). One invocation per (layer, row): fuses the heads of each
//   element (mean / max / min), adds 0.5·I when residual, then renormalizes the row to sum 1.
//
// rollout_step — bindings: 0 p, 1 fused [layers, seq, seq] (read), 2 cumulative [layers, seq, seq].
//   Computes cumulative[l] = fused[l] · cumulative[l − 1] (for l = 0: a copy of fused[0]) as a
//   tiled matmul: a workgroup of 16×16 invocations owns one 16×16 output tile and walks the inner
//   dimension in 16-wide tiles staged in workgroup memory (2 KiB). Reading cumulative[l − 1] and
//   writing cumulative[l] go through the one read_write binding, as WebGPU does not allow a buffer
//   to be bound both read-only and writable in one dispatch.
//   Dispatch (ceil(seq / 16), ceil(seq / 16), 1).

// RolloutParams and the FUSE_ codes are in the prelude generated from src/gpu/contract.rs.
const TILE: u32 = 16u;

@group(0) @binding(0) var<uniform> p: RolloutParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(64)
fn rollout_fuse(@builtin(global_invocation_id) id: vec3<u32>) {
    let r = id.x;
    let l = id.y;
    if (r >= p.seq) { return; }
    let n = p.seq;
    let plane = n * n;
    let maps = l * p.heads * plane + r * n;   // row r of head 0 in layer l
    let out = l * plane + r * n;
    var sum = 0.0;
    for (var c = 0u; c < n; c++) {
        var f = src[maps + c];
        for (var h = 1u; h < p.heads; h++) {
            let x = src[maps + h * plane + c];
            if (p.fusion == FUSE_MEAN) { f = f + x; }
            else if (p.fusion == FUSE_MAX) { f = max(f, x); }
            else { f = min(f, x); }
        }
        if (p.fusion == FUSE_MEAN) { f = f / f32(p.heads); }
        if (p.residual != 0u) { f = 0.5 * f + select(0.0, 0.5, r == c); }
        dst[out + c] = f;
        sum += f;
    }
    // A row that fused to all zeros (possible without the residual) stays zero.
    let inv = select(0.0, 1.0 / sum, sum > 0.0);
    for (var c = 0u; c < n; c++) { dst[out + c] = dst[out + c] * inv; }
}

var<workgroup> a_tile: array<f32, 256>;   // [TILE, TILE] of fused[l]
var<workgroup> b_tile: array<f32, 256>;   // [TILE, TILE] of cumulative[l − 1]

@compute @workgroup_size(16, 16)
fn rollout_step(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let n = p.seq;
    let plane = n * n;
    let row = wg.y * TILE + lid.y;
    let col = wg.x * TILE + lid.x;
    let inside = row < n && col < n;
    let a = p.layer * plane;
    if (p.layer == 0u) {
        if (inside) { dst[row * n + col] = src[row * n + col]; }
        return;   // uniform: p.layer is the same for the whole dispatch
    }
    let b = (p.layer - 1u) * plane;
    var acc = 0.0;
    for (var k0 = 0u; k0 < n; k0 += TILE) {
        let ak = k0 + lid.x;
        let bk = k0 + lid.y;
        a_tile[lid.y * TILE + lid.x] = select(0.0, src[a + row * n + ak], row < n && ak < n);
        b_tile[lid.y * TILE + lid.x] = select(0.0, dst[b + bk * n + col], bk < n && col < n);
        workgroupBarrier();
        for (var k = 0u; k < TILE; k++) {
            acc += a_tile[lid.y * TILE + k] * b_tile[k * TILE + lid.x];
        }
        workgroupBarrier();
    }
    if (inside) { dst[p.layer * plane + row * n + col] = acc; }
}
