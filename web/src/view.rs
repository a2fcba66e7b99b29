//! Rendering: the model card, the engine line, the results table and chart, errors.
//! Everything writes plain HTML into the elements of `index.html`.

use rwkv_lens::embed::Pooling;
use rwkv_lens::gpu::Precision;
use rwkv_lens::kit::svg::colour;
use rwkv_lens::model::Layout;

use crate::backend::WebGpuInfo;
use crate::chart;
use crate::compare::Comparison;
use crate::dom::{by_id, escape, megabytes, set_html, set_text, show};
use crate::header::Summary;

/// Shows a one-line error above everything (and logs it); `None` clears it.
pub fn error(msg: Option<&str>) {
    match msg {
        Some(m) => {
            web_sys::console::error_1(&m.into());
            set_text("error", m);
            show("error", true);
        }
        None => show("error", false),
    }
}

/// A warning that stays until the next model is loaded (e.g. why the GPU is not used).
pub fn warning(msg: Option<&str>) {
    match msg {
        Some(m) => {
            web_sys::console::warn_1(&m.into());
            set_text("warning", m);
            show("warning", true);
        }
        None => show("warning", false),
    }
}

/// A status line under the Compare button.
pub fn status(msg: &str) {
    set_text("run-status", msg);
}

/// The progress bar: `done / total` with a text like "12.0 / 3200.0 MB".
pub fn progress(done: f64, total: Option<f64>, text: &str) {
    show("progress-box", true);
    let bar = by_id::<web_sys::HtmlProgressElement>("progress");
    match total {
        Some(t) if t > 0.0 => {
            bar.set_max(t);
            bar.set_value(done);
        }
        _ => {
            let _ = bar.remove_attribute("value"); // indeterminate
        }
    }
    set_text("progress-text", text);
}

pub fn progress_done() {
    show("progress-box", false);
}

/// "WebGPU: adapter (limits)" or why the CPU fallback runs.
pub fn engine_line(webgpu: &Result<WebGpuInfo, String>, running: Option<&str>) {
    let probe = match webgpu {
        Ok(i) => format!(
            "WebGPU adapter: <b>{}</b> — max storage binding {}, max buffer {}, shader-f16 {}.",
            escape(&i.adapter),
            megabytes(i.max_binding),
            megabytes(i.max_buffer),
            if i.shader_f16 { "yes" } else { "no" }
        ),
        Err(why) => format!(
            "<b>No WebGPU</b>: {}. Falling back to the Rust CPU path compiled to wasm (simd128).",
            escape(why)
        ),
    };
    let run = running.map_or(String::new(), |r| {
        format!(" Running on: <b id=\"engine-name\">{}</b>.", escape(r))
    });
    set_html("engine-line", &format!("{probe}{run}"));
}

/// The model card's rows: everything known from the header, before any tensor is loaded
/// (built in the worker, shown by the page).
pub fn model_info_html(name: &str, s: &Summary, cached: bool) -> String {
    let label = match &s.label {
        Some(l) => format!("<span class=\"badge\">{}</span>", escape(l)),
        None => "<span class=\"badge real\">checkpoint</span>".into(),
    };
    let layout = match s.layout {
        Layout::Official => "official names",
        Layout::HuggingFace => "Hugging Face names",
    };
    let rows = [
        ("Model", format!("{} {label}", escape(name))),
        ("Architecture", escape(&s.describe())),
        ("Parameters", format!("{:.2} M", s.parameters as f64 / 1e6)),
        (
            "File",
            format!(
                "{} ({}, {layout}){}",
                megabytes(s.file_bytes as f64),
                s.dtype.name(),
                if cached {
                    ", from the browser cache"
                } else {
                    ""
                }
            ),
        ),
        (
            "Largest tensor",
            format!(
                "{} — {}",
                escape(&s.largest.0),
                megabytes(s.largest.1 as f64)
            ),
        ),
        (
            "Memory",
            format!(
                "loading needs ≈ {} of wasm memory with WebGPU, {} on the CPU fallback (limit 4 GB)",
                megabytes(s.loading_bytes(true) as f64),
                megabytes(s.loading_bytes(false) as f64)
            ),
        ),
        (
            "GPU weights",
            [Precision::following(s.dtype), Precision::Int8, Precision::Nf4]
                .iter()
                .map(|&p| format!("{p} ≈ {}", megabytes(s.gpu_weight_bytes(p) as f64)))
                .collect::<Vec<_>>()
                .join(" · ")
                + " (choose with “GPU weights”; the embedding stays in wasm memory)",
        ),
    ];
    let mut html: String = rows
        .iter()
        .map(|(k, v)| format!("<tr><th>{k}</th><td>{v}</td></tr>"))
        .collect();
    if let Some(d) = &s.description {
        html.push_str(&format!(
            "<tr><th>About</th><td class=\"about\">{}</td></tr>",
            escape(d)
        ));
    }
    html
}

/// Chart + table + the machine-readable copy the end-to-end test reads. With attention
/// models beside the RWKV (`c.more`) the chart puts every model on the relative-depth axis
/// and each model gets its own table under the RWKV's.
pub fn results(c: &Comparison, n_layer: usize, pooling: Pooling, runs: u32) {
    let rwkv = format!("RWKV-6 ({n_layer} blocks)");
    let mut models = vec![chart::Series {
        label: &rwkv,
        n_layer,
        pairs: &c.pairs,
    }];
    models.extend(c.more.iter().map(|m| chart::Series {
        label: &m.label,
        n_layer: m.n_layer,
        pairs: &m.pairs,
    }));
    set_html("chart", &chart::svg_models(&models, pooling));
    set_html("results", &pairs_table(&c.layers, &c.pairs, pooling));
    let more: String = (c.more.iter())
        .map(|m| {
            let layers: Vec<usize> = (0..=m.n_layer).collect();
            format!(
                "<h3>{} <small class=\"meta\">{}</small></h3><table class=\"results\">{}</table>",
                escape(&m.label),
                escape(&m.engine),
                pairs_table(&layers, &m.pairs, pooling)
            )
        })
        .collect();
    set_html("results-more", &more);
    let names: Vec<&str> = models.iter().map(|m| m.label).collect();
    set_text(
        "result-meta",
        &format!(
            "{} pooling · {} pair(s) in {:.0} ms on {} · {}",
            pooling.name(),
            c.pairs.len(),
            c.millis,
            c.engine,
            names.join(" + ")
        ),
    );
    let card = by_id::<web_sys::Element>("results-card");
    let _ = card.set_attribute("data-json", &serde_json::to_string(c).unwrap_or_default());
    let _ = card.set_attribute("data-runs", &runs.to_string());
    let _ = card.set_attribute("data-models", &models.len().to_string());
    show("results-card", true);
}

/// One model's numbers: a row per pair, a column per layer, and the GloVe value.
fn pairs_table(layers: &[usize], pairs: &[crate::compare::PairResult], pooling: Pooling) -> String {
    let mut html =
        String::from("<thead><tr><th></th><th>sentence A</th><th>sentence B</th><th>tokens</th>");
    for l in layers {
        html.push_str(&format!("<th>L{l}</th>"));
    }
    html.push_str("<th>GloVe</th></tr></thead><tbody>");
    for (i, p) in pairs.iter().enumerate() {
        html.push_str(&format!(
            "<tr><td><span class=\"swatch\" style=\"background:{}\"></span>{}</td><td>{}</td><td>{}</td><td>{} / {}</td>",
            colour(i),
            i + 1,
            escape(&p.a),
            escape(&p.b),
            p.tokens.0,
            p.tokens.1
        ));
        for v in p.by(pooling) {
            html.push_str(&format!("<td class=\"num\">{v:.4}</td>"));
        }
        let g = p.glove.map_or("—".into(), |g| format!("{g:.4}"));
        html.push_str(&format!("<td class=\"num glove\">{g}</td></tr>"));
    }
    html.push_str("</tbody>");
    html
}
