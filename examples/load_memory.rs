//! Peak host memory while loading a checkpoint and building the GPU engine.
//!
//! `cargo run --release --example load_memory -- MODEL.safetensors [f32|f16|int8|nf4] [max_batch_tokens]`
//!
//! `RssAnon` is sampled every 2 ms (`rwkv_lens::kit::memory::AnonPeak`: the kernel keeps
//! no high-water mark for anonymous memory alone; `VmHWM` also counts mapped file pages).
//! On a CPU adapter (lavapipe) device buffers are host memory too, so the engine's own
//! device bytes are printed alongside: host overhead = peak RssAnon − device bytes.

use std::time::Instant;

use rwkv_lens::gpu::{GpuEngine, GpuOptions, Precision};
use rwkv_lens::kit::memory::{peak_rss_bytes, AnonPeak};

fn mib(b: u64) -> f64 {
    b as f64 / (1 << 20) as f64
}

fn main() -> rwkv_lens::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .expect("usage: load_memory MODEL [precision] [max_batch_tokens]");
    let precision = Precision::parse(args.get(2).map_or("f16", String::as_str))?;
    let tokens: usize = args
        .get(3)
        .map_or(Ok(4096), |s| s.parse())
        .expect("a number");
    let sampler = AnonPeak::start();
    let t = Instant::now();
    let ck = rwkv_lens::model::load::load(std::path::Path::new(path))?;
    let after_load = sampler.peak();
    println!(
        "loaded {} in {:.1} s: peak RssAnon {:.0} MiB",
        ck.source,
        t.elapsed().as_secs_f64(),
        mib(after_load)
    );
    let opts = GpuOptions {
        precision,
        max_batch_tokens: tokens,
        ..GpuOptions::default()
    };
    let engine = GpuEngine::new(&ck, opts)?;
    let rss = sampler.stop();
    let (_, device_peak) = engine.memory_bytes();
    println!("engine: {}", engine.report());
    println!(
        "{precision:?}: peak RssAnon {:.0} MiB, VmHWM {:.0} MiB, device peak {:.0} MiB, host overhead {:.0} MiB ({:.1} s)",
        mib(rss),
        mib(peak_rss_bytes().unwrap_or(0)),
        mib(device_peak),
        mib(rss.saturating_sub(device_peak)),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
