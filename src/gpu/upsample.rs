//! The saliency decoder's upsampling ops on the GPU, dispatching shaders/upsample.wgsl. Shape
//! checks are the CPU backend's (`cpu::upsample`), so both reject the same input.

use super::contract::{Col2ImParams, ResizeParams};
use super::{GpuBackend, GpuTensor, KernelDef};
use crate::backend::{Col2Im, Resize};
use crate::cpu::upsample::{check_col2im, check_resize};
use crate::error::Result;

pub(super) const SOURCE: &str = include_str!("../../shaders/upsample.wgsl");

const COL2IM: KernelDef = KernelDef { name: "upsample_col2im", source: SOURCE, entry: "col2im", inputs: 3, outputs: 1, constants: &[] };
const RESIZE: KernelDef = KernelDef { name: "upsample_resize", source: SOURCE, entry: "resize", inputs: 1, outputs: 1, constants: &[] };

impl GpuBackend {
    /// For a kernel with one invocation per output element, reading `input` values: the output
    /// tensor, and workgroups of 64 as (groups_x, [x, y, 1]) with y taking what exceeds the
    /// per-dimension limit.
    fn elementwise(&mut self, what: &str, total: usize, input: usize) -> Result<(GpuTensor, u32, [u32; 3])> {
        let len = input.max(total);
        let total = u32::try_from(len).map(|_| total as u32).map_err(|_| crate::invalid!("{what}: {len} values are too many for the GPU kernels"))?;
        let groups = total.div_ceil(64);
        let x = groups.clamp(1, self.ctx.limits.max_compute_workgroups_per_dimension);
        Ok((self.alloc(total as usize)?, x, [x, groups.div_ceil(x), 1]))
    }

    pub(super) fn upsample_col2im(&mut self, op: &Col2Im<'_, GpuTensor>) -> Result<GpuTensor> {
        self.ctx.check_alive()?;
        check_col2im(op, |t| t.len)?;
        let total = 4 * op.width * op.height * op.channels;
        let (y, groups_x, groups) = self.elementwise("col2im", total, op.taps.len)?;
        let params = Col2ImParams {
            width: op.width as u32,
            height: op.height as u32,
            channels: op.channels as u32,
            skip: op.skip as u32,
            total: total as u32,
            groups_x,
        };
        self.dispatch(&COL2IM, &params, &[op.taps, op.scale, op.shift], &[&y], groups)?;
        Ok(y)
    }

    pub(super) fn upsample_resize(&mut self, op: &Resize<'_, GpuTensor>) -> Result<GpuTensor> {
        self.ctx.check_alive()?;
        check_resize(op, |t| t.len)?;
        let total = op.planes * op.out_width * op.out_height;
        let (y, groups_x, groups) = self.elementwise("resize", total, op.x.len)?;
        let params = ResizeParams {
            planes: op.planes as u32,
            width: op.width as u32,
            height: op.height as u32,
            out_width: op.out_width as u32,
            out_height: op.out_height as u32,
            sigmoid: op.sigmoid as u32,
            groups_x,
        };
        self.dispatch(&RESIZE, &params, &[op.x], &[&y], groups)?;
        Ok(y)
    }
}
