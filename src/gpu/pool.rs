//! GPU buffers: a pool of storage buffers for intermediate tensors, reused across ops and
//! computations instead of being created per call.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

/// Free buffers by size class. Dropping a pooled tensor returns its buffer here.
#[derive(Default)]
pub struct FreeList {
    free: HashMap<u64, Vec<wgpu::Buffer>>,
    free_bytes: u64,
}

/// Past this many idle bytes the pool lets buffers go instead of keeping them.
const MAX_IDLE_BYTES: u64 = 512 << 20;

/// Rounds a byte size up to a size class: powers of two split in eight steps, so reuse works
/// across slightly different sequence lengths while wasting at most 12.5%.
pub fn size_class(bytes: u64) -> u64 {
    let bytes = bytes.max(256);
    let top = 63 - bytes.leading_zeros() as u64; // 2^top <= bytes
    let step = 1u64 << top.saturating_sub(3);
    bytes.div_ceil(step) * step
}

pub struct PooledBuffer {
    pub buffer: wgpu::Buffer,
    /// Free-list key: the size class, +1 for staging buffers.
    key: u64,
    home: Option<Weak<RefCell<FreeList>>>,
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        let Some(home) = self.home.as_ref().and_then(Weak::upgrade) else { return };
        let mut list = home.borrow_mut();
        let size = self.buffer.size();
        if list.free_bytes + size <= MAX_IDLE_BYTES {
            list.free_bytes += size;
            list.free.entry(self.key).or_default().push(self.buffer.clone());
        }
    }
}

/// A tensor on the GPU: `len` f32 values at the start of a (possibly larger) buffer.
#[derive(Clone)]
pub struct GpuTensor {
    pub(crate) buf: Rc<PooledBuffer>,
    pub(crate) len: usize,
}

impl GpuTensor {
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buf.buffer
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes a shader may see: exactly the tensor, never the slack of its size class.
    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.buf.buffer,
            offset: 0,
            size: wgpu::BufferSize::new((self.len.max(1) * 4) as u64),
        })
    }
}

pub struct BufferPool {
    list: Rc<RefCell<FreeList>>,
}

pub const STORAGE_USAGE: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_SRC).union(wgpu::BufferUsages::COPY_DST);

impl BufferPool {
    pub fn new() -> Self {
        BufferPool { list: Rc::new(RefCell::new(FreeList::default())) }
    }

    /// A storage tensor of `len` f32 (contents undefined), from the pool when one fits.
    pub fn tensor(&self, device: &wgpu::Device, len: usize) -> GpuTensor {
        let size = size_class((len.max(1) * 4) as u64);
        let reused = {
            let mut list = self.list.borrow_mut();
            let hit = list.free.get_mut(&size).and_then(Vec::pop);
            if hit.is_some() {
                list.free_bytes -= size;
            }
            hit
        };
        let buffer = reused.unwrap_or_else(|| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("tensor"),
                size,
                usage: STORAGE_USAGE,
                mapped_at_creation: false,
            })
        });
        GpuTensor { buf: Rc::new(PooledBuffer { buffer, key: size, home: Some(Rc::downgrade(&self.list)) }), len }
    }

    /// A readback buffer of at least `bytes`, from the pool when one fits.
    pub fn staging(&self, device: &wgpu::Device, bytes: u64) -> PooledBuffer {
        // Staging buffers live in the same free list under a distinct key (odd sizes never occur
        // for storage classes, so +1 cannot collide).
        let size = size_class(bytes);
        let key = size + 1;
        let reused = {
            let mut list = self.list.borrow_mut();
            let hit = list.free.get_mut(&key).and_then(Vec::pop);
            if hit.is_some() {
                list.free_bytes -= size;
            }
            hit
        };
        let buffer = reused.unwrap_or_else(|| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("staging"),
                size,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        PooledBuffer { buffer, key, home: Some(Rc::downgrade(&self.list)) }
    }
}

impl Default for BufferPool {
    fn default() -> Self {
        Self::new()
    }
}

/// A tensor that owns its buffer outright (model weights): never returned to a pool.
pub fn dedicated_tensor(device: &wgpu::Device, len: usize) -> GpuTensor {
    let buffer = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("weights"),
        size: ((len.max(1) * 4) as u64).next_multiple_of(4),
        usage: STORAGE_USAGE,
        mapped_at_creation: false,
    });
    GpuTensor { buf: Rc::new(PooledBuffer { buffer, key: 0, home: None }), len }
}
