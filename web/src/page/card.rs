//! The model card and the preset options as HTML strings (pure, tested natively). Every
//! string that comes from a file or a server (name, metadata, tensor names, a refusal
//! naming them) is escaped: a model cannot put markup in the page.

use crate::protocol::{Card, PresetOption};
use rwkv_lens::kit::svg::escape;

/// "12.3 MB".
fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

/// The card's rows: everything known from the header, before any tensor is loaded. The
/// GPU weight row only on the GPU path (the CPU fallback keeps f32 weights).
pub fn card_html(c: &Card) -> String {
    let label = match &c.label {
        Some(l) => format!("<span class=\"badge\">{}</span>", escape(l)),
        None => "<span class=\"badge real\">checkpoint</span>".into(),
    };
    let cached = if c.cached {
        ", from the browser cache"
    } else {
        ""
    };
    let mut rows = vec![
        ("Model", format!("{} {label}", escape(&c.name))),
        ("Architecture", escape(&c.architecture)),
        ("Parameters", format!("{:.2} M", c.parameters as f64 / 1e6)),
        (
            "File",
            format!(
                "{} ({}, {}){cached}",
                megabytes(c.file_bytes as f64),
                escape(&c.dtype),
                escape(&c.layout)
            ),
        ),
        (
            "Largest tensor",
            format!(
                "{} — {}",
                escape(&c.largest.0),
                megabytes(c.largest.1 as f64)
            ),
        ),
        (
            "Memory",
            format!(
                "loading needs ≈ {} of wasm memory with WebGPU, {} on the CPU fallback (limit 4 GB)",
                megabytes(c.loading_bytes.0 as f64),
                megabytes(c.loading_bytes.1 as f64)
            ),
        ),
    ];
    if !c.gpu_weights.is_empty() {
        let sizes: Vec<String> = (c.gpu_weights.iter())
            .map(|(p, b)| format!("{} ≈ {}", escape(p), megabytes(*b as f64)))
            .collect();
        let note = " (choose with “GPU weights”; the embedding stays in wasm memory)";
        rows.push(("GPU weights", sizes.join(" · ") + note));
    }
    let mut html: String = (rows.iter())
        .map(|(k, v)| format!("<tr><th>{k}</th><td>{v}</td></tr>"))
        .collect();
    if let Some(d) = &c.description {
        html.push_str(&format!(
            "<tr><th>About</th><td class=\"about\">{}</td></tr>",
            escape(d)
        ));
    }
    html
}

/// The preset list's first, empty option.
pub const PRESET_PROMPT: &str = "<option value=\"\">— a real RWKV-6 checkpoint —</option>";

/// One preset `<option>`: label, download size, memory; disabled with the reason (also
/// its hover title) when this browser cannot run it.
pub fn preset_option(i: usize, p: &PresetOption) -> String {
    let path = if p.gpu_path { "GPU" } else { "CPU" };
    let mut text = format!(
        "{} · {} download · ~{} wasm memory to load ({path} path)",
        p.label,
        megabytes(p.download_bytes as f64),
        megabytes(p.loading_bytes as f64),
    );
    if let Some(why) = &p.refusal {
        text.push_str(&format!(" — unavailable here: {why}"));
    }
    format!(
        "<option value=\"{i}\" title=\"{}\"{}>{}</option>",
        escape(&text),
        if p.refusal.is_some() { " disabled" } else { "" },
        escape(&text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const XSS: &str = "<img src=x onerror=alert(1)>";

    fn card() -> Card {
        Card {
            name: format!("{XSS}.safetensors"),
            label: Some(XSS.into()),
            description: Some(format!("about {XSS}")),
            architecture: "RWKV-6, 4 layers".into(),
            parameters: 1_000_000,
            file_bytes: 18_300_000,
            dtype: "f16".into(),
            layout: "official names".into(),
            cached: true,
            largest: (XSS.into(), 4096),
            loading_bytes: (1, 2),
            gpu_weights: vec![("f16".into(), 1_000_000), ("int8".into(), 500_000)],
        }
    }

    #[test]
    fn nothing_from_the_file_reaches_the_page_as_markup() {
        let html = card_html(&card());
        assert!(!html.contains("<img"), "{html}");
        assert_eq!(
            html.matches("&lt;img src=x onerror=alert(1)&gt;").count(),
            4
        );
        assert!(html.contains("f16 ≈ 1.0 MB · int8 ≈ 0.5 MB"), "{html}");
    }

    #[test]
    fn no_gpu_weights_row_on_the_cpu_path() {
        let mut c = card();
        c.gpu_weights.clear();
        assert!(!card_html(&c).contains("GPU weights"));
    }

    #[test]
    fn a_refused_preset_is_disabled_with_its_reason() {
        let p = PresetOption {
            label: "Finch".into(),
            model_url: "https://x/f.pth".into(),
            tokenizer_url: None,
            download_bytes: 3_199_700_000,
            loading_bytes: 6_700_000_000,
            gpu_path: false,
            refusal: Some("loading needs about 6.7 GB <too much>".into()),
        };
        let o = preset_option(1, &p);
        assert!(
            o.contains(" disabled>") && o.contains("title=\"Finch"),
            "{o}"
        );
        assert!(o.contains("unavailable here: loading needs about 6.7 GB &lt;too much&gt;"));
    }
}
