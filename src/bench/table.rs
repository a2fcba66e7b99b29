//! The report as Markdown tables (what `rwkv-lens bench` prints).

use std::fmt::Write;

use super::report::Report;

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

fn prefill(r: &Report, out: &mut String) {
    out.push_str("## Prefill\n\n| engine | shape | vocab | weights | B×T | tokens/s | seconds (timed passes) | status |\n|---|---|---:|---|---:|---:|---|---|\n");
    for p in &r.prefill {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {}×{} | {:.2} | {} | {} |",
            p.engine,
            p.shape,
            p.vocab,
            p.precision,
            p.batch,
            p.length,
            p.tokens_per_s,
            secs(&p.seconds),
            p.status
        );
    }
    out.push('\n');
}

fn ratios(r: &Report, out: &mut String) {
    if r.ratios.is_empty() {
        return;
    }
    out.push_str("## Ratios (ours ÷ peer, same point)\n\n| shape | weights | B×T | peer | ours tokens/s | peer tokens/s | ratio |\n|---|---|---:|---|---:|---:|---:|\n");
    for x in &r.ratios {
        let _ = writeln!(
            out,
            "| {} | {} | {}×{} | {} | {:.2} | {:.2} | **{:.2}×** |",
            x.shape,
            x.precision,
            x.batch,
            x.length,
            x.peer,
            x.ours_tokens_per_s,
            x.peer_tokens_per_s,
            x.ratio
        );
    }
    out.push('\n');
}

fn agreement(r: &Report, out: &mut String) {
    if r.agreement.is_empty() {
        return;
    }
    out.push_str("## Agreement (same tokens, same weights)\n\n| shape | pair | quantity | max abs diff | max abs ref | tolerance | pass |\n|---|---|---|---:|---:|---:|---|\n");
    for a in &r.agreement {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.3e} | {:.3e} | {:.1e} | {} |",
            a.shape,
            a.pair,
            a.quantity,
            a.max_abs_diff,
            a.max_abs_ref,
            a.tolerance,
            if a.pass { "yes" } else { "NO" }
        );
    }
    out.push('\n');
}

fn memory(r: &Report, out: &mut String) {
    if r.memory.is_empty() {
        return;
    }
    out.push_str("## Device memory (target: peak ≤ 1.15 × weights + activations)\n\n| shape | weights | sized for B×T | weight MiB | activation MiB | peak MiB | peak ÷ budget | host peak RSS MiB |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
    for m in &r.memory {
        let _ = writeln!(
            out,
            "| {} | {} | {}×{} | {} | {} | {} | {:.3} | {} |",
            m.shape,
            m.precision,
            m.batch,
            m.length,
            mib(m.weight_bytes),
            mib(m.activation_bytes),
            mib(m.peak_gpu_bytes),
            m.budget_fraction,
            mib(m.host_rss_peak_bytes)
        );
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
    let _ = writeln!(out, "## Kernel time shares ({}, {:.1} ms GPU time)\n\n| family | ms | share | GFLOP/s |\n|---|---:|---:|---:|", k.point, k.total_ms);
    for f in &k.families {
        let g = if f.gflops > 0.0 {
            format!("{:.2}", f.gflops)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "| {} | {:.2} | {:.1}% | {} |",
            f.family,
            f.ms,
            100.0 * f.share,
            g
        );
    }
    let _ = writeln!(out, "\nper dispatch label:\n\n{}", k.table);
}

fn embedding(r: &Report, out: &mut String) {
    if r.embedding.is_empty() {
        return;
    }
    out.push_str("## Embedding workload (MRPC pairs, every layer mean-pooled)\n\n| engine | shape | pairs | tokens | layers | seconds | ms/pair | pairs/s | peak GPU MiB | host RSS MiB |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for e in &r.embedding {
        let _ = writeln!(
            out,
            "| {} | {} {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {} | {} |",
            e.engine,
            e.shape,
            e.precision,
            e.pairs,
            e.tokens,
            e.layers,
            e.seconds,
            e.ms_per_pair,
            e.pairs_per_s,
            mib(e.peak_gpu_bytes),
            mib(e.host_rss_bytes)
        );
    }
    out.push('\n');
}
