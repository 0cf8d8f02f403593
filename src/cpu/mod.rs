//! The CPU backend: every op computed in Rust as it is called (SIMD128 on wasm).

mod attention;
pub mod dense;

use crate::attention::check::check_args;
use crate::attention::flash;
use crate::attention::rollout::RolloutArgs;
use crate::backend::{AttentionArgs, AttentionOutput, Backend, BackendKind, LayerNorm, Linear, WeightLayout};
use crate::error::Result;

#[derive(Default)]
pub struct CpuBackend;

impl CpuBackend {
    pub fn new() -> Self {
        CpuBackend
    }
}

impl Backend for CpuBackend {
    type Tensor = Vec<f32>;

    fn kind(&self) -> BackendKind {
        BackendKind::Cpu
    }

    fn upload(&mut self, data: &[f32]) -> Result<Vec<f32>> {
        Ok(data.to_vec())
    }

    fn len(&self, t: &Vec<f32>) -> usize {
        t.len()
    }

    fn upload_weight(&mut self, w: &[f32], in_dim: usize, out_dim: usize) -> Result<(Vec<f32>, WeightLayout)> {
        crate::ensure!(in_dim.checked_mul(out_dim) == Some(w.len()), "weight has {} values, expected {in_dim} × {out_dim}", w.len());
        Ok((dense::pack_weight(w, in_dim, out_dim), WeightLayout::Packed))
    }

    fn linear(&mut self, op: &Linear<'_, Vec<f32>>) -> Result<Vec<f32>> {
        dense::check_linear(op, |t| t.len())?;
        Ok(dense::linear(op))
    }

    fn layer_norm(&mut self, op: &LayerNorm<'_, Vec<f32>>) -> Result<Vec<f32>> {
        dense::check_layer_norm(op, |t| t.len())?;
        Ok(dense::layer_norm(op))
    }

    fn attention(&mut self, args: &AttentionArgs<'_, Vec<f32>>) -> Result<AttentionOutput<Vec<f32>>> {
        check_args(args, |t| t.len())?;
        // Without weights to return, the fused kernel never materializes them.
        if !args.spec.return_weights && flash::supports(args.spec) && flash::supports_dims(&args.dims) {
            let output = flash::attention_cpu(args)?;
            return Ok(AttentionOutput { output, weights: None, entropy: None, coverage: None });
        }
        Ok(attention::attention(args))
    }

    fn rollout(&mut self, args: &RolloutArgs<'_, Vec<f32>>) -> Result<Vec<f32>> {
        crate::attention::rollout::rollout_cpu(args)
    }

    async fn read(&mut self, tensors: &[&Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        Ok(tensors.iter().map(|t| t.to_vec()).collect())
    }

    async fn read_owned(&mut self, tensors: Vec<Vec<f32>>) -> Result<Vec<Vec<f32>>> {
        Ok(tensors)
    }
}
