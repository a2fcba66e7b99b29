//! Small DOM and JS helpers: element lookup, text, events (the page only); promises,
//! yielding, the clock, `fetch` and the Cache API through the global scope (the page and
//! its worker alike).

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CacheStorage, Document, Element, HtmlElement, Request, Window};

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout` (window or worker).
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(f: &js_sys::Function) -> JsValue;
    /// The global `performance.now()` (window or worker).
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
    /// The global `fetch` (window or worker).
    #[wasm_bindgen(js_name = fetch)]
    pub fn fetch_request(request: &Request) -> Promise;
}

/// Whether this code runs in the page (not in its worker).
pub fn in_window() -> bool {
    js_sys::global().dyn_ref::<Window>().is_some()
}

/// The global Cache API (window or worker); `None` where there is none (not a secure context).
pub fn caches() -> Option<CacheStorage> {
    let c = get(&js_sys::global(), "caches");
    (!c.is_undefined() && !c.is_null()).then(|| c.unchecked_into())
}

use rwkv_lens::{Error, Result};

pub fn window() -> Window {
    web_sys::window().expect("running in a browser window")
}

pub fn document() -> Document {
    window().document().expect("the window has a document")
}

/// The element with this id, as type `T` (a missing id is a bug in index.html).
pub fn by_id<T: JsCast>(id: &str) -> T {
    document()
        .get_element_by_id(id)
        .unwrap_or_else(|| panic!("index.html has no element #{id}"))
        .dyn_into::<T>()
        .unwrap_or_else(|_| panic!("#{id} is not the expected element type"))
}

pub fn set_text(id: &str, text: &str) {
    by_id::<Element>(id).set_text_content(Some(text));
}

pub fn set_html(id: &str, html: &str) {
    by_id::<Element>(id).set_inner_html(html);
}

pub fn show(id: &str, visible: bool) {
    let el = by_id::<HtmlElement>(id);
    let _ = if visible {
        el.remove_attribute("hidden")
    } else {
        el.set_attribute("hidden", "")
    };
}

/// Runs `f` on every `event` of `target`, for the page's lifetime.
pub fn on(target: &web_sys::EventTarget, event: &str, f: impl FnMut(web_sys::Event) + 'static) {
    let closure = Closure::<dyn FnMut(web_sys::Event)>::new(f);
    target
        .add_event_listener_with_callback(event, closure.as_ref().unchecked_ref())
        .expect("addEventListener");
    closure.forget();
}

pub fn on_id(id: &str, event: &str, f: impl FnMut(web_sys::Event) + 'static) {
    on(&by_id::<web_sys::EventTarget>(id), event, f);
}

pub use rwkv_lens::kit::svg::escape;

/// A JS exception or rejection as one line of text.
pub fn js_message(e: &JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    e.as_string().unwrap_or_else(|| format!("{e:?}"))
}

/// Awaits a promise, turning a rejection into an [`Error`] with `context`.
pub async fn await_js(promise: Promise, context: &str) -> Result<JsValue> {
    JsFuture::from(promise)
        .await
        .map_err(|e| Error::input(format!("{context}: {}", js_message(&e))))
}

/// `obj[key]` (undefined when absent).
pub fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// Lets the browser paint and handle input before continuing (a `setTimeout(0)`).
pub async fn yield_now() {
    let promise = Promise::new(&mut |resolve, _| {
        set_timeout(&resolve);
    });
    let _ = JsFuture::from(promise).await;
}

/// Milliseconds since the page (or the worker) started.
pub fn now_ms() -> f64 {
    performance_now()
}

/// "12.3 MB".
pub fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

thread_local! {
    /// Set by a Cancel message (in the worker); read (and cleared) by the loops of a load or a run.
    static CANCEL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Asks the running load or Compare to stop at its next step.
pub fn request_cancel(on: bool) {
    CANCEL.with(|c| c.set(on));
}

/// `Err("WHAT cancelled")` once Cancel was pressed (the flag is cleared).
pub fn check_cancel(what: &str) -> Result<()> {
    if CANCEL.with(|c| c.replace(false)) {
        return Err(Error::input(format!("{what} cancelled")));
    }
    Ok(())
}

/// Bytes of the wasm linear memory: it only grows, so this is the high-water mark.
pub fn wasm_memory_bytes() -> u32 {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    memory
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length()
}
