//! Attention rollout on the GPU: dispatches `shaders/rollout.wgsl` (one fuse pass over all
//! layers, then one matmul step per layer, all in the computation's single submission).

use super::contract::{FuseKind, RolloutParams};
use super::kernel::KernelDef;
use super::{GpuBackend, GpuTensor};
use crate::attention::rollout::{check, RolloutArgs};
use crate::error::Result;

pub(super) const SOURCE: &str = include_str!("../../shaders/rollout.wgsl");

const FUSE: KernelDef = KernelDef { name: "rollout_fuse", source: SOURCE, entry: "rollout_fuse", inputs: 1, outputs: 1, constants: &[] };
const STEP: KernelDef = KernelDef { name: "rollout_step", source: SOURCE, entry: "rollout_step", inputs: 1, outputs: 1, constants: &[] };

impl GpuBackend {
    /// Cumulative rollout maps [layers, seq, seq]; see `attention::rollout`.
    pub(super) fn rollout_gpu(&mut self, args: &RolloutArgs<'_, GpuTensor>) -> Result<GpuTensor> {
        check(args, |t| t.len)?;
        let (layers, seq) = (args.layers, args.seq);
        let fused = self.alloc(layers * seq * seq)?;
        let cumulative = self.alloc(layers * seq * seq)?;
        let mut params = RolloutParams {
            layers: layers as u32,
            heads: args.heads as u32,
            seq: seq as u32,
            fusion: FuseKind::from(args.options.head_fusion) as u32,
            residual: args.options.residual as u32,
            layer: 0,
        };
        self.dispatch(&FUSE, &params, &[args.maps], &[&fused], [seq.div_ceil(64) as u32, layers as u32, 1])?;
        let tiles = seq.div_ceil(16) as u32;
        for l in 0..layers {
            params.layer = l as u32;
            self.dispatch(&STEP, &params, &[&fused], &[&cumulative], [tiles, tiles, 1])?;
        }
        Ok(cumulative)
    }
}
