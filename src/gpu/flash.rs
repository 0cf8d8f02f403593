//! Fused ("flash") attention on the GPU: dispatches `shaders/flash.wgsl`. What it computes and
//! what falls back is described in `attention::flash`.

use super::contract::{FlashParams, Layout, MaskKind, PositionKind, ScoreKind};
use super::kernel::KernelDef;
use super::{GpuBackend, GpuTensor};
use crate::attention::flash::{self, BLOCK_Q, MAX_HEAD_DIM};
use crate::attention::finite::split_temperature;
use crate::attention::positions::{alibi_slopes, rope_table};
use crate::attention::{Mask, Positions};
use crate::backend::AttentionArgs;
use crate::error::Result;
use crate::Backend;

pub(super) const SOURCE: &str = concat!(include_str!("../../shaders/finite.wgsl"), include_str!("../../shaders/flash.wgsl"));

/// One pipeline per padded row width D8 = ceil(head_dim / 8) (constant loop bounds; see the
/// shader), built on first use; its tile height is `block_k` of that width.
macro_rules! flash_defs {
    ($($d8:literal),*) => {
        [$(KernelDef {
            name: concat!("flash_d8_", $d8),
            source: SOURCE,
            entry: "flash",
            inputs: 6,
            outputs: 2,
            constants: &[("BLOCK_Q", BLOCK_Q as f64), ("D8", $d8 as f64), ("BK", flash::block_k(8 * $d8) as f64)],
        }),*]
    };
}
const FLASH_DEFS: [KernelDef; MAX_HEAD_DIM / 8] = flash_defs!(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);

fn kernel_for(head_dim: usize) -> Option<&'static KernelDef> {
    FLASH_DEFS.get(head_dim.div_ceil(8).checked_sub(1)?)
}

impl GpuBackend {
    /// Fused softmax attention: returns weights · v in `args.out_layout` without materializing
    /// the weights. Fails with `Error::Invalid` for specs `attention::flash::supports` rejects.
    pub fn flash_attention(&mut self, args: &AttentionArgs<'_, GpuTensor>) -> Result<GpuTensor> {
        flash::check_with(args, |t| t.len)?;
        let d = args.dims;
        let def = kernel_for(d.head_dim).ok_or_else(|| {
            crate::invalid!("the fused attention kernel has no tile size for headDim {}", d.head_dim)
        })?;
        let out = self.alloc(d.heads * d.seq_q * d.head_dim)?;
        // Clamped so the shader's i + window cannot overflow; any window this wide allows all.
        // (Top-k never gets here: flash::check_with rejects it.)
        let window = match args.spec.mask {
            Mask::Window(w) => w.min(d.seq_q + d.seq_k) as u32,
            Mask::None | Mask::Causal | Mask::TopK(_) => 0,
        };
        // Unused position inputs are bound to a one-value placeholder.
        let (rope, bias) = match &args.spec.positions {
            Positions::None => (None, None),
            Positions::Rope => (Some(rope_table(d.seq_q.max(d.seq_k), d.head_dim)), None),
            Positions::Alibi => (None, Some(alibi_slopes(d.heads))),
            Positions::RelativeBias(b) => (None, Some(b.clone())),
        };
        let rope = self.upload(rope.as_deref().unwrap_or(&[0.0]))?;
        let exps = self.flash_exponents(args)?;
        let bias = self.upload(bias.as_deref().unwrap_or(&[0.0]))?;
        let mut params = FlashParams {
            heads: d.heads as u32,
            seq_q: d.seq_q as u32,
            seq_k: d.seq_k as u32,
            head_dim: d.head_dim as u32,
            q: Layout::from(&args.q_layout),
            k: Layout::from(&args.k_layout),
            v: Layout::from(&args.v_layout),
            o: Layout::from(&args.out_layout),
            score: ScoreKind::from(&args.spec.score) as u32,
            mask: MaskKind::from(args.spec.mask) as u32,
            window,
            temperature: split_temperature(args.spec.temperature).0,
            positions: PositionKind::from(&args.spec.positions) as u32,
            j_begin: 0,
            j_end: 0,
            first: 1,
            last: 1,
            block_begin: 0,
            temp_exp: split_temperature(args.spec.temperature).1,
        };
        let blocks = d.seq_q.div_ceil(BLOCK_Q);
        let chunk = flash::gpu_chunk_keys(d.head_dim);
        let chunks = d.seq_k.div_ceil(chunk);
        // The running state between chunks; one placeholder value when a single dispatch does it all.
        let state = self.alloc(if chunks > 1 { d.heads * d.seq_q * (d.head_dim + 2) } else { 1 })?;
        for c in 0..chunks {
            let (j_begin, j_end) = (c * chunk, ((c + 1) * chunk).min(d.seq_k));
            // The first dispatch starts every block's state and the last writes every output;
            // those between skip the blocks the mask keeps from this chunk (a contiguous range:
            // key ranges grow with the block).
            let (lo, hi) = if c == 0 || c + 1 == chunks {
                (0, blocks)
            } else {
                let meets = |b: usize| {
                    let keys = args.spec.mask.key_range(b * BLOCK_Q, ((b + 1) * BLOCK_Q).min(d.seq_q), d.seq_k);
                    keys.start < j_end && j_begin < keys.end
                };
                let lo = (0..blocks).find(|&b| meets(b)).unwrap_or(blocks);
                (lo, (lo..blocks).find(|&b| !meets(b)).unwrap_or(blocks))
            };
            if lo == hi {
                continue;
            }
            params.j_begin = j_begin as u32;
            params.j_end = j_end as u32;
            params.first = (c == 0) as u32;
            params.last = (c + 1 == chunks) as u32;
            params.block_begin = lo as u32;
            let groups = [(hi - lo) as u32, d.heads as u32, 1];
            self.dispatch(def, &params, &[args.q, args.k, args.v, &rope, &bias, &exps], &[&out, &state], groups)?;
        }
        Ok(out)
    }
}
