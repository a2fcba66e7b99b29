//! The report as Markdown tables (what `rwkv-lens bench` prints).

use std::fmt::{Display, Write};

use super::report::Report;
use crate::kit::markdown as md;

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1u64 << 20) as f64)
}

fn secs(v: &[f64]) -> String {
    v.iter()
        .map(|s| format!("{s:.3}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every section that has data.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    header(r, &mut out);
    headline(r, &mut out);
    prefill(r, &mut out);
    ratios(r, &mut out);
    agreement(r, &mut out);
    memory(r, &mut out);
    roofline(r, &mut out);
    kernels(r, &mut out);
    embedding(r, &mut out);
    for n in &r.notes {
        let _ = writeln!(out, "- {n}");
    }
    out
}

fn header(r: &Report, out: &mut String) {
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
}

/// Geometric mean of ours ÷ each peer over the whole grid, before any single point.
fn headline(r: &Report, out: &mut String) {
    if r.headlines.is_empty() {
        return;
    }
    out.push_str("## Headline: ours ÷ peer, geometric mean over every point of the grid\n\n");
    md::header(
        out,
        "peer | points | geometric mean | lowest | highest",
        "lrrrr",
    );
    for h in &r.headlines {
        let (g, lo, hi) = (
            format!("**{:.2}×**", h.geomean),
            format!("{:.2}×", h.min),
            format!("{:.2}×", h.max),
        );
        let cells: [&dyn Display; 5] = [&h.peer, &h.points, &g, &lo, &hi];
        md::row(out, &cells);
    }
    out.push('\n');
}

fn prefill(r: &Report, out: &mut String) {
    out.push_str("## Prefill\n\n");
    let cols =
        "engine | shape | vocab | weights | B×T | tokens/s | seconds (timed passes) | status";
    md::header(out, cols, "llrlrrll");
    for p in &r.prefill {
        let bt = format!("{}×{}", p.batch, p.length);
        let tps = format!("{:.2}", p.tokens_per_s);
        let cells: [&dyn Display; 8] = [
            &p.engine,
            &p.shape,
            &p.vocab,
            &p.precision,
            &bt,
            &tps,
            &secs(&p.seconds),
            &p.status,
        ];
        md::row(out, &cells);
    }
    out.push('\n');
}

fn ratios(r: &Report, out: &mut String) {
    if r.ratios.is_empty() {
        return;
    }
    out.push_str("## Ratios (ours ÷ peer, same point)\n\n");
    let cols = "shape | weights | B×T | peer | ours tokens/s | peer tokens/s | ratio";
    md::header(out, cols, "llrlrrr");
    for x in &r.ratios {
        let bt = format!("{}×{}", x.batch, x.length);
        let (ours, peer) = (
            format!("{:.2}", x.ours_tokens_per_s),
            format!("{:.2}", x.peer_tokens_per_s),
        );
        let ratio = format!("**{:.2}×**", x.ratio);
        let cells: [&dyn Display; 7] = [&x.shape, &x.precision, &bt, &x.peer, &ours, &peer, &ratio];
        md::row(out, &cells);
    }
    out.push('\n');
}

fn agreement(r: &Report, out: &mut String) {
    if r.agreement.is_empty() {
        return;
    }
    out.push_str("## Agreement (same tokens, same weights)\n\n");
    let cols = "shape | pair | quantity | max abs diff | max abs ref | tolerance | pass";
    md::header(out, cols, "lllrrrl");
    for a in &r.agreement {
        let diff = format!("{:.3e}", a.max_abs_diff);
        let (reference, tol) = (
            format!("{:.3e}", a.max_abs_ref),
            format!("{:.1e}", a.tolerance),
        );
        let pass = if a.pass { "yes" } else { "NO" };
        let cells: [&dyn Display; 7] = [
            &a.shape,
            &a.pair,
            &a.quantity,
            &diff,
            &reference,
            &tol,
            &pass,
        ];
        md::row(out, &cells);
    }
    out.push('\n');
}

fn memory(r: &Report, out: &mut String) {
    if r.memory.is_empty() {
        return;
    }
    out.push_str("## Device memory (target: peak ≤ 1.15 × weights + activations)\n\n");
    let cols = "shape | weights | sized for B×T | weight MiB | activation MiB | peak MiB | peak ÷ budget | host peak RSS MiB";
    md::header(out, cols, "llrrrrrr");
    for m in &r.memory {
        let bt = format!("{}×{}", m.batch, m.length);
        let fraction = format!("{:.3}", m.budget_fraction);
        let (w, a, p, h) = (
            mib(m.weight_bytes),
            mib(m.activation_bytes),
            mib(m.peak_gpu_bytes),
            mib(m.host_rss_peak_bytes),
        );
        let cells: [&dyn Display; 8] = [&m.shape, &m.precision, &bt, &w, &a, &p, &fraction, &h];
        md::row(out, &cells);
    }
    out.push('\n');
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
}

fn kernels(r: &Report, out: &mut String) {
    let Some(k) = &r.kernels else { return };
    let _ = writeln!(
        out,
        "## Kernel time shares ({}, {:.1} ms GPU time)\n",
        k.point, k.total_ms
    );
    md::header(out, "family | ms | share | GFLOP/s", "lrrr");
    for f in &k.families {
        let g = if f.gflops > 0.0 {
            format!("{:.2}", f.gflops)
        } else {
            String::new()
        };
        let (ms, share) = (format!("{:.2}", f.ms), format!("{:.1}%", 100.0 * f.share));
        md::row::<&dyn Display>(out, &[&f.family, &ms, &share, &g]);
    }
    let _ = writeln!(out, "\nper dispatch label:\n\n{}", k.table);
}

fn embedding(r: &Report, out: &mut String) {
    if r.embedding.is_empty() {
        return;
    }
    out.push_str("## Embedding workload (MRPC pairs, every layer mean-pooled)\n\n");
    let cols = "engine | shape | pairs | tokens | layers | seconds | ms/pair | pairs/s | peak GPU MiB | host RSS MiB";
    md::header(out, cols, "llrrrrrrrr");
    for e in &r.embedding {
        let shape = format!("{} {}", e.shape, e.precision);
        let f2 = |x: f64| format!("{x:.2}");
        let (s, ms, ps) = (f2(e.seconds), f2(e.ms_per_pair), f2(e.pairs_per_s));
        let (gpu, host) = (mib(e.peak_gpu_bytes), mib(e.host_rss_bytes));
        let cells: [&dyn Display; 10] = [
            &e.engine, &shape, &e.pairs, &e.tokens, &e.layers, &s, &ms, &ps, &gpu, &host,
        ];
        md::row(out, &cells);
    }
    out.push('\n')
}
