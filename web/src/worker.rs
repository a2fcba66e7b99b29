//! The Web Worker's side: it owns loading and both engines ([`Session`]), so a long load
//! or Compare never blocks the page. `worker.js` imports the same wasm-bindgen output as
//! the page; `main` sees it runs in a worker and calls [`start`].
//!
//! Requests are queued and run one at a time, in order (the page matches each final
//! reply to its oldest open request). `Cancel` skips the queue: it sets the flag that
//! the running load or Compare checks between download chunks, tensors and pairs.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{DedicatedWorkerGlobalScope, File, MessageEvent};

use crate::dom::get;
use crate::protocol::{self, Reply, Request, MODEL_FILE, TOKENIZER_FILE};
use crate::session::{tokenizer_source, Session};

/// A request and the files that came with it.
struct Job {
    request: Request,
    model_file: Option<File>,
    tokenizer_file: Option<File>,
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
            message: format!("internal error: {info}"),
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
    let data = event.data();
    let file = |key: &str| get(&data, key).dyn_into::<File>().ok();
    let json = get(&data, protocol::JSON).as_string().unwrap_or_default();
    let request = match protocol::from_json::<Request>(&json) {
        Ok(r) => r,
        Err(message) => return post(&Reply::Error { message }),
    };
    if request == Request::Cancel {
        return crate::dom::request_cancel(true);
    }
    QUEUE.with(|q| {
        q.borrow_mut().push_back(Job {
            request,
            model_file: file(MODEL_FILE),
            tokenizer_file: file(TOKENIZER_FILE),
        })
    });
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
    if let Request::Start {
        binding_limit,
        kernels,
    } = job.request
    {
        return match Session::start(binding_limit, kernels).await {
            Ok((session, ready)) => {
                SESSION.with(|s| *s.borrow_mut() = Some(session));
                ready
            }
            Err(e) => error(e),
        };
    }
    let Some(mut session) = SESSION.with(|s| s.borrow_mut().take()) else {
        return Reply::Error {
            message: "the worker has not started".into(),
        };
    };
    crate::dom::request_cancel(false);
    let reply = run_with(&mut session, job).await;
    SESSION.with(|s| *s.borrow_mut() = Some(session));
    reply
}

fn error(e: rwkv_lens::Error) -> Reply {
    Reply::Error {
        message: e.to_string(),
    }
}

async fn run_with(session: &mut Session, job: Job) -> Reply {
    let progress = |r: Reply| post(&r);
    match job.request {
        Request::Load {
            model,
            tokenizer,
            weights,
        } => {
            let tokenizer = tokenizer_source(tokenizer, job.tokenizer_file);
            let r = session.load(model, job.model_file, (tokenizer, weights), &progress);
            r.await.map_or_else(error, Reply::Loaded)
        }
        Request::Compare { pairs } => {
            let r = session.compare(&pairs, &progress).await;
            r.map_or_else(error, Reply::Compared)
        }
        Request::Trace {
            sentence,
            layer,
            head,
        } => session
            .trace(&sentence, layer, head)
            .await
            .map_or_else(error, |json| Reply::Traced {
                json,
                wasm_bytes: crate::dom::wasm_memory_bytes(),
            }),
        Request::AddModel { model } => {
            let files = (job.model_file, job.tokenizer_file);
            match crate::duo::load(model, files, &progress).await {
                Ok(m) => {
                    let added = m.added();
                    session.attention.retain(|old| old.label != m.label);
                    session.attention.push(m);
                    Reply::Added(added)
                }
                Err(e) => error(e),
            }
        }
        Request::Attend {
            sentence,
            layer,
            head,
        } => match session.attention.last() {
            Some(m) => m
                .attend(&sentence, layer, head)
                .map_or_else(error, Reply::Attended),
            None => Reply::Error {
                message: "no attention model loaded yet: press “Add MiniLM” first".into(),
            },
        },
        Request::Start { .. } | Request::Cancel => Reply::Error {
            message: "the worker got Start or Cancel as a job".into(),
        },
    }
}
