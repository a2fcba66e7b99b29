//! The model picker: where the next model comes from (the source radios, the file and
//! URL inputs), the preset list the worker checked for this device (each with its
//! download size and the wasm memory it needs, disabled with the reason when this
//! browser cannot run it), the tokenizer inputs, and the "cached models" list (what the
//! worker's Cache API holds, with sizes and a Delete button).

use std::cell::RefCell;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::File;

use rwkv_lens::{Error, Result};

use super::card::{preset_option, PRESET_PROMPT};
use super::client::ask;
use super::dom::{escape, megabytes, on, page, set_html};
use super::view;
use crate::protocol::js::Files;
use crate::protocol::{check_url, ListCached, ModelPick, PresetOption, TokenizerPick, Uncache};

/// Which source radio is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Demo,
    File,
    Url,
}

thread_local! {
    /// The source of the model that runs now (the radio goes back to it after a failed load).
    static RUNNING: RefCell<Source> = const { RefCell::new(Source::Demo) };
}

/// Checks one source radio.
pub fn select_source(source: Source) {
    let p = page();
    let radio = match source {
        Source::Demo => &p.source_demo,
        Source::File => &p.source_file,
        Source::Url => &p.source_url,
    };
    radio.set_checked(true);
}

fn checked_source() -> Source {
    let p = page();
    if p.source_file.checked() {
        Source::File
    } else if p.source_url.checked() {
        Source::Url
    } else {
        Source::Demo
    }
}

/// After a load: a model from `source` now runs (`true`), or the load failed and the
/// radio goes back to the source of the model still running.
pub fn loaded(source: Source, ok: bool) {
    match ok {
        true => RUNNING.with(|r| *r.borrow_mut() = source),
        false => select_source(RUNNING.with(|r| *r.borrow())),
    }
}

/// Wires the file and URL inputs to their radios, and the cached list's Delete buttons.
pub fn init() {
    let p = page();
    on(&p.model_file, "change", |_| select_source(Source::File));
    on(&p.model_url, "input", |_| select_source(Source::Url));
    on(&p.cached, "click", |e| {
        let Some(url) = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|el| el.get_attribute("data-delete"))
        else {
            return;
        };
        spawn_local(async move {
            match ask(Uncache { url }, Files::default()).await {
                Ok(list) => show_cached(Ok(list)),
                Err(e) => view::error(Some(&e.to_string())),
            }
        });
    });
}

/// Fills the preset list the worker checked for this device; picking one fills the URLs.
pub fn presets(list: Vec<PresetOption>) {
    let p = page();
    let mut html = String::from(PRESET_PROMPT);
    for (i, preset) in list.iter().enumerate() {
        html.push_str(&preset_option(i, preset));
    }
    set_html(&p.preset, &html);
    on(&p.preset, "change", move |_| {
        let p = page();
        let pick = p.preset.value().parse::<usize>().ok();
        if let Some(preset) = pick.and_then(|i| list.get(i)) {
            p.model_url.set_value(&preset.model_url);
            p.tokenizer_url
                .set_value(preset.tokenizer_url.as_deref().unwrap_or(""));
            select_source(Source::Url);
        }
    });
}

/// The model the radios and inputs pick, with the local file when there is one.
pub fn picked_model() -> Result<(ModelPick, Source, Option<File>)> {
    let p = page();
    let source = checked_source();
    match source {
        Source::File => (p.model_file.files().and_then(|f| f.get(0)))
            .map(|f| (ModelPick::File, source, Some(f)))
            .ok_or_else(|| Error::input("choose a .safetensors or .pth file first")),
        Source::Url => {
            let url = p.model_url.value().trim().to_string();
            if url.is_empty() {
                return Err(Error::input(
                    "enter the URL of a .safetensors or .pth file first",
                ));
            }
            check_url("model URL", &url).map_err(Error::input)?;
            Ok((ModelPick::Url(url), source, None))
        }
        Source::Demo => Ok((ModelPick::Demo, source, None)),
    }
}

/// The tokenizer inputs (a file wins over a URL), with the file when there is one.
pub fn picked_tokenizer() -> Result<(TokenizerPick, Option<File>)> {
    let p = page();
    if let Some(f) = p.tokenizer_file.files().and_then(|f| f.get(0)) {
        return Ok((TokenizerPick::File, Some(f)));
    }
    match p.tokenizer_url.value().trim() {
        "" => Ok((TokenizerPick::Auto, None)),
        u => {
            let url = repo_url(u);
            check_url("tokenizer URL", &url).map_err(Error::input)?;
            Ok((TokenizerPick::Url(url), None))
        }
    }
}

/// A Hugging Face repo (`owner/name`) → its `tokenizer.json` on the main branch; a URL
/// is kept as it is.
pub fn repo_url(input: &str) -> String {
    let is_repo = !input.contains("://")
        && input.split('/').count() == 2
        && input
            .split('/')
            .all(|p| !p.is_empty() && !p.starts_with('.') && !p.contains(':'));
    if is_repo {
        format!("https://huggingface.co/{input}/resolve/main/tokenizer.json")
    } else {
        input.to_string()
    }
}

/// Asks the worker for the cached-models list and shows it.
pub async fn render_cached() {
    show_cached(ask(ListCached, Files::default()).await);
}

fn show_cached(list: Result<Vec<crate::protocol::CachedModel>>) {
    let html = match list {
        Ok(list) if list.is_empty() => "<li class=\"meta\">none yet</li>".to_string(),
        Ok(list) => (list.iter())
            .map(|m| {
                format!(
                    "<li><span class=\"url\">{}</span> · {} <button data-delete=\"{}\">Delete</button></li>",
                    escape(&m.url),
                    megabytes(m.bytes as f64),
                    escape(&m.url)
                )
            })
            .collect(),
        Err(e) => format!("<li class=\"meta\">{}</li>", escape(&e.to_string())),
    };
    set_html(&page().cached, &html);
}
