//! Fused ("flash") attention on the GPU: dispatches `shaders/flash.wgsl`. What it computes and
//! what falls back is described in `attention::flash`.

use super::kernel::KernelDef;
use super::{GpuBackend, GpuTensor};
use crate::attention::flash::{self, BLOCK_Q, MAX_HEAD_DIM};
use crate::attention::finite::split_temperature;
use crate::attention::positions::{alibi_slopes, rope_table};
use crate::attention::{Mask, Positions, Score};
use crate::backend::{AttentionArgs, HeadLayout};
use crate::error::Result;
use crate::Backend;

const SOURCE: &str = concat!(include_str!("../../shaders/finite.wgsl"), include_str!("../../shaders/flash.wgsl"));

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

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    heads: u32,
    seq_q: u32,
    seq_k: u32,
    head_dim: u32,
    q: [u32; 3],
    k: [u32; 3],
    v: [u32; 3],
    o: [u32; 3],
    score: u32,
    mask: u32,
    window: u32,
    temperature: f32,
    positions: u32,
    j_begin: u32,
    j_end: u32,
    first: u32,
    last: u32,
    block_begin: u32,
    temp_exp: i32,
}

fn layout(l: &HeadLayout) -> [u32; 3] {
    [l.offset as u32, l.head_stride as u32, l.row_stride as u32]
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
        let (mask, window) = match args.spec.mask {
            Mask::None | Mask::TopK(_) => (0, 0),
            Mask::Causal => (1, 0),
            // Clamped so the shader's i + window cannot overflow; any window this wide allows all.
            Mask::Window(w) => (2, w.min(d.seq_q + d.seq_k) as u32),
        };
        let score = match args.spec.score {
            Score::Dot => 0,
            Score::ScaledDot => 1,
            Score::Cosine => 2,
            Score::NegSqDist => 3,
            Score::Additive(_) => unreachable!("rejected by flash::check_with"),
        };
        // Unused position inputs are bound to a one-value placeholder.
        let (positions, rope, bias) = match &args.spec.positions {
            Positions::None => (0, None, None),
            Positions::Rope => (1, Some(rope_table(d.seq_q.max(d.seq_k), d.head_dim)), None),
            Positions::Alibi => (2, None, Some(alibi_slopes(d.heads))),
            Positions::RelativeBias(b) => (3, None, Some(b.clone())),
        };
        let rope = self.upload(rope.as_deref().unwrap_or(&[0.0]))?;
        let exps = self.flash_exponents(args)?;
        let bias = self.upload(bias.as_deref().unwrap_or(&[0.0]))?;
        let mut params = Params {
            heads: d.heads as u32,
            seq_q: d.seq_q as u32,
            seq_k: d.seq_k as u32,
            head_dim: d.head_dim as u32,
            q: layout(&args.q_layout),
            k: layout(&args.k_layout),
            v: layout(&args.v_layout),
            o: layout(&args.out_layout),
            score,
            mask,
            window,
            temperature: split_temperature(args.spec.temperature).0,
            positions,
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
                    let (s, e) = flash::key_range(args.spec.mask, b * BLOCK_Q, ((b + 1) * BLOCK_Q).min(d.seq_q), d.seq_k);
                    s < j_end && j_begin < e
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
