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
    /// Records `def`, a kernel with one invocation per output element, over a fresh output of
    /// `total` values: workgroups of 64 along x, the rest continuing in y; `params(groups_x)`
    /// gives its uniforms.
    fn elementwise<P: bytemuck::Pod>(&mut self, def: &KernelDef, total: usize, inputs: &[&GpuTensor], params: impl FnOnce(u32) -> P) -> Result<GpuTensor> {
        let len = inputs.iter().map(|t| t.len).fold(total, usize::max);
        u32::try_from(len).map_err(|_| crate::invalid!("{}: {len} values are too many for the GPU kernels", def.entry))?;
        let groups = (total as u32).div_ceil(64);
        let x = groups.clamp(1, self.ctx.limits.max_compute_workgroups_per_dimension);
        let y = self.alloc(total)?;
        self.dispatch(def, &params(x), inputs, &[&y], [x, groups.div_ceil(x), 1])?;
        Ok(y)
    }

    pub(super) fn upsample_col2im(&mut self, op: &Col2Im<'_, GpuTensor>) -> Result<GpuTensor> {
        self.ctx.check_alive()?;
        check_col2im(op, |t| t.len)?;
        let total = 4 * op.width * op.height * op.channels;
        let (width, height, channels, skip) = (op.width as u32, op.height as u32, op.channels as u32, op.skip as u32);
        self.elementwise(&COL2IM, total, &[op.taps, op.scale, op.shift], |groups_x| Col2ImParams { width, height, channels, skip, total: total as u32, groups_x })
    }

    pub(super) fn upsample_resize(&mut self, op: &Resize<'_, GpuTensor>) -> Result<GpuTensor> {
        self.ctx.check_alive()?;
        check_resize(op, |t| t.len)?;
        let total = op.planes * op.out_width * op.out_height;
        let [planes, width, height, out_width, out_height] = [op.planes, op.width, op.height, op.out_width, op.out_height].map(|v| v as u32);
        let sigmoid = op.sigmoid as u32;
        self.elementwise(&RESIZE, total, &[op.x], |groups_x| ResizeParams { planes, width, height, out_width, out_height, sigmoid, groups_x })
    }
}
