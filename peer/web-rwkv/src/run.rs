//! Driving web-rwkv through its public API, as its `examples/bench.rs` does: load the
//! `.st` file, build a v6 model and a `Bundle` with one slot per sequence, prefill all
//! sequences together, read the final state back.

use std::time::Instant;

use anyhow::Context as _;
use half::f16;
use memmap2::Mmap;
use safetensors::SafeTensors;
use serde_json::json;
use web_rwkv::{
    context::ContextBuilder,
    num::Float,
    runtime::{
        infer::{Rnn, RnnInput, RnnInputBatch, RnnOption},
        loader::Loader,
        model::{Bundle as _, ContextAutoLimits, ModelBuilder, ModelInfo, ModelVersion, State},
        v6, Runtime, TokioRuntime,
    },
    wgpu,
};

use crate::{peak_rss_bytes, Args, TokenBatch};

/// Loads, runs and reports; returns the JSON line to print.
pub async fn run(args: &Args, batches: &[TokenBatch]) -> anyhow::Result<String> {
    let file = std::fs::File::open(&args.model)
        .with_context(|| format!("{}: cannot open", args.model.display()))?;
    let data = unsafe { Mmap::map(&file)? };
    let st = SafeTensors::deserialize(&data)
        .with_context(|| format!("{}: not a safetensors file", args.model.display()))?;
    let info = Loader::info(&st).context("web-rwkv cannot read this model")?;
    if info.version != ModelVersion::V6 {
        anyhow::bail!("expected an RWKV-6 model, web-rwkv detected {:?}", info.version);
    }
    let adapter = pick_adapter(args).await?;
    let adapter_info = adapter.get_info();
    let t0 = Instant::now();
    let context = ContextBuilder::new(adapter)
        .auto_limits(&info)
        .build()
        .await
        .map_err(|e| anyhow::anyhow!("failed to request device: {e:?}"))?;
    let model = ModelBuilder::new(&context, st).build_v6().await?;
    let load_s = t0.elapsed().as_secs_f64();
    let mut runs = Vec::new();
    for (i, batch) in batches.iter().enumerate() {
        let states_out = if i == 0 { args.states_out.as_deref() } else { None };
        let model = model.clone();
        runs.push(match args.float.as_str() {
            "f32" => prefill::<f32>(args, batch, states_out, model, &info).await?,
            _ => prefill::<f16>(args, batch, states_out, model, &info).await?,
        });
    }
    let report = json!({
        "peer": "web-rwkv 0.10.20",
        "adapter": {
            "name": adapter_info.name,
            "backend": format!("{:?}", adapter_info.backend),
            "device_type": format!("{:?}", adapter_info.device_type),
            "driver": adapter_info.driver,
            "driver_info": adapter_info.driver_info,
        },
        "model": {
            "n_layer": info.num_layer, "n_embd": info.num_emb, "ffn_dim": info.num_hidden,
            "vocab_size": info.num_vocab, "n_head": info.num_head,
        },
        "activations": args.float,
        "token_chunk_size": args.chunk,
        "load_s": load_s,
        "runs": runs,
        "peak_rss_bytes": peak_rss_bytes(),
    });
    Ok(report.to_string())
}

/// The adapter named by `--adapter` (substring) or the first discrete GPU, integrated GPU,
/// then anything else (the same preference as rwkv-lens).
async fn pick_adapter(args: &Args) -> anyhow::Result<wgpu::Adapter> {
    let backends = match args.backend.as_deref() {
        Some("vulkan") => wgpu::Backends::VULKAN,
        Some("gl") => wgpu::Backends::GL,
        Some("metal") => wgpu::Backends::METAL,
        Some("dx12") => wgpu::Backends::DX12,
        _ => wgpu::Backends::all(),
    };
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapters = instance.enumerate_adapters(backends).await;
    let rank = |a: &wgpu::Adapter| match a.get_info().device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    };
    let mut found: Vec<wgpu::Adapter> = match &args.adapter {
        Some(name) => adapters
            .into_iter()
            .filter(|a| a.get_info().name.to_lowercase().contains(&name.to_lowercase()))
            .collect(),
        None => adapters,
    };
    found.sort_by_key(rank);
    found
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("failed to request adapter: no matching wgpu adapter"))
}

/// Warm-up passes, then timed passes from a zero state; the final state and logits of
/// the last timed pass go to `--states-out`.
async fn prefill<F: Float>(
    args: &Args,
    batch: &TokenBatch,
    states_out: Option<&std::path::Path>,
    model: v6::Model,
    info: &ModelInfo,
) -> anyhow::Result<serde_json::Value> {
    let bundle = v6::Bundle::<F>::new(model, batch.sequences.len());
    let state = bundle.state();
    let runtime = TokioRuntime::<Rnn>::new(bundle).await;
    let tokens: usize = batch.sequences.iter().map(Vec::len).sum();
    let mut warmup_s = Vec::new();
    for _ in 0..args.warmup {
        warmup_s.push(pass(args, batch, &state, &runtime).await?.0);
    }
    let mut seconds = Vec::new();
    let mut logits = Vec::new();
    for _ in 0..args.repeat {
        let (s, l) = pass(args, batch, &state, &runtime).await?;
        seconds.push(s);
        logits = l;
    }
    if let Some(path) = states_out {
        write_states(path, &state, info, &logits).await?;
    }
    let mean = seconds.iter().sum::<f64>() / seconds.len() as f64;
    Ok(json!({
        "batch": batch.sequences.len(),
        "tokens": tokens,
        "warmup_s": warmup_s,
        "seconds": seconds,
        "tokens_per_s": tokens as f64 / mean,
    }))
}

/// One prefill of every sequence from a zero state; returns seconds and last-token logits.
async fn pass(
    args: &Args,
    batch: &TokenBatch,
    state: &(impl State + ?Sized),
    runtime: &TokioRuntime<Rnn>,
) -> anyhow::Result<(f64, Vec<Vec<f32>>)> {
    for b in 0..batch.sequences.len() {
        state.load(state.init(), b)?;
    }
    let inputs = batch
        .sequences
        .iter()
        .map(|s| RnnInputBatch::new(s.clone(), RnnOption::Last))
        .collect();
    let mut input = RnnInput::new(inputs, args.chunk);
    let mut logits: Vec<Option<Vec<f32>>> = vec![None; batch.sequences.len()];
    let start = Instant::now();
    while logits.iter().any(Option::is_none) {
        let (next, output) = runtime.infer(input).await?;
        input = next;
        for (slot, out) in logits.iter_mut().zip(output.0) {
            if slot.is_none() && out.0.size() > 0 {
                *slot = Some(out.0.to_vec());
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok((seconds, logits.into_iter().flatten().collect()))
}

/// Reads back each slot's state `[C][N+2][L]` (C fastest) and writes the last layer in
/// rwkv-lens's layout: row 0 = att shift, rows 1..=N = WKV state with row 1+key and
/// column h·N+value, row N+1 = ffn shift.
async fn write_states(
    path: &std::path::Path,
    state: &(impl State + ?Sized),
    info: &ModelInfo,
    logits: &[Vec<f32>],
) -> anyhow::Result<()> {
    let (c, h, l) = (info.num_emb, info.num_head, info.num_layer);
    let n = c / h;
    let mut named: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
    for (b, logit) in logits.iter().enumerate() {
        let all: Vec<f32> = state.back(b).await?.to_vec();
        let layer = &all[(l - 1) * (n + 2) * c..l * (n + 2) * c];
        let mut wkv = vec![0.0f32; h * n * n];
        for head in 0..h {
            for key in 0..n {
                for value in 0..n {
                    wkv[(head * n + key) * n + value] = layer[(1 + key) * c + head * n + value];
                }
            }
        }
        named.push((format!("seq{b}.att_shift"), vec![c], layer[..c].to_vec()));
        named.push((format!("seq{b}.wkv"), vec![h, n, n], wkv));
        named.push((format!("seq{b}.ffn_shift"), vec![c], layer[(n + 1) * c..].to_vec()));
        named.push((format!("seq{b}.logits"), vec![logit.len()], logit.clone()));
    }
    let bytes: Vec<Vec<u8>> = named
        .iter()
        .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views = named
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), data)| {
            let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)?;
            Ok((name.clone(), view))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    safetensors::serialize_to_file(views, None, path)
        .with_context(|| format!("{}: cannot write states", path.display()))?;
    Ok(())
}
