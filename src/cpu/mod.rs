//! The CPU backend: every op computed in Rust as it is called (SIMD128 on wasm).

mod attention;
pub mod dense;

use crate::attention::check::check_args;
use crate::backend::{AttentionArgs, AttentionOutput, Backend, BackendKind, LayerNorm, Linear};
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
        // Flash hook: when `!args.spec.return_weights && flash::supports(args.spec)`, the fused
        // kernel of `attention::flash` takes over here (it never materializes the weights).
        Ok(attention::attention(args))
    }

    async fn read(&mut self, tensors: &[&Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        Ok(tensors.iter().map(|t| t.to_vec()).collect())
    }
}
