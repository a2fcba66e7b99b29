//! Which engine runs in this browser: the wgpu engine on WebGPU when an adapter is
//! available, else the plain-Rust reference compiled to wasm (+simd128). Both sit behind
//! the same `embed` call, so the page does not care which one it got. Runs in the
//! worker (`navigator.gpu` is there too in Chromium).

use wasm_bindgen::{JsCast, JsValue};

use super::stream::Stream;
use crate::protocol::js::{await_js, get, message};
use crate::protocol::{ForcedKernels, WebGpuInfo};
use rwkv_lens::embed::{Embeddings, Engine, Pooling};
use rwkv_lens::gpu::{GpuEngine, GpuOptions, MatmulKind, Precision, WkvKind};
use rwkv_lens::reference::{CpuEngine, Weights};
use rwkv_lens::{Error, Result};

/// Asks the browser for a WebGPU adapter; `Err` says in one line why there is none.
pub async fn probe_webgpu() -> std::result::Result<WebGpuInfo, String> {
    let gpu = get(&get(&js_sys::global(), "navigator"), "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser has no WebGPU (navigator.gpu is missing)".into());
    }
    let request = js_sys::Reflect::get(&gpu, &"requestAdapter".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("navigator.gpu.requestAdapter is not a function")?;
    let promise = request
        .call0(&gpu)
        .map_err(|e| message(&e))?
        .dyn_into::<js_sys::Promise>()
        .map_err(|_| "requestAdapter did not return a promise".to_string())?;
    let adapter = await_js(promise, "requestAdapter")
        .await
        .map_err(|e| e.to_string())?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err(
            "WebGPU is present but offers no adapter (GPU blocklisted, or disabled)".into(),
        );
    }
    let info = get(&adapter, "info");
    let field = |k: &str| get(&info, k).as_string().unwrap_or_default();
    let name = [field("vendor"), field("architecture"), field("description")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let limits = get(&adapter, "limits");
    let features = get(&adapter, "features");
    let has = js_sys::Reflect::get(&features, &"has".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let shader_f16 = has
        .and_then(|f| f.call1(&features, &JsValue::from_str("shader-f16")).ok())
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    Ok(WebGpuInfo {
        adapter: if name.is_empty() {
            "unnamed adapter".into()
        } else {
            name
        },
        max_binding: get(&limits, "maxStorageBufferBindingSize")
            .as_f64()
            .unwrap_or(0.0),
        max_buffer: get(&limits, "maxBufferSize").as_f64().unwrap_or(0.0),
        shader_f16,
    })
}

/// The engine the page runs.
pub enum Backend {
    /// The wgpu engine on the browser's WebGPU adapter (the adapter's name).
    Gpu(Box<GpuEngine>, String),
    Cpu(CpuEngine),
}

impl Backend {
    /// Builds the engine for this checkpoint, reading it tensor by tensor: the GPU engine
    /// when the probe found an adapter, else (or if the GPU engine cannot be built) the
    /// CPU reference. `note` receives why the GPU was not used, when it was available but
    /// failed.
    pub async fn build(
        ck: &Stream,
        (webgpu, precision): (&std::result::Result<WebGpuInfo, String>, Precision),
        (binding_limit, kernels): (Option<u64>, ForcedKernels),
        note: &mut Option<String>,
    ) -> Result<Backend> {
        if webgpu.is_ok() {
            let opts = GpuOptions {
                backend: Some("webgpu".into()),
                precision,
                max_binding_bytes: binding_limit,
                matmul: match kernels.tiled_matmul {
                    true => MatmulKind::Tiled,
                    false => MatmulKind::Auto,
                },
                wkv: kernels.wkv_chunk.map_or(WkvKind::Auto, WkvKind::Chunked),
                ..GpuOptions::default()
            };
            match GpuEngine::new_async(ck, opts).await {
                Ok(engine) => {
                    // Browsers leave wgpu's adapter name empty: use the probe's.
                    let name = match (&engine.adapter_info().name, webgpu) {
                        (n, _) if !n.is_empty() => n.clone(),
                        (_, Ok(info)) => info.adapter.clone(),
                        _ => "adapter".into(),
                    };
                    let on_gpu = engine.memory_bytes().0 as f64 / 1e6;
                    let mut name =
                        format!("{name} · {precision} weights, {on_gpu:.1} MB on the GPU");
                    if kernels != ForcedKernels::default() {
                        name += &format!(" · {}", engine.kernels());
                    }
                    return Ok(Backend::Gpu(Box::new(engine), name));
                }
                // a cancelled load, or the file failing to read: the CPU would fail the same
                Err(e @ (Error::Input(_) | Error::File { .. })) => return Err(e),
                Err(e) => *note = Some(format!("the GPU engine could not start ({e}); ")),
            }
            ck.restart();
        }
        let weights = Weights::from_source(ck).await?;
        Ok(Backend::Cpu(CpuEngine::from_weights(weights)))
    }

    /// "WebGPU: <adapter>" or "CPU: …".
    pub fn name(&self) -> String {
        match self {
            Backend::Gpu(_, adapter) => format!("WebGPU: {adapter}"),
            Backend::Cpu(_) => "CPU: Rust reference compiled to wasm (simd128)".into(),
        }
    }

    /// The CPU reference's weights, when the CPU engine runs (the Recurrence view reuses them).
    pub fn cpu_weights(&self) -> Option<&rwkv_lens::reference::Weights> {
        match self {
            Backend::Cpu(e) => Some(e.weights()),
            Backend::Gpu(..) => None,
        }
    }

    /// Pooled embeddings of one batch of token sequences.
    pub async fn embed(
        &mut self,
        tokens: &[Vec<u32>],
        layers: &[usize],
        poolings: &[Pooling],
    ) -> Result<Embeddings> {
        match self {
            Backend::Gpu(e, _) => e.embed_tokens_async(tokens, layers, poolings).await,
            Backend::Cpu(e) => e.embed_tokens(tokens, layers, poolings),
        }
    }
}
