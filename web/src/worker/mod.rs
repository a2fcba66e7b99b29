//! The Web Worker: it owns loading, streaming, tokenizers and every engine
//! ([`session::Session`]), so a long load or Compare never blocks the page. `worker.js`
//! imports the same wasm-bindgen output as the page; `main` sees it runs in a worker and
//! calls [`start`]. It imports [`crate::protocol`] and nothing of [`crate::page`].
//!
//! Requests are queued and run one at a time, in order (the page matches each final
//! reply to its oldest open request). `Cancel` skips the queue: it sets the flag that
//! the running load or Compare checks between download chunks, tensors and pairs.
//!
//! Pure parts (tested natively): [`header`] (safetensors header → summary and limits),
//! [`presets`] (real checkpoints, checked before download), [`card`] (what the page is
//! told about a model or preset), [`glove`] (the reference line), [`compare`] (cosines
//! per layer). Browser parts (wasm32 only): [`session`] (what the worker holds, its jobs),
//! [`backend`] (WebGPU probe, engine choice), [`loader`] (fetch with progress, range
//! requests, Cache API), [`stream`] (the header, then the engine built tensor by tensor),
//! [`archive`] (`.pth` from a blob), [`tokens`] (which tokenizer), [`attention`] (the
//! attention models beside the RWKV), [`js`] (global-scope helpers).

pub mod card;
pub mod compare;
pub mod glove;
pub mod header;
pub mod presets;

#[cfg(target_arch = "wasm32")]
pub mod archive;
#[cfg(target_arch = "wasm32")]
pub mod attention;
#[cfg(target_arch = "wasm32")]
pub mod backend;
#[cfg(target_arch = "wasm32")]
pub mod js;
#[cfg(target_arch = "wasm32")]
pub mod loader;
#[cfg(target_arch = "wasm32")]
pub mod session;
#[cfg(target_arch = "wasm32")]
pub mod stream;
#[cfg(target_arch = "wasm32")]
pub mod tokens;

#[cfg(target_arch = "wasm32")]
pub use queue::{post, start};

#[cfg(target_arch = "wasm32")]
mod queue {
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;

    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::spawn_local;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    use crate::protocol::js::{self as wire, Files};
    use crate::protocol::{self, Ask, Reply, Request};

    use super::js::{request_cancel, wasm_memory_bytes};
    use super::session::Session;

    /// A request and the files that came with it.
    struct Job {
        request: Request,
        files: Files,
    }

    thread_local! {
        static QUEUE: RefCell<VecDeque<Job>> = const { RefCell::new(VecDeque::new()) };
        static RUNNING: Cell<bool> = const { Cell::new(false) };
        /// Taken out for the length of a job (jobs run one at a time).
        static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
    }

    /// Entry point in the worker: answer messages from the page.
    pub fn start() {
        std::panic::set_hook(Box::new(|info| {
            post(&Reply::Error {
                message: format!("internal error: {info}").replace('\n', " "),
            })
        }));
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(receive);
        scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
    }

    fn scope() -> DedicatedWorkerGlobalScope {
        js_sys::global().unchecked_into()
    }

    /// Sends one reply to the page (a JSON string).
    pub fn post(reply: &Reply) {
        let _ = scope().post_message(&JsValue::from_str(&protocol::to_json(reply)));
    }

    fn receive(event: MessageEvent) {
        let (json, files) = wire::open(&event.data());
        let request = match protocol::from_json::<Request>(&json) {
            Ok(r) => r,
            Err(message) => return post(&Reply::Error { message }),
        };
        if request == Request::Cancel {
            return request_cancel(true);
        }
        QUEUE.with(|q| q.borrow_mut().push_back(Job { request, files }));
        if !RUNNING.with(|r| r.replace(true)) {
            spawn_local(drain());
        }
    }

    /// Runs the queued jobs in order until none is left.
    async fn drain() {
        while let Some(job) = QUEUE.with(|q| q.borrow_mut().pop_front()) {
            let reply = run(job).await;
            post(&reply);
        }
        RUNNING.with(|r| r.set(false));
    }

    async fn run(job: Job) -> Reply {
        if let Request::Start(start) = job.request {
            return match Session::start(start).await {
                Ok((session, ready)) => {
                    SESSION.with(|s| *s.borrow_mut() = Some(session));
                    crate::protocol::Start::reply(ready)
                }
                Err(e) => error(e),
            };
        }
        let Some(mut session) = SESSION.with(|s| s.borrow_mut().take()) else {
            return Reply::Error {
                message: "the worker has not started".into(),
            };
        };
        request_cancel(false);
        let reply = run_with(&mut session, job).await;
        SESSION.with(|s| *s.borrow_mut() = Some(session));
        reply
    }

    fn error(e: rwkv_lens::Error) -> Reply {
        Reply::Error {
            message: e.to_string(),
        }
    }

    /// The reply answering request type `A`, or the error in one line.
    fn answer<A: Ask>(result: rwkv_lens::Result<A::Answer>) -> Reply {
        result.map_or_else(error, A::reply)
    }

    async fn run_with(session: &mut Session, job: Job) -> Reply {
        use crate::protocol as p;
        let progress = |r: Reply| post(&r);
        match job.request {
            Request::Load(load) => {
                answer::<p::Load>(session.load(load, job.files, &progress).await)
            }
            Request::Compare(c) => answer::<p::Compare>(session.compare(&c.pairs, &progress).await),
            Request::Trace(t) => {
                answer::<p::Trace>(session.trace(&t).await.map(|json| p::Traced {
                    json,
                    wasm_bytes: wasm_memory_bytes(),
                }))
            }
            Request::AddModel(add) => {
                answer::<p::AddModel>(session.add_model(add.model, job.files, &progress).await)
            }
            Request::Attend(a) => answer::<p::Attend>(session.attend(&a)),
            Request::ListCached(_) => answer::<p::ListCached>(super::loader::cached_models().await),
            Request::Uncache(u) => {
                let left = super::loader::delete_cached(&u.url).await;
                answer::<p::Uncache>(match left {
                    Ok(()) => super::loader::cached_models().await,
                    Err(e) => Err(e),
                })
            }
            Request::Start(_) | Request::Cancel => Reply::Error {
                message: "the worker got Start or Cancel as a job".into(),
            },
        }
    }
}
