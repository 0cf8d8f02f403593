//! Attention on the GPU: the chain of dispatches in shaders/attention.wgsl (see its header),
//! recorded into the backend's one encoder.

use crate::attention::check::check_args;
use crate::attention::positions::{alibi_slopes, rope_table};
use crate::attention::finite::{self, split_temperature};
use crate::attention::size::{self, MemoryLimits};
use crate::attention::{dropout, flash, AttentionDims, Mask, Normalizer, Positions, Score};
use crate::backend::{AttentionArgs, AttentionOutput, Backend, HeadLayout};
use crate::error::Result;

use super::{GpuBackend, GpuTensor, KernelDef};

const SOURCE: &str = concat!(include_str!("../../shaders/finite.wgsl"), include_str!("../../shaders/attention.wgsl"));

const fn kernel(name: &'static str, entry: &'static str, inputs: u32, outputs: u32) -> KernelDef {
    KernelDef { name, source: SOURCE, entry, inputs, outputs, constants: &[] }
}

const SCORES: KernelDef = kernel("attention.scores", "scores", 4, 1);
const PROJECT: KernelDef = kernel("attention.project", "project", 4, 1);
const SCORES_ADDITIVE: KernelDef = kernel("attention.scores_additive", "scores_additive", 4, 1);
const ROW_EXPONENTS: KernelDef = kernel("attention.row_exponents", "row_exponents", 3, 1);
const V_EXPONENTS: KernelDef = kernel("attention.v_exponents", "v_exponents", 3, 1);
const NORMALIZE: KernelDef = kernel("attention.normalize", "normalize", 0, 2);
const COVERAGE: KernelDef = kernel("attention.coverage", "coverage", 1, 1);
const DROPOUT: KernelDef = kernel("attention.dropout", "dropout", 0, 1);
const OUTPUT: KernelDef = kernel("attention.output", "output", 3, 1);

/// Mirrors `Params` in shaders/attention.wgsl, field for field.
#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
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
    mask_arg: u32,
    normalizer: u32,
    positions: u32,
    hidden: u32,
    slopes_off: u32,
    rope_off: u32,
    rel_off: u32,
    w_off: u32,
    av_off: u32,
    seed: [u32; 2],
    temperature: f32,
    scale: f32,
    drop_p: f32,
    drop_scale: f32,
    stats: u32,
    which: u32,
    temp_exp: i32,
    w_exp: i32,
    av_exp: i32,
}

/// The last per-call table uploaded (slopes, RoPE factors, relative bias, additive weights), kept
/// so that repeating a call with the same options uploads nothing.
#[derive(Default)]
pub struct AuxCache {
    last: Option<(Vec<f32>, GpuTensor)>,
}

fn layout(l: &HeadLayout) -> [u32; 3] {
    [l.offset as u32, l.head_stride as u32, l.row_stride as u32]
}

/// Offsets of each table in `aux`, and the packed values.
struct Aux {
    values: Vec<f32>,
    slopes: usize,
    rope: usize,
    rel: usize,
    wq: usize,
    wk: usize,
    av: usize,
    /// The additive Wq, Wk and v are stored as x·2^−exp, so the shader's sums stay finite.
    wq_exp: i32,
    wk_exp: i32,
    av_exp: i32,
}

/// `x` scaled by 2^−e (exact) with e = 0 unless its largest |value| exceeds 2³²; returns e.
fn scaled_down(x: &[f32]) -> (Vec<f32>, i32) {
    let e = (finite::exponent(x.iter().fold(0.0f32, |m, &v| m.max(v.abs()))) - 32).max(0);
    let f = finite::pow2(-e);
    (x.iter().map(|&v| v * f).collect(), e)
}

fn pack_aux(dims: &AttentionDims, args: &AttentionArgs<'_, GpuTensor>) -> Aux {
    let spec = args.spec;
    let mut values = Vec::new();
    let mut put = |data: &[f32]| {
        let at = values.len();
        values.extend_from_slice(data);
        at
    };
    let slopes = if spec.positions == Positions::Alibi { put(&alibi_slopes(dims.heads)) } else { 0 };
    let rope = if spec.positions == Positions::Rope { put(&rope_table(dims.seq_q.max(dims.seq_k), dims.head_dim)) } else { 0 };
    let rel = if let Positions::RelativeBias(b) = &spec.positions { put(b) } else { 0 };
    let ((wq, wq_exp), (wk, wk_exp), (av, av_exp)) = match &spec.score {
        Score::Additive(a) => {
            let mut put_scaled = |x: &[f32]| {
                let (x, e) = scaled_down(x);
                (put(&x), e)
            };
            (put_scaled(&a.wq), put_scaled(&a.wk), put_scaled(&a.v))
        }
        _ => ((0, 0), (0, 0), (0, 0)),
    };
    if values.is_empty() {
        values.push(0.0); // a binding cannot be empty
    }
    Aux { values, slopes, rope, rel, wq, wk, av, wq_exp, wk_exp, av_exp }
}

impl GpuBackend {
    /// The scale exponents of q rows, k rows and v heads (`ex` in shaders/attention.wgsl), for
    /// the unfused kernels and the fused one alike. `p` holds the dims and layouts.
    fn exponents(&mut self, args: &AttentionArgs<'_, GpuTensor>, p: &Params) -> Result<GpuTensor> {
        let AttentionDims { heads, seq_q, seq_k, .. } = args.dims;
        let exps = self.alloc(heads * (seq_q + seq_k) + heads)?;
        let operands = [args.q, args.k, args.v];
        self.dispatch(&ROW_EXPONENTS, p, &operands, &[&exps], [seq_q.max(seq_k).div_ceil(64) as u32, heads as u32, 2])?;
        self.dispatch(&V_EXPONENTS, p, &operands, &[&exps], [heads as u32, 1, 1])?;
        Ok(exps)
    }

    /// `exponents` for the fused kernel, which has its own parameters.
    pub(super) fn flash_exponents(&mut self, args: &AttentionArgs<'_, GpuTensor>) -> Result<GpuTensor> {
        let p = Params {
            heads: args.dims.heads as u32,
            seq_q: args.dims.seq_q as u32,
            seq_k: args.dims.seq_k as u32,
            head_dim: args.dims.head_dim as u32,
            q: layout(&args.q_layout),
            k: layout(&args.k_layout),
            v: layout(&args.v_layout),
            ..Default::default()
        };
        self.exponents(args, &p)
    }

    fn aux_tensor(&mut self, values: Vec<f32>) -> Result<GpuTensor> {
        if let Some((last, t)) = &self.aux.last {
            if *last == values {
                return Ok(t.clone());
            }
        }
        let t = self.upload(&values)?;
        self.aux.last = Some((values, t.clone()));
        Ok(t)
    }

    pub(super) fn record_attention(&mut self, args: &AttentionArgs<'_, GpuTensor>) -> Result<AttentionOutput<GpuTensor>> {
        self.ctx.check_alive()?;
        check_args(args, |t| t.len)?;
        let dims = args.dims;
        let AttentionDims { heads, seq_q, seq_k, head_dim } = dims;
        let spec = args.spec;
        let l = &self.ctx.limits;
        size::check(&dims, spec, size::Place::Gpu, &MemoryLimits::gpu(l.max_buffer_size, l.max_storage_buffer_binding_size))?;
        // Without weights to return, the fused kernel never materializes them.
        if !spec.return_weights && flash::supports(spec) && flash::supports_dims(&dims) {
            let output = self.flash_attention(args)?;
            return Ok(AttentionOutput { output, weights: None, entropy: None, coverage: None });
        }
        let weights_len = heads * seq_q * seq_k;

        let aux = pack_aux(&dims, args);
        let p = Params {
            heads: heads as u32,
            seq_q: seq_q as u32,
            seq_k: seq_k as u32,
            head_dim: head_dim as u32,
            q: layout(&args.q_layout),
            k: layout(&args.k_layout),
            v: layout(&args.v_layout),
            o: layout(&args.out_layout),
            score: match spec.score {
                Score::Dot => 0,
                Score::ScaledDot => 1,
                Score::Cosine => 2,
                Score::NegSqDist => 3,
                Score::Additive(_) => 4,
            },
            mask: match spec.mask {
                Mask::None => 0,
                Mask::Causal => 1,
                Mask::Window(_) => 2,
                Mask::TopK(_) => 3,
            },
            mask_arg: match spec.mask {
                Mask::Window(w) | Mask::TopK(w) => w.min(u32::MAX as usize) as u32,
                Mask::None | Mask::Causal => 0,
            },
            normalizer: match spec.normalizer {
                Normalizer::Softmax => 0,
                Normalizer::Sparsemax => 1,
                Normalizer::Entmax15 => 2,
            },
            positions: match spec.positions {
                Positions::None => 0,
                Positions::Rope => 1,
                Positions::Alibi => 2,
                Positions::RelativeBias(_) => 3,
            },
            hidden: match &spec.score {
                Score::Additive(a) => a.hidden as u32,
                _ => 0,
            },
            slopes_off: aux.slopes as u32,
            rope_off: aux.rope as u32,
            rel_off: aux.rel as u32,
            w_off: 0,
            av_off: aux.av as u32,
            seed: dropout::seed_words(spec.dropout.map_or(0, |d| d.seed)),
            temperature: split_temperature(spec.temperature).0,
            temp_exp: split_temperature(spec.temperature).1,
            w_exp: 0,
            av_exp: aux.av_exp,
            scale: 1.0 / (head_dim as f32).sqrt(),
            drop_p: spec.dropout.map_or(0.0, |d| d.p),
            drop_scale: spec.dropout.map_or(1.0, |d| dropout::rescale(d.p)),
            stats: spec.stats as u32,
            which: 0,
        };
        let aux_t = self.aux_tensor(aux.values)?;
        let tiles = |n: usize| n.div_ceil(16) as u32;
        let (h, sq, sk) = (heads as u32, seq_q as u32, seq_k as u32);

        let exps = self.exponents(args, &p)?;
        // [heads, seq_q, seq_k]: scores, then weights in place.
        let w = self.alloc(weights_len)?;
        if let Score::Additive(a) = &spec.score {
            let hidden = a.hidden;
            let qp = self.alloc(heads * seq_q * hidden)?;
            let kp = self.alloc(heads * seq_k * hidden)?;
            let groups = |rows: u32| [hidden.div_ceil(64) as u32, rows, h];
            let pq = Params { w_off: aux.wq as u32, which: 0, w_exp: aux.wq_exp, ..p };
            let pk = Params { w_off: aux.wk as u32, which: 1, w_exp: aux.wk_exp, ..p };
            self.dispatch(&PROJECT, &pq, &[args.q, args.k, &aux_t, &exps], &[&qp], groups(sq))?;
            self.dispatch(&PROJECT, &pk, &[args.q, args.k, &aux_t, &exps], &[&kp], groups(sk))?;
            self.dispatch(&SCORES_ADDITIVE, &p, &[&qp, &kp, &aux_t, &exps], &[&w], [tiles(seq_k), tiles(seq_q), h])?;
        } else {
            self.dispatch(&SCORES, &p, &[args.q, args.k, &aux_t, &exps], &[&w], [tiles(seq_k), tiles(seq_q), h])?;
        }

        let entropy = self.alloc(if spec.stats { heads * seq_q } else { 1 })?;
        self.dispatch(&NORMALIZE, &p, &[], &[&w, &entropy], [sq, h, 1])?;
        let coverage = if spec.stats {
            let c = self.alloc(heads * seq_k)?;
            self.dispatch(&COVERAGE, &p, &[&w], &[&c], [seq_k.div_ceil(64) as u32, h, 1])?;
            Some(c)
        } else {
            None
        };
        if spec.dropout.is_some() {
            self.dispatch(&DROPOUT, &p, &[], &[&w], [seq_k.div_ceil(64) as u32, sq, h])?;
        }
        let output = self.alloc(heads * seq_q * head_dim)?;
        self.dispatch(&OUTPUT, &p, &[&w, args.v, &exps], &[&output], [tiles(head_dim), tiles(seq_q), h])?;

        Ok(AttentionOutput {
            output,
            weights: spec.return_weights.then_some(w),
            entropy: spec.stats.then_some(entropy),
            coverage,
        })
    }
}
