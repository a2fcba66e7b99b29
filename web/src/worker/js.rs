//! The worker's global-scope helpers: `fetch` and the Cache API, yielding to the event
//! loop, the Cancel flag, the wasm memory's size. (What both threads use lives in
//! `protocol::js`.)

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CacheStorage, Request};

use rwkv_lens::{Error, Result};

use crate::protocol::js::get;

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout`.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(f: &js_sys::Function) -> JsValue;
    /// The global `fetch`.
    #[wasm_bindgen(js_name = fetch)]
    pub fn fetch_request(request: &Request) -> Promise;
}

/// The global Cache API; `None` where there is none (not a secure context).
pub fn caches() -> Option<CacheStorage> {
    let c = get(&js_sys::global(), "caches");
    (!c.is_undefined() && !c.is_null()).then(|| c.unchecked_into())
}

/// Lets the worker read its messages (a Cancel) before continuing (a `setTimeout(0)`).
pub async fn yield_now() {
    let promise = Promise::new(&mut |resolve, _| {
        set_timeout(&resolve);
    });
    let _ = JsFuture::from(promise).await;
}

thread_local! {
    /// Set by a Cancel message; read (and cleared) by the loops of a load or a run.
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
