//! The page's elements, found once: every `id` of `index.html` the code touches is a field
//! of [`Page`], typed, and [`init`] checks them all at start-up (one line naming every id
//! that is missing or of the wrong kind). Then the small DOM helpers: text, HTML,
//! visibility, events.

use std::cell::OnceCell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    Document, Element, EventTarget, HtmlButtonElement, HtmlElement, HtmlInputElement,
    HtmlProgressElement, HtmlSelectElement, Window,
};

pub use rwkv_lens::kit::svg::escape;

/// Declares [`Page`] (one typed field per id) and the check that finds them all.
macro_rules! page_ids {
    ($($field:ident: $kind:ty = $id:literal,)*) => {
        /// Every element of `index.html` the code touches, by id.
        pub struct Page {
            $(pub $field: $kind,)*
        }

        impl Page {
            /// Finds every element; `Err` names each id missing or not of its kind.
            fn find(doc: &Document) -> Result<Page, String> {
                let mut bad = Vec::new();
                $(let $field = typed::<$kind>(doc, $id, &mut bad);)*
                match ($($field,)*) {
                    ($(Some($field),)*) => Ok(Page { $($field,)* }),
                    _ => Err(format!(
                        "index.html does not match the page's code: #{} missing or of another kind",
                        bad.join(", #")
                    )),
                }
            }
        }
    };
}

page_ids! {
    error: HtmlElement = "error",
    warning: HtmlElement = "warning",
    model_card: HtmlElement = "model-card",
    source_demo: HtmlInputElement = "source-demo",
    source_file: HtmlInputElement = "source-file",
    source_url: HtmlInputElement = "source-url",
    model_file: HtmlInputElement = "model-file",
    preset: HtmlSelectElement = "preset",
    model_url: HtmlInputElement = "model-url",
    weights: HtmlSelectElement = "weights",
    weights_label: HtmlElement = "weights-label",
    load: HtmlButtonElement = "load",
    tokenizer_file: HtmlInputElement = "tokenizer-file",
    tokenizer_url: HtmlInputElement = "tokenizer-url",
    tokenizer_name: HtmlElement = "tokenizer-name",
    attention_url: HtmlInputElement = "attention-url",
    attention_files: HtmlInputElement = "attention-files",
    attention_add: HtmlButtonElement = "attention-add",
    attention_models: HtmlElement = "attention-models",
    cached: HtmlElement = "cached",
    progress_box: HtmlElement = "progress-box",
    progress: HtmlProgressElement = "progress",
    progress_text: HtmlElement = "progress-text",
    model_info: HtmlElement = "model-info",
    engine_line: HtmlElement = "engine-line",
    pairs: HtmlElement = "pairs",
    add_pair: HtmlButtonElement = "add-pair",
    pooling: HtmlSelectElement = "pooling",
    compare: HtmlButtonElement = "compare",
    cancel: HtmlButtonElement = "cancel",
    run_status: HtmlElement = "run-status",
    results_card: HtmlElement = "results-card",
    result_meta: HtmlElement = "result-meta",
    chart: HtmlElement = "chart",
    glove_line: HtmlElement = "glove-line",
    results_heading: HtmlElement = "results-heading",
    results: HtmlElement = "results",
    results_more: HtmlElement = "results-more",
    recurrence_card: HtmlElement = "recurrence-card",
    rec_sentence: HtmlInputElement = "rec-sentence",
    rec_layer: HtmlSelectElement = "rec-layer",
    rec_head: HtmlSelectElement = "rec-head",
    rec_run: HtmlButtonElement = "rec-run",
    rec_body: HtmlElement = "rec-body",
    rec_prev: HtmlButtonElement = "rec-prev",
    rec_slider: HtmlInputElement = "rec-slider",
    rec_next: HtmlButtonElement = "rec-next",
    rec_token: HtmlElement = "rec-token",
    rec_before: HtmlElement = "rec-before",
    rec_write: HtmlElement = "rec-write",
    rec_after: HtmlElement = "rec-after",
    rec_scales: HtmlElement = "rec-scales",
    rec_scale_bars: HtmlElement = "rec-scale-bars",
    rec_probe: HtmlElement = "rec-probe",
    rec_w: HtmlElement = "rec-w",
    rec_u: HtmlElement = "rec-u",
    rec_out: HtmlElement = "rec-out",
    rec_half_life: HtmlElement = "rec-half-life",
    rec_half_life_note: HtmlElement = "rec-half-life-note",
    rec_half_life_time: HtmlElement = "rec-half-life-time",
    rec_mix: HtmlElement = "rec-mix",
    rec_influence: HtmlElement = "rec-influence",
    rec_check: HtmlButtonElement = "rec-check",
    rec_check_result: HtmlElement = "rec-check-result",
    rec_equations: HtmlElement = "rec-equations",
    attention_card: HtmlElement = "attention-card",
    attention_intro: HtmlElement = "attention-intro",
    attention_body: HtmlElement = "attention-body",
    attention_sentence: HtmlInputElement = "attention-sentence",
    attention_layer: HtmlSelectElement = "attention-layer",
    attention_head: HtmlSelectElement = "attention-head",
    attention_rwkv_layer: HtmlSelectElement = "attention-rwkv-layer",
    attention_rwkv_head: HtmlSelectElement = "attention-rwkv-head",
    attention_run: HtmlButtonElement = "attention-run",
    attention_view: HtmlElement = "attention-view",
    attention_map: HtmlElement = "attention-map",
    attention_map_tokens: HtmlElement = "attention-map-tokens",
    attention_map_scale: HtmlElement = "attention-map-scale",
    attention_influence: HtmlElement = "attention-influence",
    attention_influence_tokens: HtmlElement = "attention-influence-tokens",
    attention_influence_scale: HtmlElement = "attention-influence-scale",
    attention_memory: HtmlElement = "attention-memory",
    attention_text: HtmlElement = "attention-text",
    first_result: HtmlElement = "first-result",
    first_two_models: HtmlElement = "first-two-models",
}

/// The element `#id` as `T`, or `None` (and its id in `bad`).
fn typed<T: JsCast>(doc: &Document, id: &'static str, bad: &mut Vec<&'static str>) -> Option<T> {
    let found = doc
        .get_element_by_id(id)
        .and_then(|e| e.dyn_into::<T>().ok());
    if found.is_none() {
        bad.push(id);
    }
    found
}

thread_local! {
    /// The page's elements, found once by [`init`] (the page lives as long as the thread).
    static PAGE: OnceCell<&'static Page> = const { OnceCell::new() };
}

/// Finds every element once, at start-up.
pub fn init() -> Result<(), String> {
    let doc = document().ok_or("no document: rwkv-lens runs in a browser page")?;
    let page: &'static Page = Box::leak(Box::new(Page::find(&doc)?));
    PAGE.with(|p| {
        let _ = p.set(page);
    });
    Ok(())
}

/// The page's elements ([`init`] ran first: `page::start` calls it before anything else).
pub fn page() -> &'static Page {
    PAGE.with(|p| *p.get().expect("dom::init runs first, at start-up"))
}

/// The error box before (or without) [`init`]: `#error` if there is one, else the console.
pub fn fatal(message: &str) {
    web_sys::console::error_1(&message.into());
    if let Some(e) = document().and_then(|d| d.get_element_by_id("error")) {
        e.set_text_content(Some(message));
        let _ = e.remove_attribute("hidden");
    }
}

pub fn window() -> Option<Window> {
    web_sys::window()
}

pub fn document() -> Option<Document> {
    window()?.document()
}

pub fn set_text(el: &Element, text: &str) {
    el.set_text_content(Some(text));
}

pub fn set_html(el: &Element, html: &str) {
    el.set_inner_html(html);
}

pub fn show(el: &Element, visible: bool) {
    let _ = if visible {
        el.remove_attribute("hidden")
    } else {
        el.set_attribute("hidden", "")
    };
}

/// Sets `data-NAME` on `el` (the end-to-end test reads these).
pub fn data(el: &Element, name: &str, value: &str) {
    let _ = el.set_attribute(&format!("data-{name}"), value);
}

/// Runs `f` on every `event` of `target`, for the page's lifetime.
pub fn on(target: &EventTarget, event: &str, f: impl FnMut(web_sys::Event) + 'static) {
    let closure = Closure::<dyn FnMut(web_sys::Event)>::new(f);
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    closure.forget();
}

/// The number a `<select>` holds (0 when empty).
pub fn picked_number(select: &HtmlSelectElement) -> usize {
    select.value().parse().unwrap_or(0)
}

/// "12.3 MB".
pub fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}
