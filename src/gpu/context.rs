//! Adapter selection, device creation within WebGPU's default limits, tracked buffers
//! (current and peak bytes), error capture (validation errors, device loss) and
//! asynchronous read-back that works natively and in the browser.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::{GpuOptions, ReduceKind};
use crate::{Error, Result};

/// Bytes of device memory held by the engine's buffers, now and at most.
#[derive(Debug, Default)]
pub struct MemoryTracker {
    current: AtomicU64,
    peak: AtomicU64,
}

impl MemoryTracker {
    fn add(&self, bytes: u64) {
        let now = self.current.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }
    pub fn current(&self) -> u64 {
        self.current.load(Ordering::Relaxed)
    }
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

/// A wgpu buffer whose bytes count in the engine's [`MemoryTracker`] while it lives.
#[derive(Debug)]
pub struct GpuBuffer {
    pub buffer: wgpu::Buffer,
    pub size: u64,
    tracker: Arc<MemoryTracker>,
}

impl Drop for GpuBuffer {
    fn drop(&mut self) {
        self.tracker.current.fetch_sub(self.size, Ordering::Relaxed);
    }
}

/// The device, its queue and what was chosen.
pub struct Context {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    /// The limits requested (WebGPU defaults, or lower where the adapter is lower).
    pub limits: wgpu::Limits,
    /// Largest storage binding the engine may use (≤ limits.max_storage_buffer_binding_size).
    pub max_binding: u64,
    /// Whether timestamp queries were enabled.
    pub timestamps: bool,
    /// Whether the device was opened with subgroup operations (the norms' reduction uses them).
    pub subgroups: bool,
    pub memory: Arc<MemoryTracker>,
    errors: Arc<Mutex<Vec<Captured>>>,
}

/// Whether the adapter is a real GPU, not a CPU implementation of the API (lavapipe,
/// SwiftShader, WARP: wgpu's `DeviceType::Cpu`). Every "on a GPU" default asks this.
pub fn is_gpu(info: &wgpu::AdapterInfo) -> bool {
    info.device_type != wgpu::DeviceType::Cpu
}

/// An error wgpu reported through a callback, kept until the next [`Context::check_errors`].
#[derive(Debug)]
struct Captured {
    /// The device ran out of memory (the caller may retry with a smaller batch).
    out_of_memory: bool,
    msg: String,
}

/// Parses a backend name into wgpu's flag set; `None` = `WGPU_BACKEND` or all.
pub fn parse_backends(name: Option<&str>) -> Result<wgpu::Backends> {
    let Some(name) = name else {
        return Ok(wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all()));
    };
    match name.trim().to_ascii_lowercase().as_str() {
        "auto" | "all" => Ok(wgpu::Backends::all()),
        "vulkan" | "vk" => Ok(wgpu::Backends::VULKAN),
        "gl" | "gles" | "opengl" => Ok(wgpu::Backends::GL),
        "metal" => Ok(wgpu::Backends::METAL),
        "dx12" | "d3d12" => Ok(wgpu::Backends::DX12),
        "webgpu" | "browser" => Ok(wgpu::Backends::BROWSER_WEBGPU),
        other => Err(Error::gpu(format!(
            "unknown backend `{other}` (expected vulkan, gl, metal, dx12 or webgpu)"
        ))),
    }
}

/// Preference order when no adapter is named: discrete > integrated > virtual > other > CPU.
#[cfg(not(target_arch = "wasm32"))]
fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 4,
        wgpu::DeviceType::IntegratedGpu => 3,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 1,
        wgpu::DeviceType::Cpu => 0,
    }
}

/// One line per adapter: `[index] name (backend, type)`.
pub fn describe(i: usize, info: &wgpu::AdapterInfo) -> String {
    format!(
        "[{i}] {} ({:?}, {:?})",
        info.name, info.backend, info.device_type
    )
}

fn instance(backends: wgpu::Backends) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    wgpu::Instance::new(desc)
}

/// Every adapter wgpu finds for these backends (native only; the browser has one).
#[cfg(not(target_arch = "wasm32"))]
pub async fn list_adapters(backend: Option<&str>) -> Result<Vec<wgpu::AdapterInfo>> {
    let backends = parse_backends(backend)?;
    let adapters = instance(backends).enumerate_adapters(backends).await;
    Ok(adapters.iter().map(|a| a.get_info()).collect())
}

/// The adapter [`Context::new`] would open for these options (for `--device auto`).
#[cfg(not(target_arch = "wasm32"))]
pub async fn chosen_adapter(opts: &GpuOptions) -> Result<wgpu::AdapterInfo> {
    let backends = parse_backends(opts.backend.as_deref())?;
    let adapter = pick_adapter(&instance(backends), backends, opts.adapter.as_deref()).await?;
    Ok(adapter.get_info())
}

/// Chooses the adapter: by index, by name substring, or the best-ranked one.
#[cfg(not(target_arch = "wasm32"))]
async fn pick_adapter(
    inst: &wgpu::Instance,
    backends: wgpu::Backends,
    choice: Option<&str>,
) -> Result<wgpu::Adapter> {
    let adapters = inst.enumerate_adapters(backends).await;
    let listing = || {
        let names: Vec<String> = adapters
            .iter()
            .enumerate()
            .map(|(i, a)| describe(i, &a.get_info()))
            .collect();
        if names.is_empty() {
            "none found (is a Vulkan/GL driver installed? on CPU-only machines install mesa-vulkan-drivers)".to_string()
        } else {
            names.join(", ")
        }
    };
    let found = match choice.map(str::trim) {
        None | Some("") => adapters
            .iter()
            .enumerate()
            .max_by_key(|(i, a)| (rank(a.get_info().device_type), usize::MAX - i))
            .map(|(_, a)| a.clone()),
        Some(s) => match s.parse::<usize>() {
            Ok(i) => adapters.get(i).cloned(),
            Err(_) => {
                let want = s.to_ascii_lowercase();
                adapters
                    .iter()
                    .find(|a| a.get_info().name.to_ascii_lowercase().contains(&want))
                    .cloned()
            }
        },
    };
    found.ok_or_else(|| {
        Error::gpu(format!(
            "no adapter matches `{}`; available: {}",
            choice.unwrap_or("any"),
            listing()
        ))
    })
}

/// In the browser there is exactly one adapter to ask for.
#[cfg(target_arch = "wasm32")]
async fn pick_adapter(
    inst: &wgpu::Instance,
    _backends: wgpu::Backends,
    _choice: Option<&str>,
) -> Result<wgpu::Adapter> {
    let opts = wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    };
    inst.request_adapter(&opts)
        .await
        .map_err(|e| Error::gpu(format!("no WebGPU adapter: {e}")))
}

/// WebGPU's default limits (what a browser grants), lowered where the adapter is lower.
fn required_limits(adapter: &wgpu::Limits) -> wgpu::Limits {
    wgpu::Limits::default().or_worse_values_from(adapter)
}

/// What the engine needs at least; a clear error instead of a failed pipeline later.
fn check_limits(l: &wgpu::Limits, info: &wgpu::AdapterInfo) -> Result<()> {
    let short = |what: &str, have: u64, need: u64| {
        Error::gpu(format!(
            "adapter `{}` offers {what} = {have}, the engine needs at least {need}",
            info.name
        ))
    };
    if l.max_storage_buffers_per_shader_stage < 7 {
        return Err(short(
            "max_storage_buffers_per_shader_stage",
            l.max_storage_buffers_per_shader_stage as u64,
            7,
        ));
    }
    if l.max_compute_invocations_per_workgroup < 256 {
        return Err(short(
            "max_compute_invocations_per_workgroup",
            l.max_compute_invocations_per_workgroup as u64,
            256,
        ));
    }
    if l.max_compute_workgroup_storage_size < 8192 {
        return Err(short(
            "max_compute_workgroup_storage_size",
            l.max_compute_workgroup_storage_size as u64,
            8192,
        ));
    }
    if l.max_uniform_buffer_binding_size < 16400 {
        return Err(short(
            "max_uniform_buffer_binding_size",
            l.max_uniform_buffer_binding_size,
            16400,
        ));
    }
    Ok(())
}

/// Whether to open the device with subgroup operations: `Auto` where the adapter has them
/// (wgpu 30 maps none on its WebGPU backend, so the page always gets the tree).
fn use_subgroups(
    kind: ReduceKind,
    features: wgpu::Features,
    info: &wgpu::AdapterInfo,
) -> Result<bool> {
    let has = features.contains(wgpu::Features::SUBGROUP);
    match kind {
        ReduceKind::Auto => Ok(has),
        ReduceKind::Workgroup => Ok(false),
        ReduceKind::Subgroup if has => Ok(true),
        ReduceKind::Subgroup => Err(Error::gpu(format!(
            "adapter `{}` has no subgroup operations (Features::SUBGROUP): use the workgroup reduction",
            info.name
        ))),
    }
}

impl Context {
    /// Picks the adapter, opens a device within WebGPU's default limits, installs error capture.
    pub async fn new(opts: &GpuOptions) -> Result<Context> {
        let backends = parse_backends(opts.backend.as_deref())?;
        let inst = instance(backends);
        let adapter = pick_adapter(&inst, backends, opts.adapter.as_deref()).await?;
        let info = adapter.get_info();
        let limits = required_limits(&adapter.limits());
        check_limits(&limits, &info)?;
        let timestamps =
            opts.profile && adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let subgroups = use_subgroups(opts.reduce, adapter.features(), &info)?;
        let mut features = wgpu::Features::empty();
        features.set(wgpu::Features::TIMESTAMP_QUERY, timestamps);
        features.set(wgpu::Features::SUBGROUP, subgroups);
        let desc = wgpu::DeviceDescriptor {
            label: Some("rwkv-lens"),
            required_features: features,
            required_limits: limits.clone(),
            ..Default::default()
        };
        let (device, queue) = adapter
            .request_device(&desc)
            .await
            .map_err(|e| Error::gpu(format!("failed to open a device on `{}`: {e}", info.name)))?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        install_error_capture(&device, &errors);
        let mut max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        if let Some(lower) = opts.max_binding_bytes {
            max_binding = max_binding.min(lower.max(1024));
        }
        Ok(Context {
            device,
            queue,
            info,
            limits,
            max_binding,
            timestamps,
            subgroups,
            memory: Arc::new(MemoryTracker::default()),
            errors,
        })
    }

    /// The first captured error (validation failure, device loss), if any, as
    /// `Error::Gpu`, or `Error::OutOfMemory` when the device ran out of memory.
    pub fn check_errors(&self) -> Result<()> {
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        let Some(first) = errors.first() else {
            return Ok(());
        };
        let msg = format!(
            "{} ({} error(s) in total)",
            one_line(&first.msg),
            errors.len()
        );
        let e = match first.out_of_memory {
            true => Error::out_of_memory(msg),
            false => Error::gpu(msg),
        };
        errors.clear();
        Err(e)
    }

    /// A new tracked buffer, refusing sizes above the device's `max_buffer_size`.
    pub fn buffer(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> Result<GpuBuffer> {
        let size = size.max(16).next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
        if size > self.limits.max_buffer_size {
            return Err(Error::gpu(format!(
                "buffer `{label}` needs {size} bytes, above this device's max_buffer_size {}",
                self.limits.max_buffer_size
            )));
        }
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage,
            mapped_at_creation: false,
        });
        self.memory.add(size);
        Ok(GpuBuffer {
            buffer,
            size,
            tracker: self.memory.clone(),
        })
    }

    /// A storage buffer holding `bytes` (padded to 4).
    pub fn storage_init(&self, label: &str, bytes: &[u8]) -> Result<GpuBuffer> {
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let buf = self.buffer(label, bytes.len() as u64, usage)?;
        let whole = bytes.len() - bytes.len() % 4;
        self.queue.write_buffer(&buf.buffer, 0, &bytes[..whole]);
        if whole < bytes.len() {
            let mut tail = [0u8; 4];
            tail[..bytes.len() - whole].copy_from_slice(&bytes[whole..]);
            self.queue.write_buffer(&buf.buffer, whole as u64, &tail);
        }
        Ok(buf)
    }

    /// Submits pending uploads and (natively) waits, so staging memory is released.
    pub fn flush(&self) -> Result<()> {
        self.queue.submit(std::iter::empty());
        self.wait()
    }

    /// Natively blocks until the queue is idle; a no-op in the browser.
    pub fn wait(&self) -> Result<()> {
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::gpu(format!("waiting for the GPU failed: {e}")))?;
        self.check_errors()
    }

    /// Reads `size` bytes of a MAP_READ buffer (awaits the GPU; never blocks in the browser).
    pub async fn read(&self, buffer: &wgpu::Buffer, size: u64) -> Result<Vec<u8>> {
        let slice = buffer.slice(0..size);
        let (sender, receiver) = futures_channel::oneshot::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            // the receiver is only gone when the read-back was abandoned: nothing to tell
            let _ = sender.send(r);
        });
        self.wait()?;
        receiver
            .await
            .map_err(|_| Error::gpu("a read-back buffer was dropped before it was mapped"))?
            .map_err(|e| Error::gpu(format!("mapping a read-back buffer failed: {e}")))?;
        let data = slice
            .get_mapped_range()
            .map_err(|e| Error::gpu(format!("reading a mapped buffer failed: {e}")))?
            .to_vec();
        buffer.unmap();
        self.check_errors()?;
        Ok(data)
    }
}

/// A multi-line wgpu error as one line (messages of this crate are single lines).
pub fn one_line(msg: &str) -> String {
    let parts: Vec<&str> = msg
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.chars().all(|c| "│┌─^ ".contains(c)))
        .collect();
    parts.join(" | ")
}

fn install_error_capture(device: &wgpu::Device, errors: &Arc<Mutex<Vec<Captured>>>) {
    let sink = errors.clone();
    device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
        let captured = Captured {
            out_of_memory: matches!(e, wgpu::Error::OutOfMemory { .. }),
            msg: e.to_string(),
        };
        sink.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(captured);
    }));
    let sink = errors.clone();
    device.set_device_lost_callback(move |reason, msg| {
        sink.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Captured {
                out_of_memory: false,
                msg: format!("device lost ({reason:?}): {msg}"),
            });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> wgpu::AdapterInfo {
        let mut i = wgpu::AdapterInfo::new(wgpu::DeviceType::IntegratedGpu, wgpu::Backend::Gl);
        i.name = "WebGL2 device".into();
        i
    }

    #[test]
    fn a_device_without_compute_is_refused_in_one_line() {
        // WebGL2-class limits: no storage buffers, hence no compute shaders
        let l = wgpu::Limits::downlevel_webgl2_defaults();
        let e = check_limits(&l, &info()).unwrap_err().to_string();
        assert_eq!(
            e,
            "GPU: adapter `WebGL2 device` offers max_storage_buffers_per_shader_stage = 0, the engine needs at least 7"
        );
        assert!(check_limits(&wgpu::Limits::default(), &info()).is_ok());
    }

    #[test]
    fn subgroup_sums_where_the_adapter_has_them_and_a_clear_line_where_forced_without() {
        let (none, has) = (wgpu::Features::empty(), wgpu::Features::SUBGROUP);
        assert!(!use_subgroups(ReduceKind::Auto, none, &info()).unwrap());
        assert!(use_subgroups(ReduceKind::Auto, has, &info()).unwrap());
        assert!(!use_subgroups(ReduceKind::Workgroup, has, &info()).unwrap());
        let e = use_subgroups(ReduceKind::Subgroup, none, &info()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "GPU: adapter `WebGL2 device` has no subgroup operations (Features::SUBGROUP): use the workgroup reduction"
        );
    }

    #[test]
    fn out_of_memory_is_a_kind_of_error() {
        let e = Error::out_of_memory("Out of Memory (1 error(s) in total)");
        assert!(e.is_out_of_memory());
        assert_eq!(
            e.to_string(),
            "GPU: out of memory: Out of Memory (1 error(s) in total)"
        );
        // a message that merely reads like one is not one
        assert!(!Error::gpu("out of memory: said a message").is_out_of_memory());
        assert!(!Error::gpu("device lost (Unknown): gone").is_out_of_memory());
        assert_eq!(one_line("a\n  │\n  b ^^^\n"), "a | b ^^^");
    }
}
