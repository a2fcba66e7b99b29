//! The report as Markdown tables (what `rwkv-lens bench` prints).

use std::fmt::Write;

use super::report::Report;
use crate::kit::markdown::{self as md, cells};

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1u64 << 20) as f64)
}

/// `## title`, then the table (header `cols`, `align` as in [`md::header`]) and a blank line.
fn section(out: &mut String, title: &str, cols: &str, align: &str, rows: Vec<Vec<String>>) {
    let _ = writeln!(out, "## {title}\n");
    md::table(out, cols, align, rows);
    out.push('\n');
}

/// Every section that has data.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# rwkv-lens bench{}\n",
        if r.quick { " (quick)" } else { "" }
    );
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
    if !r.headlines.is_empty() {
        let rows = (r.headlines.iter())
            .map(|h| {
                let (g, lo, hi) = (format!("**{:.2}×**", h.geomean), h.min, h.max);
                cells![
                    h.peer,
                    h.points,
                    g,
                    format!("{lo:.2}×"),
                    format!("{hi:.2}×")
                ]
            })
            .collect();
        let title = "Headline: ours ÷ peer, geometric mean over every point of the grid";
        let cols = "peer | points | geometric mean | lowest | highest";
        section(&mut out, title, cols, "lrrrr", rows);
    }
    tables(r, &mut out);
    roofline(r, &mut out);
    kernels(r, &mut out);
    embedding(r, &mut out);
    for n in &r.notes {
        let _ = writeln!(out, "- {n}");
    }
    out
}

/// Prefill (always), ratios, agreement and memory (when they have rows).
fn tables(r: &Report, out: &mut String) {
    let prefill = (r.prefill.iter())
        .map(|p| {
            let secs: Vec<String> = p.seconds.iter().map(|s| format!("{s:.3}")).collect();
            let (a, tps, secs) = (&p.at, format!("{:.2}", p.tokens_per_s), secs.join(" "));
            cells![
                p.engine,
                a.shape,
                p.vocab,
                a.precision,
                a.point.label(),
                tps,
                secs,
                p.status
            ]
        })
        .collect();
    let cols =
        "engine | shape | vocab | weights | B×T | tokens/s | seconds (timed passes) | status";
    section(out, "Prefill", cols, "llrlrrll", prefill);
    if !r.ratios.is_empty() {
        let rows = (r.ratios.iter())
            .map(|x| {
                let (ours, peer) = (x.ours_tokens_per_s, x.peer_tokens_per_s);
                let (ours, peer) = (format!("{ours:.2}"), format!("{peer:.2}"));
                let (at, ratio) = (&x.at, format!("**{:.2}×**", x.ratio));
                let bt = at.point.label();
                cells![at.shape, at.precision, bt, x.peer, ours, peer, ratio]
            })
            .collect();
        let cols = "shape | weights | B×T | peer | ours tokens/s | peer tokens/s | ratio";
        let title = "Ratios (ours ÷ peer, same point)";
        section(out, title, cols, "llrlrrr", rows);
    }
    if !r.agreement.is_empty() {
        let rows = (r.agreement.iter())
            .map(|a| {
                let (diff, reference) = (a.max_abs_diff, a.max_abs_ref);
                let (diff, reference) = (format!("{diff:.3e}"), format!("{reference:.3e}"));
                let (tol, pass) = (
                    format!("{:.1e}", a.tolerance),
                    if a.pass { "yes" } else { "NO" },
                );
                cells![a.shape, a.pair, a.quantity, diff, reference, tol, pass]
            })
            .collect();
        let title = "Agreement (same tokens, same weights)";
        let cols = "shape | pair | quantity | max abs diff | max abs ref | tolerance | pass";
        section(out, title, cols, "lllrrrl", rows);
    }
    if !r.memory.is_empty() {
        let rows = (r.memory.iter())
            .map(|m| {
                let (w, a) = (mib(m.weight_bytes), mib(m.activation_bytes));
                let (p, h) = (mib(m.peak_gpu_bytes), mib(m.host_rss_peak_bytes));
                let (f, bt) = (format!("{:.3}", m.budget_fraction), m.at.point.label());
                cells![m.at.shape, m.at.precision, bt, w, a, p, f, h]
            })
            .collect();
        let title = "Device memory (target: peak ≤ 1.15 × weights + activations)";
        let cols = "shape | weights | sized for B×T | weight MiB | activation MiB | peak MiB | peak ÷ budget | host peak RSS MiB";
        section(out, title, cols, "llrrrrrr", rows);
    }
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

fn kernels(r: &Report, out: &mut String) {
    let Some(k) = &r.kernels else { return };
    let rows = (k.families.iter())
        .map(|f| {
            let g = (f.gflops > 0.0).then(|| format!("{:.2}", f.gflops));
            let share = format!("{:.1}%", 100.0 * f.share);
            cells![
                f.family,
                format!("{:.2}", f.ms),
                share,
                g.unwrap_or_default()
            ]
        })
        .collect();
    let title = format!(
        "Kernel time shares ({}, {:.1} ms GPU time)",
        k.point, k.total_ms
    );
    section(out, &title, "family | ms | share | GFLOP/s", "lrrr", rows);
    let _ = writeln!(out, "per dispatch label:\n\n{}", k.table);
}

fn embedding(r: &Report, out: &mut String) {
    if r.embedding.is_empty() {
        return;
    }
    let f2 = |x: f64| format!("{x:.2}");
    let rows = (r.embedding.iter())
        .map(|e| {
            let shape = format!("{} {}", e.shape, e.precision);
            let (s, ms, ps) = (f2(e.seconds), f2(e.ms_per_pair), f2(e.pairs_per_s));
            let (gpu, host) = (mib(e.peak_gpu_bytes), mib(e.host_rss_bytes));
            cells![e.engine, shape, e.pairs, e.tokens, e.layers, s, ms, ps, gpu, host]
        })
        .collect();
    let title = "Embedding workload (MRPC pairs, every layer mean-pooled)";
    let cols = "engine | shape | pairs | tokens | layers | seconds | ms/pair | pairs/s | peak GPU MiB | host RSS MiB";
    section(out, title, cols, "llrrrrrrrr", rows);
}
