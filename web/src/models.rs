//! The picker's preset list (real checkpoints, each with its download size and the wasm
//! memory it needs, disabled with the reason when this browser cannot run it) and the
//! "cached models" list (what the Cache API holds, with sizes and a delete button).

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement};

use crate::dom::{by_id, escape, megabytes, on_id, set_html};
use crate::loader;
use crate::presets::{presets, Preset};

/// Fills the preset list for this device (`binding`: the storage-binding limit the GPU
/// path would have, `None` on the CPU fallback) and wires it and the cached list.
pub fn init(binding: Option<u64>) {
    let list = presets();
    let mut html = String::from("<option value=\"\">— a real RWKV-6 checkpoint —</option>");
    for (i, p) in list.iter().enumerate() {
        html.push_str(&option(i, p, binding));
    }
    set_html("preset", &html);
    on_id("preset", "change", move |_| {
        let pick = by_id::<HtmlSelectElement>("preset").value();
        if let Some(p) = pick.parse::<usize>().ok().and_then(|i| list.get(i)) {
            by_id::<HtmlInputElement>("model-url").set_value(&p.model_url);
            by_id::<HtmlInputElement>("tokenizer-url")
                .set_value(p.tokenizer_url.as_deref().unwrap_or(""));
            crate::app::select_source("url");
        }
    });
    on_id("cached", "click", |e| {
        let Some(url) = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|el| el.get_attribute("data-delete"))
        else {
            return;
        };
        spawn_local(async move {
            if let Err(e) = loader::delete_cached(&url).await {
                crate::view::error(Some(&e.to_string()));
            }
            render_cached().await;
        });
    });
    spawn_local(render_cached());
}

/// One `<option>`: label, download size, memory; disabled with the reason when refused.
fn option(i: usize, p: &Preset, binding: Option<u64>) -> String {
    let Ok(s) = p.summary() else {
        return String::new();
    };
    let path = if binding.is_some() { "GPU" } else { "CPU" };
    let mut text = format!(
        "{} · {} download · ~{} wasm memory to load ({path} path)",
        p.label,
        megabytes(s.file_bytes as f64),
        megabytes(s.loading_bytes(binding.is_some()) as f64),
    );
    let refused = p.refusal(binding);
    if let Some(why) = &refused {
        text.push_str(&format!(" — unavailable here: {why}"));
    }
    format!(
        "<option value=\"{i}\"{}>{}</option>",
        if refused.is_some() { " disabled" } else { "" },
        escape(&text)
    )
}

/// Redraws the cached-models list from the Cache API.
pub async fn render_cached() {
    let html = match loader::cached_models().await {
        Ok(list) if list.is_empty() => "<li class=\"meta\">none yet</li>".to_string(),
        Ok(list) => list
            .iter()
            .map(|(url, bytes)| {
                format!(
                    "<li><span class=\"url\">{}</span> · {} <button data-delete=\"{}\">Delete</button></li>",
                    escape(url),
                    megabytes(*bytes as f64),
                    escape(url)
                )
            })
            .collect(),
        Err(e) => format!("<li class=\"meta\">{}</li>", escape(&e.to_string())),
    };
    set_html("cached", &html);
}
