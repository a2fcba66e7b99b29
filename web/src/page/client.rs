//! The page's side of its Web Worker: spawns it (`worker.js` with the URLs of this
//! page's wasm-bindgen output) and asks it things. [`ask`] sends one request and returns
//! the data of the reply that answers it, typed by the request ([`Ask`]); a
//! [`Reply::Error`] becomes `Err` with the worker's one line. Progress and the model card
//! are shown as they arrive; each final reply resolves the oldest open request (the
//! worker runs requests one at a time, in order).

use std::cell::RefCell;
use std::collections::VecDeque;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

use rwkv_lens::{Error, Result};

use super::dom::document;
use super::view;
use crate::protocol::js::{envelope, get, message, Files};
use crate::protocol::{self, Ask, Reply, Request, Stage};

thread_local! {
    static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
    /// The `resolve` of each open request, oldest first.
    static WAITING: RefCell<VecDeque<Function>> = const { RefCell::new(VecDeque::new()) };
}

/// The `href` of the first element matching `selector` (trunk's preload links).
fn link(selector: &str) -> Result<String> {
    let el = document().and_then(|d| d.query_selector(selector).ok().flatten());
    el.and_then(|e| get(&e, "href").as_string()).ok_or_else(|| {
        Error::input(format!(
            "index.html has no {selector}: cannot start the worker"
        ))
    })
}

/// Starts the worker; its failures (a script that does not load) land in the error box.
pub fn spawn() -> Result<()> {
    let glue = link("link[rel=modulepreload]")?;
    let wasm = link("link[rel=preload][type='application/wasm']")?;
    let url = format!(
        "worker.js?glue={}&wasm={}",
        js_sys::encode_uri_component(&glue),
        js_sys::encode_uri_component(&wasm)
    );
    let opts = WorkerOptions::new();
    opts.set_type(WorkerType::Module);
    let worker = Worker::new_with_options(&url, &opts)
        .map_err(|e| Error::input(format!("cannot start the worker: {}", message(&e))))?;
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|e: MessageEvent| {
        let text = e.data().as_string().unwrap_or_default();
        match protocol::from_json::<Reply>(&text) {
            Ok(reply) if reply.is_final() => resolve_oldest(&text),
            Ok(reply) => show(reply),
            Err(message) => resolve_oldest(&protocol::to_json(&Reply::Error { message })),
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(|e: web_sys::Event| {
        // a script that does not load fires a plain Event, an exception an ErrorEvent
        let why = get(&e, "message")
            .as_string()
            .unwrap_or_else(|| "its script (worker.js or the wasm) did not load".into());
        let message = format!("the worker failed: {why}");
        view::error(Some(&message));
        // every open request ends with this error
        while WAITING.with(|w| !w.borrow().is_empty()) {
            resolve_oldest(&protocol::to_json(&Reply::Error {
                message: message.clone(),
            }));
        }
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    WORKER.with(|w| *w.borrow_mut() = Some(worker));
    Ok(())
}

/// Ends the oldest open request with this final reply. An error no request waits for (a
/// panic in the worker between requests: its hook posts the message) goes to the error box.
fn resolve_oldest(json: &str) {
    match WAITING.with(|w| w.borrow_mut().pop_front()) {
        Some(resolve) => {
            let _ = resolve.call1(&JsValue::NULL, &JsValue::from_str(json));
        }
        None => {
            if let Ok(Reply::Error { message }) = protocol::from_json::<Reply>(json) {
                view::error(Some(&message));
            }
        }
    }
}

/// Progress and the model card, shown while a request runs.
fn show(reply: Reply) {
    match reply {
        Reply::Progress { stage, done, total } => {
            let text = stage.describe(done, total);
            view::progress(done, total, &text);
            if stage == Stage::Compare {
                view::status(&text);
            }
        }
        Reply::Card(card) => view::card(&card),
        _ => {}
    }
}

fn post(request: &Request, files: &Files) -> Result<()> {
    let msg = envelope(&protocol::to_json(request), files)?;
    WORKER.with(|w| match w.borrow().as_ref() {
        Some(worker) => (worker.post_message(&msg))
            .map_err(|e| Error::input(format!("message to the worker: {}", message(&e)))),
        None => Err(Error::input("the worker is not running")),
    })
}

/// Tells the worker to stop its running load or Compare (answered by that request's
/// `Error { "… cancelled" }`).
pub fn cancel() {
    if let Err(e) = post(&Request::Cancel, &Files::default()) {
        view::error(Some(&e.to_string()));
    }
}

/// Sends a request (with the files it needs) and waits for the reply that answers it.
pub async fn ask<A: Ask>(request: A, files: Files) -> Result<A::Answer> {
    let request: Request = request.into();
    let promise = Promise::new(&mut |resolve, _| {
        WAITING.with(|w| w.borrow_mut().push_back(resolve));
    });
    if let Err(e) = post(&request, &files) {
        WAITING.with(|w| w.borrow_mut().pop_back());
        return Err(e);
    }
    let text = JsFuture::from(promise)
        .await
        .map_err(|e| Error::input(message(&e)))?
        .as_string()
        .unwrap_or_default();
    if matches!(request, Request::Trace(_)) {
        // a trace beside the GPU engine reads tensors (progress) outside any Busy guard
        view::progress_done();
    }
    match protocol::from_json::<Reply>(&text).map_err(Error::input)? {
        Reply::Error { message } => Err(Error::input(message)),
        reply => A::answer(reply).map_err(|other| {
            Error::input(format!(
                "the worker answered with {other}, not the reply asked for"
            ))
        }),
    }
}
