//! The page's lines and boxes: the error and warning boxes, the status line, the progress
//! bar, the engine line and the model card.

use super::dom::{escape, megabytes, page, set_html, set_text, show};
use crate::protocol::{Card, WebGpuInfo};

/// Shows a one-line error above everything (and logs it); `None` clears it.
pub fn error(msg: Option<&str>) {
    let p = page();
    match msg {
        Some(m) => {
            web_sys::console::error_1(&m.into());
            set_text(&p.error, m);
            show(&p.error, true);
        }
        None => show(&p.error, false),
    }
}

/// A warning that stays until the next model is loaded (e.g. why the GPU is not used).
pub fn warning(msg: Option<&str>) {
    let p = page();
    match msg {
        Some(m) => {
            web_sys::console::warn_1(&m.into());
            set_text(&p.warning, m);
            show(&p.warning, true);
        }
        None => show(&p.warning, false),
    }
}

/// A status line under the Compare button.
pub fn status(msg: &str) {
    set_text(&page().run_status, msg);
}

/// The progress bar: `done / total` with a text like "12.0 / 3200.0 MB".
pub fn progress(done: f64, total: Option<f64>, text: &str) {
    let p = page();
    show(&p.progress_box, true);
    match total {
        Some(t) if t > 0.0 => {
            p.progress.set_max(t);
            p.progress.set_value(done);
        }
        _ => {
            let _ = p.progress.remove_attribute("value"); // indeterminate
        }
    }
    set_text(&p.progress_text, text);
}

pub fn progress_done() {
    show(&page().progress_box, false);
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
    set_html(&page().engine_line, &format!("{probe}{run}"));
}

/// The model card the worker sent (from the header, before any tensor is read).
pub fn card(card: &Card) {
    set_html(&page().model_info, &super::card::card_html(card));
}
