//! The GPU backend: WGSL kernels through wgpu (WebGPU in the browser, Vulkan natively).
//!
//! Ops record compute passes into one command encoder; `read` submits it once and maps one
//! staging buffer per requested tensor. Pipelines, intermediate buffers and uniform slots are
//! pooled, so a repeated computation builds nothing new.

mod attention;
mod context;
mod contract;
mod dense;
mod flash;
mod kernel;
mod pool;
mod rollout;
mod upsample;
mod wgsl;

pub use context::GpuContext;
pub use dense::GpuWeight;
pub use kernel::KernelDef;
pub use pool::GpuTensor;

use crate::attention::rollout::RolloutArgs;
use crate::backend::{AttentionArgs, AttentionOutput, Backend, BackendKind, Col2Im, LayerNorm, Linear, Resize};
use crate::error::{Error, Result};
use kernel::{KernelCache, ParamArena, PARAMS_SLOT};
use pool::BufferPool;

pub struct GpuBackend {
    ctx: GpuContext,
    kernels: KernelCache,
    params: ParamArena,
    pool: BufferPool,
    encoder: Option<wgpu::CommandEncoder>,
    aux: attention::AuxCache,
}

impl GpuBackend {
    pub async fn new() -> Result<GpuBackend> {
        Ok(GpuBackend::with_context(GpuContext::new().await?))
    }

    pub fn with_context(ctx: GpuContext) -> GpuBackend {
        GpuBackend {
            ctx,
            kernels: KernelCache::default(),
            params: ParamArena::default(),
            pool: BufferPool::new(),
            encoder: None,
            aux: attention::AuxCache::default(),
        }
    }

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    pub fn device(&self) -> &wgpu::Device {
        &self.ctx.device
    }

    /// A fresh intermediate tensor of `len` f32 (contents undefined) from the pool.
    pub fn alloc(&mut self, len: usize) -> Result<GpuTensor> {
        self.check_size(len)?;
        Ok(self.pool.tensor(&self.ctx.device, len))
    }

    /// Errors when a tensor of `len` f32 cannot be bound as one storage buffer on this device.
    pub fn check_size(&self, len: usize) -> Result<()> {
        let bytes = (len as u64) * 4;
        let max = self.ctx.limits.max_storage_buffer_binding_size.min(self.ctx.limits.max_buffer_size);
        if bytes > max {
            return Err(Error::Invalid(format!(
                "a GPU tensor of {:.1} MiB exceeds this device's limit of {:.1} MiB per buffer",
                bytes as f64 / (1 << 20) as f64,
                max as f64 / (1 << 20) as f64
            )));
        }
        Ok(())
    }

    /// Records one dispatch of `def` with `params` (a `#[repr(C)]` Pod struct matching the
    /// kernel's `Params`), its read-only `inputs` and read-write `outputs`, in binding order.
    pub fn dispatch<P: bytemuck::Pod>(
        &mut self,
        def: &KernelDef,
        params: &P,
        inputs: &[&GpuTensor],
        outputs: &[&GpuTensor],
        workgroups: [u32; 3],
    ) -> Result<()> {
        debug_assert_eq!(inputs.len() as u32, def.inputs, "{}: wrong number of inputs", def.name);
        debug_assert_eq!(outputs.len() as u32, def.outputs, "{}: wrong number of outputs", def.name);
        let max = self.ctx.limits.max_compute_workgroups_per_dimension;
        if workgroups.iter().any(|&w| w > max) {
            return Err(Error::Invalid(format!(
                "{}: {:?} workgroups exceed the device limit of {max} per dimension",
                def.name, workgroups
            )));
        }
        if workgroups.contains(&0) {
            return Ok(());
        }
        let kernel = self.kernels.get(&self.ctx.device, def);
        let (chunk, offset) = self.params.push(&self.ctx.device, bytemuck::bytes_of(params));
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &chunk,
                offset: 0,
                size: wgpu::BufferSize::new(PARAMS_SLOT),
            }),
        }];
        for (i, t) in inputs.iter().chain(outputs).enumerate() {
            entries.push(wgpu::BindGroupEntry { binding: i as u32 + 1, resource: t.binding() });
        }
        let bind_group = self.ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(def.name),
            layout: &kernel.layout,
            entries: &entries,
        });
        let device = &self.ctx.device;
        let encoder = self
            .encoder
            .get_or_insert_with(|| device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("computation") }));
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(def.name), timestamp_writes: None });
        pass.set_pipeline(&kernel.pipeline);
        pass.set_bind_group(0, &bind_group, &[offset]);
        pass.dispatch_workgroups(workgroups[0], workgroups[1], workgroups[2]);
        Ok(())
    }

    /// Makes the device unusable, as a driver reset would (tests of the CPU fallback).
    pub fn simulate_device_loss(&self) {
        self.ctx.simulate_loss();
    }
}

impl Backend for GpuBackend {
    type Tensor = GpuTensor;
    type Weight = GpuWeight;

    fn kind(&self) -> BackendKind {
        BackendKind::Gpu
    }

    fn upload(&mut self, data: &[f32]) -> Result<GpuTensor> {
        self.ctx.check_alive()?;
        self.check_size(data.len())?;
        let t = pool::dedicated_tensor(&self.ctx.device, data.len());
        if !data.is_empty() {
            self.ctx.queue.write_buffer(t.buffer(), 0, bytemuck::cast_slice(data));
        }
        Ok(t)
    }

    fn len(&self, t: &GpuTensor) -> usize {
        t.len
    }

    fn upload_weight(&mut self, w: &[f32], in_dim: usize, out_dim: usize) -> Result<GpuWeight> {
        crate::ensure!(in_dim.checked_mul(out_dim) == Some(w.len()), "weight has {} values, expected {in_dim} × {out_dim}", w.len());
        Ok(GpuWeight { tensor: self.upload(w)?, in_dim, out_dim })
    }

    fn linear(&mut self, op: &Linear<'_, GpuTensor, GpuWeight>) -> Result<GpuTensor> {
        self.dense_linear(op)
    }

    fn col2im(&mut self, op: &Col2Im<'_, GpuTensor>) -> Result<GpuTensor> {
        self.upsample_col2im(op)
    }

    fn resize(&mut self, op: &Resize<'_, GpuTensor>) -> Result<GpuTensor> {
        self.upsample_resize(op)
    }

    fn layer_norm(&mut self, op: &LayerNorm<'_, GpuTensor>) -> Result<GpuTensor> {
        self.dense_layer_norm(op)
    }

    fn attention(&mut self, args: &AttentionArgs<'_, GpuTensor>) -> Result<AttentionOutput<GpuTensor>> {
        self.record_attention(args)
    }

    fn rollout(&mut self, args: &RolloutArgs<'_, GpuTensor>) -> Result<GpuTensor> {
        self.rollout_gpu(args)
    }

    async fn read(&mut self, tensors: &[&GpuTensor]) -> Result<Vec<Vec<f32>>> {
        self.ctx.check_alive()?;
        let device = &self.ctx.device;
        let mut encoder = self
            .encoder
            .take()
            .unwrap_or_else(|| device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") }));
        let staging: Vec<_> = tensors
            .iter()
            .map(|t| {
                let bytes = (t.len as u64 * 4).max(4);
                let s = self.pool.staging(device, bytes);
                encoder.copy_buffer_to_buffer(t.buffer(), 0, &s.buffer, 0, bytes);
                (s, bytes)
            })
            .collect();
        self.params.flush(&self.ctx.queue);
        self.ctx.queue.submit([encoder.finish()]);

        let mut pending = Vec::with_capacity(staging.len());
        for (s, bytes) in &staging {
            let (tx, rx) = futures_channel::oneshot::channel();
            s.buffer.slice(..*bytes).map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send(r);
            });
            pending.push(rx);
        }
        #[cfg(not(target_arch = "wasm32"))]
        self.ctx
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::DeviceLost(format!("waiting for the GPU failed: {e}")))?;

        let mut out = Vec::with_capacity(tensors.len());
        for ((rx, (s, bytes)), t) in pending.into_iter().zip(&staging).zip(tensors) {
            let mapped = rx.await.map_err(|_| Error::DeviceLost("the GPU dropped a readback".into()))?;
            mapped.map_err(|e| {
                self.ctx.check_alive().err().unwrap_or_else(|| Error::DeviceLost(format!("reading a GPU buffer failed: {e}")))
            })?;
            {
                let view = s
                    .buffer
                    .slice(..*bytes)
                    .get_mapped_range()
                    .map_err(|e| Error::DeviceLost(format!("mapping a GPU buffer failed: {e}")))?;
                out.push(bytemuck::cast_slice::<u8, f32>(&view)[..t.len].to_vec());
            }
            s.buffer.unmap();
        }
        self.ctx.check_alive()?;
        Ok(out)
    }
}
