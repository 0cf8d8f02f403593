//! Compute kernels: one WGSL file per kernel family in `shaders/`, compiled into the binary and
//! built with the contract's prelude (`contract::prelude`) joined before its source.
//!
//! Binding convention, shared by every kernel so one layout builder serves all:
//!   @group(0) @binding(0)            var<uniform> p: XParams;  (contract.rs; ≤ 256 bytes, dynamic offset)
//!   @group(0) @binding(1 ..= inputs)  var<storage, read>        inputs, in order
//!   @group(0) @binding(inputs+1 ..)   var<storage, read_write>  outputs, in order

use std::collections::HashMap;
use std::rc::Rc;

/// Everything that defines a pipeline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KernelDef {
    /// Unique name; the cache key and the label in GPU error messages.
    pub name: &'static str,
    pub source: &'static str,
    pub entry: &'static str,
    pub inputs: u32,
    pub outputs: u32,
    /// WGSL `override` constants.
    pub constants: &'static [(&'static str, f64)],
}

pub struct Kernel {
    pub def: KernelDef,
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
}

/// Size of one uniform slot; WebGPU's default minUniformBufferOffsetAlignment.
pub const PARAMS_SLOT: u64 = 256;
const SLOTS_PER_CHUNK: u64 = 256;

/// Shader modules and pipelines, built on first use and kept.
#[derive(Default)]
pub struct KernelCache {
    modules: HashMap<usize, Rc<wgpu::ShaderModule>>,
    kernels: HashMap<&'static str, Rc<Kernel>>,
}

impl KernelCache {
    pub fn get(&mut self, device: &wgpu::Device, def: &KernelDef) -> Rc<Kernel> {
        if let Some(k) = self.kernels.get(def.name) {
            debug_assert_eq!(k.def, *def, "two kernels share the name {}", def.name);
            return k.clone();
        }
        let module = self
            .modules
            .entry(def.source.as_ptr() as usize)
            .or_insert_with(|| {
                Rc::new(device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(def.name),
                    source: wgpu::ShaderSource::Wgsl(format!("{}{}", super::contract::prelude(), def.source).into()),
                }))
            })
            .clone();
        let storage = |binding: u32, read_only: bool| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let mut entries = vec![wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: true,
                min_binding_size: wgpu::BufferSize::new(PARAMS_SLOT),
            },
            count: None,
        }];
        entries.extend((1..=def.inputs).map(|b| storage(b, true)));
        entries.extend((def.inputs + 1..=def.inputs + def.outputs).map(|b| storage(b, false)));
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(def.name), entries: &entries });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(def.name),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(def.name),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some(def.entry),
            compilation_options: wgpu::PipelineCompilationOptions { constants: def.constants, ..Default::default() },
            cache: None,
        });
        let kernel = Rc::new(Kernel { def: *def, pipeline, layout });
        self.kernels.insert(def.name, kernel.clone());
        kernel
    }
}

/// Per-dispatch parameters. Every dispatch of a computation gets its own 256-byte slot in a
/// chunked uniform buffer; the bytes are written with one `write_buffer` per chunk just before
/// the single submit. Chunks are kept and reused by later computations.
#[derive(Default)]
pub struct ParamArena {
    chunks: Vec<wgpu::Buffer>,
    staged: Vec<u8>,
}

impl ParamArena {
    /// Stages `params` and returns (chunk buffer, dynamic offset) for its bind group.
    pub fn push(&mut self, device: &wgpu::Device, params: &[u8]) -> (wgpu::Buffer, u32) {
        assert!(params.len() as u64 <= PARAMS_SLOT, "kernel params exceed {PARAMS_SLOT} bytes");
        let slot = (self.staged.len() as u64) / PARAMS_SLOT;
        let chunk = (slot / SLOTS_PER_CHUNK) as usize;
        while self.chunks.len() <= chunk {
            self.chunks.push(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("params"),
                size: PARAMS_SLOT * SLOTS_PER_CHUNK,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }));
        }
        self.staged.extend_from_slice(params);
        self.staged.resize(((slot + 1) * PARAMS_SLOT) as usize, 0);
        (self.chunks[chunk].clone(), ((slot % SLOTS_PER_CHUNK) * PARAMS_SLOT) as u32)
    }

    /// Writes everything staged since the last flush; call right before submitting.
    pub fn flush(&mut self, queue: &wgpu::Queue) {
        let chunk_bytes = (PARAMS_SLOT * SLOTS_PER_CHUNK) as usize;
        for (i, bytes) in self.staged.chunks(chunk_bytes).enumerate() {
            queue.write_buffer(&self.chunks[i], 0, bytes);
        }
        self.staged.clear();
    }
}
