//! Getting a GPU device, on the web (WebGPU) and natively (Vulkan, e.g. Mesa's llvmpipe in CI),
//! and noticing when it is lost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// A device and queue with what we learned about them.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub limits: wgpu::Limits,
    /// e.g. "swiftshader (google)" or "llvmpipe (LLVM 15) (vulkan)"
    pub adapter_name: String,
    lost: Arc<LostFlag>,
}

#[derive(Default)]
struct LostFlag {
    lost: AtomicBool,
    reason: Mutex<String>,
}

impl GpuContext {
    /// Asks for an adapter and a device with WebGPU's default limits, so that whatever works here
    /// works on every WebGPU implementation.
    pub async fn new() -> Result<GpuContext> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = if cfg!(target_arch = "wasm32") { wgpu::Backends::BROWSER_WEBGPU } else { wgpu::Backends::VULKAN };
        let instance = wgpu::Instance::new(desc);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::GpuUnavailable(format!("no GPU adapter ({e})")))?;
        let info = adapter.get_info();
        let adapter_name = if info.name.is_empty() {
            format!("{} ({:?})", info.driver, info.backend)
        } else {
            format!("{} ({:?})", info.name, info.backend)
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("attention-playground"),
                required_features: wgpu::Features::empty(),
                required_limits: wgpu::Limits::default(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::GpuUnavailable(format!("could not open a device on {adapter_name}: {e}")))?;
        let lost = Arc::new(LostFlag::default());
        let flag = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            *flag.reason.lock().unwrap() = format!("{reason:?}: {message}");
            flag.lost.store(true, Ordering::SeqCst);
        });
        // Validation and out-of-memory errors on the web are reported asynchronously; treat any
        // uncaptured error as fatal for this device so the caller falls back to the CPU.
        let flag = lost.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            *flag.reason.lock().unwrap() = format!("uncaptured GPU error: {e}");
            flag.lost.store(true, Ordering::SeqCst);
        }));
        let limits = device.limits();
        Ok(GpuContext { device, queue, limits, adapter_name, lost })
    }

    /// `Err(DeviceLost)` once the device has been lost or has reported an error.
    pub fn check_alive(&self) -> Result<()> {
        if self.lost.lost.load(Ordering::SeqCst) {
            Err(Error::DeviceLost(self.lost.reason.lock().unwrap().clone()))
        } else {
            Ok(())
        }
    }

    /// Destroys the device, as a driver reset would; used to test the CPU fallback.
    pub fn simulate_loss(&self) {
        self.device.destroy();
        *self.lost.reason.lock().unwrap() = "device destroyed (simulated loss)".into();
        self.lost.lost.store(true, Ordering::SeqCst);
    }
}
