//! Getting a GPU: an adapter and a device with an error flag instead of wgpu's default handler
//! (which panics natively), and waiting for submitted work.

use std::sync::{Arc, Mutex};

use super::GpuError;

/// A device and its queue, with the flag its error and loss callbacks raise.
#[derive(Debug)]
pub struct GpuDevice {
    /// The wgpu device.
    pub device: wgpu::Device,
    /// Its queue.
    pub queue: wgpu::Queue,
    /// The first uncaptured error or loss the device reported.
    pub failure: Failure,
}

impl GpuDevice {
    /// Wraps a device (tests and callers may bring their own) and routes its errors and its
    /// loss to `failure`.
    pub fn new(device: wgpu::Device, queue: wgpu::Queue) -> GpuDevice {
        let failure = Failure::default();
        let on_error = failure.clone();
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            on_error.record(error.to_string())
        }));
        let on_lost = failure.clone();
        device.set_device_lost_callback(move |reason, message| {
            on_lost.record(format!("the device was lost ({reason:?}): {message}"))
        });
        GpuDevice {
            device,
            queue,
            failure,
        }
    }
}

/// The first failure a device reported, shared with its callbacks.
#[derive(Debug, Clone, Default)]
pub struct Failure(Arc<Mutex<Option<String>>>);

impl Failure {
    fn record(&self, message: String) {
        if let Ok(mut first) = self.0.lock() {
            first.get_or_insert(message);
        }
    }

    /// The failure, if there was one.
    pub fn get(&self) -> Option<GpuError> {
        match self.0.lock() {
            Ok(first) => first.clone().map(GpuError),
            Err(_) => Some(GpuError("a device callback panicked".into())),
        }
    }
}

/// Requests an adapter and a device: natively over Vulkan, in wasm through the browser's
/// WebGPU. `allow_software`: accept a CPU-emulated adapter (lavapipe, SwiftShader).
pub async fn request_device(
    allow_software: bool,
) -> Result<(GpuDevice, wgpu::AdapterInfo), GpuError> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::VULKAN | wgpu::Backends::BROWSER_WEBGPU,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        })
        .await
        .map_err(|e| GpuError(format!("no adapter: {e}")))?;
    let info = adapter.get_info();
    if info.device_type == wgpu::DeviceType::Cpu && !allow_software {
        return Err(GpuError(format!(
            "the adapter ({}) is a CPU emulation",
            info.name
        )));
    }
    let limits = adapter.limits();
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some("edgerec"),
            required_limits: wgpu::Limits {
                max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
                max_buffer_size: limits.max_buffer_size,
                ..wgpu::Limits::downlevel_defaults()
            },
            ..Default::default()
        })
        .await
        .map_err(|e| GpuError(format!("the device request failed: {e}")))?;
    Ok((GpuDevice::new(device, queue), info))
}

/// Blocks until submitted work is done (native); in the browser callbacks run from the event
/// loop, so there is nothing to do.
pub fn wait(device: &wgpu::Device) {
    #[cfg(not(target_arch = "wasm32"))]
    let _ = device.poll(wgpu::PollType::wait_indefinitely());
    #[cfg(target_arch = "wasm32")]
    let _ = device;
}
