//! Dense ops on the GPU: linear (tiled matmul with fused epilogue) and LayerNorm, dispatching the
//! kernels in shaders/dense.wgsl. Shape checks are the CPU backend's, so both reject the same input.

use super::contract::{LinearFlag, LinearParams, NormParams, LINEAR_TILE};
use super::{GpuBackend, GpuTensor, KernelDef};
use crate::backend::{Activation, LayerNorm, Linear, Weight};
use crate::cpu::dense::{check_layer_norm, check_linear};
use crate::error::Result;

pub(super) const SOURCE: &str = include_str!("../../shaders/dense.wgsl");

const LINEAR: KernelDef = KernelDef { name: "dense_linear", source: SOURCE, entry: "linear", inputs: 5, outputs: 1, constants: &[] };
const LAYER_NORM: KernelDef =
    KernelDef { name: "dense_layer_norm", source: SOURCE, entry: "layer_norm", inputs: 3, outputs: 1, constants: &[] };

const TILE: usize = LINEAR_TILE as usize;

/// Every size a kernel indexes with must fit its u32 arithmetic.
fn as_u32(v: usize, what: &str) -> Result<u32> {
    u32::try_from(v).map_err(|_| crate::invalid!("{what} = {v} is too large for the GPU kernels"))
}

/// The GPU backend's uploaded weight: the row-major [in_dim, out_dim] tensor the kernel reads,
/// and the shape it was uploaded as.
pub struct GpuWeight {
    pub(super) tensor: GpuTensor,
    pub(super) in_dim: usize,
    pub(super) out_dim: usize,
}

impl GpuBackend {
    pub(super) fn dense_linear(&mut self, op: &Linear<'_, GpuTensor, GpuWeight>) -> Result<GpuTensor> {
        self.ctx.check_alive()?;
        check_linear(op, |t| t.len, |w, i, o| (w.in_dim, w.out_dim) == (i, o))?;
        let w = match op.w {
            Weight::Tensor(w) => w,
            Weight::Uploaded(w) => &w.tensor,
        };
        let params = LinearParams {
            rows: as_u32(op.rows, "rows")?,
            k: as_u32(op.in_dim, "in")?,
            n: as_u32(op.out_dim, "out")?,
            flags: (op.bias.is_some() as u32 * LinearFlag::HasBias as u32)
                | ((op.activation == Activation::Gelu) as u32 * LinearFlag::Gelu as u32)
                | ((op.activation == Activation::GeluTanh) as u32 * LinearFlag::GeluTanh as u32)
                | (op.residual.is_some() as u32 * LinearFlag::HasResidual as u32)
                | (op.residual_scale.is_some() as u32 * LinearFlag::HasScale as u32),
        };
        as_u32(op.rows * op.out_dim, "rows × out")?;
        as_u32(op.rows * op.in_dim, "rows × in")?;
        as_u32(op.in_dim * op.out_dim, "in × out")?;
        let y = self.alloc(op.rows * op.out_dim)?;
        // Absent optional inputs are bound to x; the flags keep the kernel from reading them.
        let inputs = [op.x, w, op.bias.unwrap_or(op.x), op.residual.unwrap_or(op.x), op.residual_scale.unwrap_or(op.x)];
        let groups = [op.out_dim.div_ceil(TILE) as u32, op.rows.div_ceil(TILE) as u32, 1];
        self.dispatch(&LINEAR, &params, &inputs, &[&y], groups)?;
        Ok(y)
    }

    pub(super) fn dense_layer_norm(&mut self, op: &LayerNorm<'_, GpuTensor>) -> Result<GpuTensor> {
        self.ctx.check_alive()?;
        check_layer_norm(op, |t| t.len)?;
        let rows = as_u32(op.rows, "rows")?;
        as_u32(op.rows * op.dim, "rows × dim")?;
        let max = self.ctx.limits.max_compute_workgroups_per_dimension;
        let groups_x = rows.min(max);
        let params = NormParams { rows, dim: op.dim as u32, groups_x, eps: op.eps };
        let y = self.alloc(op.rows * op.dim)?;
        self.dispatch(&LAYER_NORM, &params, &[op.x, op.gamma, op.beta], &[&y], [groups_x, rows.div_ceil(groups_x), 1])?;
        Ok(y)
    }
}
