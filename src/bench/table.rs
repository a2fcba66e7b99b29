//! The report as Markdown tables (what `rwkv-lens bench` prints): each table is a list
//! of columns, its name, alignment and cell side by side.

use std::fmt::Write;

use super::report::{Agreement, CpuMemoryRow, EmbeddingReport, Headline, KernelShare, MemoryRow};
use super::report::{PrefillRow, Ratio, Report};
use crate::kit::markdown::{self as md, Column};

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1u64 << 20) as f64)
}

fn f2(x: f64) -> String {
    format!("{x:.2}")
}

/// A ratio, e.g. `2.50×`.
fn times(x: f64) -> String {
    format!("{x:.2}×")
}

fn bold(s: String) -> String {
    format!("**{s}**")
}

const HEADLINE: &[Column<Headline>] = &[
    ("ours", 'l', |h| h.ours.clone()),
    ("peer", 'l', |h| h.peer.clone()),
    ("points", 'r', |h| h.points.to_string()),
    ("geometric mean", 'r', |h| bold(times(h.geomean))),
    ("lowest", 'r', |h| times(h.min)),
    ("highest", 'r', |h| times(h.max)),
];

const PREFILL: &[Column<PrefillRow>] = &[
    ("engine", 'l', |p| p.engine.clone()),
    ("shape", 'l', |p| p.at.shape.clone()),
    ("vocab", 'r', |p| p.vocab.to_string()),
    ("weights", 'l', |p| p.at.precision.clone()),
    ("B×T", 'r', |p| p.at.point.label()),
    ("tokens/s", 'r', |p| f2(p.tokens_per_s)),
    ("seconds (timed passes)", 'l', |p| {
        let secs: Vec<String> = p.seconds.iter().map(|s| format!("{s:.3}")).collect();
        secs.join(" ")
    }),
    ("status", 'l', |p| p.status.clone().into()),
];

const RATIOS: &[Column<Ratio>] = &[
    ("shape", 'l', |x| x.at.shape.clone()),
    ("weights", 'l', |x| x.at.precision.clone()),
    ("B×T", 'r', |x| x.at.point.label()),
    ("ours", 'l', |x| x.ours.clone()),
    ("peer", 'l', |x| x.peer.clone()),
    ("ours tokens/s", 'r', |x| f2(x.ours_tokens_per_s)),
    ("peer tokens/s", 'r', |x| f2(x.peer_tokens_per_s)),
    ("ratio", 'r', |x| bold(times(x.ratio))),
];

const AGREEMENT: &[Column<Agreement>] = &[
    ("shape", 'l', |a| a.shape.clone()),
    ("pair", 'l', |a| a.pair.clone()),
    ("quantity", 'l', |a| a.quantity.clone()),
    ("max abs diff", 'r', |a| format!("{:.3e}", a.max_abs_diff)),
    ("max abs ref", 'r', |a| format!("{:.3e}", a.max_abs_ref)),
    ("tolerance", 'r', |a| format!("{:.1e}", a.tolerance)),
    ("pass", 'l', |a| if a.pass { "yes" } else { "NO" }.into()),
];

const MEMORY: &[Column<MemoryRow>] = &[
    ("shape", 'l', |m| m.at.shape.clone()),
    ("weights", 'l', |m| m.at.precision.clone()),
    ("sized for B×T", 'r', |m| m.at.point.label()),
    ("weight MiB", 'r', |m| mib(m.weight_bytes)),
    ("activation MiB", 'r', |m| mib(m.activation_bytes)),
    ("peak MiB", 'r', |m| mib(m.peak_gpu_bytes)),
    ("peak ÷ budget", 'r', |m| {
        format!("{:.3}", m.budget_fraction)
    }),
    ("host peak RSS MiB", 'r', |m| mib(m.host_rss_peak_bytes)),
];

const CPU_MEMORY: &[Column<CpuMemoryRow>] = &[
    ("shape", 'l', |m| m.at.shape.clone()),
    ("weights", 'l', |m| m.at.precision.clone()),
    ("largest B×T", 'r', |m| m.at.point.label()),
    ("checkpoint MiB", 'r', |m| mib(m.checkpoint_bytes)),
    ("anonymous peak MiB", 'r', |m| mib(m.anon_peak_bytes)),
    ("(checkpoint + anonymous) ÷ checkpoint", 'r', |m| {
        format!("{:.3}", m.ratio)
    }),
];

const KERNELS: &[Column<KernelShare>] = &[
    ("family", 'l', |f| f.family.clone()),
    ("ms", 'r', |f| f2(f.ms)),
    ("share", 'r', |f| format!("{:.1}%", 100.0 * f.share)),
    ("GFLOP/s", 'r', |f| {
        Some(f.gflops)
            .filter(|&g| g > 0.0)
            .map_or(String::new(), f2)
    }),
];

const EMBEDDING: &[Column<EmbeddingReport>] = &[
    ("engine", 'l', |e| e.engine.clone()),
    ("shape", 'l', |e| format!("{} {}", e.shape, e.precision)),
    ("pairs", 'r', |e| e.pairs.to_string()),
    ("tokens", 'r', |e| e.tokens.to_string()),
    ("layers", 'r', |e| e.layers.to_string()),
    ("seconds", 'r', |e| f2(e.seconds)),
    ("ms/pair", 'r', |e| f2(e.ms_per_pair)),
    ("pairs/s", 'r', |e| f2(e.pairs_per_s)),
    ("peak GPU MiB", 'r', |e| mib(e.peak_gpu_bytes)),
    ("host RSS MiB", 'r', |e| mib(e.host_rss_bytes)),
];

/// `## title`, then the table of `items` and a blank line; with `skip_empty`, nothing
/// when there are no items.
fn section<T>(out: &mut String, title: &str, cols: &[Column<T>], items: &[T], skip_empty: bool) {
    if skip_empty && items.is_empty() {
        return;
    }
    let _ = writeln!(out, "## {title}\n");
    md::columns(out, cols, items);
    out.push('\n');
}

/// Every section that has data (the prefill table always).
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let quick = if r.quick { " (quick)" } else { "" };
    let _ = writeln!(out, "# rwkv-lens bench{quick}\n");
    if let Some(a) = &r.adapter {
        let _ = writeln!(
            out,
            "adapter `{}` ({}, {}), driver `{}` {}; host {} cores, peak RSS {} MiB\n",
            a.name,
            a.backend,
            a.device_type,
            a.driver,
            a.driver_info,
            r.host_cores,
            mib(r.host_rss_peak_bytes)
        );
    }
    let title = "Headline: ours ÷ peer, geometric mean over every point of the grid";
    section(&mut out, title, HEADLINE, &r.headlines, true);
    section(&mut out, "Prefill", PREFILL, &r.prefill, false);
    let title = "Ratios (ours ÷ peer, same point)";
    section(&mut out, title, RATIOS, &r.ratios, true);
    let title = "Agreement (same tokens, same weights)";
    section(&mut out, title, AGREEMENT, &r.agreement, true);
    let title = "Device memory (target: peak ≤ 1.15 × weights + activations)";
    section(&mut out, title, MEMORY, &r.memory, true);
    let title = "CPU fast engine host memory (target: ≤ 1.25 × the checkpoint)";
    section(&mut out, title, CPU_MEMORY, &r.cpu_memory, true);
    roofline(r, &mut out);
    cpu_roof(r, &mut out);
    if let Some(k) = &r.kernels {
        let (point, ms) = (&k.point, k.total_ms);
        let title = format!("Kernel time shares ({point}, {ms:.1} ms GPU time)");
        section(&mut out, &title, KERNELS, &k.families, false);
        let _ = writeln!(out, "per dispatch label:\n\n{}", k.table);
    }
    let title = "Embedding workload (MRPC pairs, every layer mean-pooled)";
    section(&mut out, title, EMBEDDING, &r.embedding, true);
    for n in &r.notes {
        let _ = writeln!(out, "- {n}");
    }
    out
}

fn roofline(r: &Report, out: &mut String) {
    let Some(f) = &r.roofline else { return };
    let [m, n, k] = f.gemm_mnk;
    let _ = writeln!(
        out,
        "## Roofline\n\n| roof | measured | forward pass ({}) | fraction |\n|---|---:|---:|---:|\n| GEMM `{}` {m}×{n}×{k} | {:.2} GFLOP/s | {:.2} GFLOP/s | {:.1}% |\n| copy `bench_copy` {} MiB | {:.2} GB/s | {:.2} GB/s (weights once + x in/out) | {:.1}% |\n",
        f.forward_point, f.gemm_kernel, f.gemm_gflops, f.forward_gflops, 100.0 * f.fraction_of_gemm,
        mib(f.copy_bytes), f.copy_gbps, f.forward_gbps, 100.0 * f.fraction_of_copy
    );
    if let (Some([m, n, k]), Some(roof), Some(cpu)) =
        (f.numpy_gemm_mnk, f.numpy_gemm_gflops, f.cpu_forward_gflops)
    {
        let _ = writeln!(
            out,
            "CPU: numpy fp32 GEMM {m}×{n}×{k} {roof:.2} GFLOP/s; the cpu reference's forward pass {cpu:.2} GFLOP/s ({:.1}%)\n",
            100.0 * cpu / roof
        );
    }
}

fn cpu_roof(r: &Report, out: &mut String) {
    let Some(c) = &r.cpu_roof else { return };
    let [m, n, k] = c.mnk;
    let numpy = c.numpy_gemm_gflops;
    let frac = |x: f64| numpy.map_or("no numpy".into(), |g| format!("{:.1}%", 100.0 * x / g));
    let roof = numpy.map_or("not measured (no Python/numpy)".into(), |g| {
        format!("{g:.2} GFLOP/s")
    });
    let _ = writeln!(
        out,
        "## CPU roofline ({} threads)\n\n| what | GFLOP/s | of numpy's fp32 GEMM |\n|---|---:|---:|\n| numpy fp32 GEMM {m}×{n}×{k} | {roof} | |\n| cpu fast GEMM {m}×{n}×{k}, f16 weights | {:.2} | {} |\n| cpu fast forward pass ({}) | {:.2} | {} |\n",
        c.threads,
        c.fast_gemm_gflops,
        frac(c.fast_gemm_gflops),
        c.forward_point,
        c.fast_forward_gflops,
        frac(c.fast_forward_gflops)
    );
}
