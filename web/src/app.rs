//! The page (main thread): its state and what each button does. It only does the UI:
//! loading and both engines live in the Web Worker ([`crate::worker`]), reached through
//! [`crate::client`]. Startup: start the worker (it probes WebGPU and loads the GloVe
//! table), load the demo model, compare the example pairs, trace the Recurrence view.
//! Every failure lands in the error box at the top; nothing leaves the page blank.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{File, HtmlInputElement, HtmlSelectElement};

use rwkv_lens::embed::Pooling;
use rwkv_lens::{Error, Result};

use crate::backend::WebGpuInfo;
use crate::client::request;
use crate::compare::Comparison;
use crate::dom::{by_id, now_ms, on_id};
use crate::protocol::{Loaded, ModelPick, Reply, Request, TokenizerPick, WeightFormat};
use crate::tokens::TokenizerSource;
use crate::{pairs, view};

struct App {
    webgpu: std::result::Result<WebGpuInfo, String>,
    n_layer: usize,
    last: Option<Comparison>,
    busy: bool,
    runs: u32,
}

type Shared = Rc<RefCell<App>>;

/// Entry point: wires the page, starts the worker and the first run.
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        view::error(Some(&format!("internal error: {info}")))
    }));
    let app: Shared = Rc::new(RefCell::new(App {
        webgpu: Err("not probed yet".into()),
        n_layer: 0,
        last: None,
        busy: false,
        runs: 0,
    }));
    pairs::init();
    crate::recurrence::init();
    wire(&app);
    if let Err(e) = crate::client::spawn() {
        return view::error(Some(&e.to_string()));
    }
    spawn_local(async move {
        let binding_limit = query_param("binding_limit").and_then(|v| v.parse().ok());
        let kernels = crate::protocol::ForcedKernels {
            tiled_matmul: query_param("matmul").is_some_and(|v| v == "tiled"),
            wkv_chunk: query_param("wkv_chunk").and_then(|v| v.parse().ok()),
        };
        let start = Request::Start {
            binding_limit,
            kernels,
        };
        let ready = match request(&start, None, None).await {
            Ok(r) => r,
            Err(e) => return view::error(Some(&e.to_string())),
        };
        if let Reply::Ready { webgpu, glove } = ready {
            ready_page(&app, webgpu, glove, binding_limit);
        }
        let ran = load_and_compare(&app, ModelPick::Demo, None).await;
        if ran {
            let t = now_ms();
            crate::dom::set_text("first-result", &format!("{t:.0}"));
        }
    });
}

/// What the worker found at start: the engine line, the presets for this device, GloVe.
fn ready_page(
    app: &Shared,
    webgpu: std::result::Result<WebGpuInfo, String>,
    glove: std::result::Result<usize, String>,
    forced: Option<u64>,
) {
    view::engine_line(&webgpu, None);
    let binding = webgpu.as_ref().ok().map(|i| {
        let device = i.max_binding as u64;
        forced.map_or(device, |f| f.min(device))
    });
    crate::models::init(binding);
    crate::dom::set_text(
        "glove-line",
        &match glove {
            Ok(n) => format!("Dashed lines: GloVe 6B 50d average-word-vector similarity ({n} most frequent words, 8-bit)."),
            Err(e) => format!("GloVe reference line unavailable: {e}"),
        },
    );
    app.borrow_mut().webgpu = webgpu;
}

/// A `?name=value` parameter of the page's URL.
fn query_param(name: &str) -> Option<String> {
    let search = crate::dom::window().location().search().ok()?;
    search.trim_start_matches('?').split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

fn report(r: Result<()>) {
    if let Err(e) = r {
        view::error(Some(&e.to_string()));
    }
}

/// One click: load the picked model, compare the pairs with it, trace the Recurrence
/// view; `true` when the comparison ran.
async fn load_and_compare(app: &Shared, model: ModelPick, file: Option<File>) -> bool {
    let r = match load_model(app, model, file).await {
        Ok(()) => compare(app).await,
        Err(e) => Err(e),
    };
    let ok = r.is_ok();
    report(r);
    if ok {
        report(trace().await);
    }
    ok
}

fn wire(app: &Shared) {
    let a = app.clone();
    on_id("compare", "click", move |_| {
        let a = a.clone();
        spawn_local(async move { report(compare(&a).await) });
    });
    let a = app.clone();
    on_id("load", "click", move |_| {
        let a = a.clone();
        spawn_local(async move {
            match picked_source() {
                Ok((model, file)) => {
                    load_and_compare(&a, model, file).await;
                }
                Err(e) => report(Err(e)),
            }
        });
    });
    let a = app.clone();
    on_id("pooling", "change", move |_| {
        let app = a.borrow();
        if let Some(c) = &app.last {
            view::results(c, app.n_layer, pooling(), app.runs);
        }
    });
    on_id("add-pair", "click", |_| pairs::add("", ""));
    on_id("cancel", "click", |_| crate::client::cancel());
    for (id, event) in [
        ("rec-run", "click"),
        ("rec-layer", "change"),
        ("rec-head", "change"),
    ] {
        on_id(id, event, move |_| {
            spawn_local(async { report(trace().await) })
        });
    }
    let a = app.clone();
    on_id("duo-add", "click", move |_| {
        let a = a.clone();
        spawn_local(async move { report(add_attention(&a).await) });
    });
    on_id("duo-run", "click", |_| {
        spawn_local(async { report(crate::duo_page::show_view().await) })
    });
    on_id("model-file", "change", |_| select_source("file"));
    on_id("model-url", "input", |_| select_source("url"));
}

pub fn select_source(value: &str) {
    let doc = crate::dom::document();
    if let Ok(Some(el)) = doc.query_selector(&format!("input[name=source][value={value}]")) {
        if let Ok(radio) = el.dyn_into::<HtmlInputElement>() {
            radio.set_checked(true);
        }
    }
}

fn picked_source() -> Result<(ModelPick, Option<File>)> {
    let doc = crate::dom::document();
    let checked = doc
        .query_selector("input[name=source]:checked")
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
        .map_or("demo".to_string(), |e| e.value());
    match checked.as_str() {
        "file" => by_id::<HtmlInputElement>("model-file")
            .files()
            .and_then(|f| f.get(0))
            .map(|f| (ModelPick::File, Some(f)))
            .ok_or_else(|| Error::input("choose a .safetensors or .pth file first")),
        "url" => {
            let url = by_id::<HtmlInputElement>("model-url")
                .value()
                .trim()
                .to_string();
            if url.is_empty() {
                return Err(Error::input(
                    "enter the URL of a .safetensors or .pth file first",
                ));
            }
            Ok((ModelPick::Url(url), None))
        }
        _ => Ok((ModelPick::Demo, None)),
    }
}

fn pooling() -> Pooling {
    Pooling::parse(&by_id::<HtmlSelectElement>("pooling").value()).unwrap_or(Pooling::Mean)
}

/// Marks the app busy for the life of the guard (one load or run at a time).
struct Busy(Shared);

impl Busy {
    fn take(app: &Shared) -> Result<Busy> {
        let mut a = app.borrow_mut();
        if a.busy {
            return Err(Error::input(
                "busy: wait for the current load or run to finish",
            ));
        }
        a.busy = true;
        for id in ["compare", "load"] {
            by_id::<web_sys::HtmlButtonElement>(id).set_disabled(true);
        }
        crate::dom::show("cancel", true);
        Ok(Busy(app.clone()))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.borrow_mut().busy = false;
        for id in ["compare", "load"] {
            by_id::<web_sys::HtmlButtonElement>(id).set_disabled(false);
        }
        crate::dom::show("cancel", false);
        view::progress_done();
    }
}

/// Asks the worker to load a model; the old one stays until the new one works.
async fn load_model(app: &Shared, model: ModelPick, file: Option<File>) -> Result<()> {
    let _busy = Busy::take(app)?;
    view::error(None);
    view::warning(None);
    view::status("loading model…");
    let (tokenizer, tokenizer_file) = match crate::tokens::picked() {
        TokenizerSource::Auto => (TokenizerPick::Auto, None),
        TokenizerSource::File(f) => (TokenizerPick::File, Some(f)),
        TokenizerSource::Url(u) => (TokenizerPick::Url(u), None),
    };
    let weights = WeightFormat::parse(&by_id::<web_sys::HtmlSelectElement>("weights").value());
    let req = Request::Load {
        model,
        tokenizer,
        weights,
    };
    let result = request(&req, file.as_ref(), tokenizer_file.as_ref()).await;
    spawn_local(crate::models::render_cached());
    let loaded = match result {
        Ok(Reply::Loaded(l)) => l,
        Ok(_) => return Err(Error::input("the worker answered Load with another reply")),
        Err(e) => {
            view::status("");
            return Err(e);
        }
    };
    model_ready(app, &loaded);
    Ok(())
}

/// Shows what the worker loaded.
fn model_ready(app: &Shared, l: &Loaded) {
    view::engine_line(&app.borrow().webgpu, Some(&l.engine));
    if let Some(w) = &l.warning {
        view::warning(Some(w));
    }
    crate::recurrence::model_loaded(l.n_layer, l.n_head, l.demo);
    crate::duo_page::rwkv_loaded(l.n_layer, l.n_head);
    crate::dom::set_text("tokenizer-name", &format!("tokenizer: {}", l.tokenizer));
    let card = by_id::<web_sys::Element>("model-card");
    let _ = card.set_attribute("data-wasm-bytes", &l.wasm_bytes.to_string());
    view::status("model ready: press Compare");
    let mut a = app.borrow_mut();
    a.n_layer = l.n_layer;
    a.last = None;
}

/// Sends the pairs to the worker and renders what comes back.
async fn compare(app: &Shared) -> Result<()> {
    let _busy = Busy::take(app)?;
    view::error(None);
    let pairs = pairs::read()?;
    let comparison = match request(&Request::Compare { pairs }, None, None).await {
        Ok(Reply::Compared(c)) => c,
        Ok(_) => {
            return Err(Error::input(
                "the worker answered Compare with another reply",
            ))
        }
        Err(e) => {
            view::status("");
            return Err(e);
        }
    };
    let mut a = app.borrow_mut();
    a.runs += 1;
    view::results(&comparison, a.n_layer, pooling(), a.runs);
    view::status("");
    a.last = Some(comparison);
    Ok(())
}

/// Traces the Recurrence view's sentence (in the worker) and shows token 0.
async fn trace() -> Result<()> {
    let req = crate::recurrence::request();
    match request(&req, None, None).await? {
        Reply::Traced { json, wasm_bytes } => {
            crate::recurrence::show_trace(rwkv_lens::trace::from_json(&json)?)?;
            let card = by_id::<web_sys::Element>("recurrence-card");
            let _ = card.set_attribute("data-wasm-bytes", &wasm_bytes.to_string());
            Ok(())
        }
        _ => Err(Error::input("the worker answered Trace with another reply")),
    }
}

/// Loads an attention model beside the RWKV (the bundled MiniLM, a folder URL or files), then
/// compares the pairs with every model and draws the "Attention vs recurrence" view.
async fn add_attention(app: &Shared) -> Result<()> {
    {
        let _busy = Busy::take(app)?;
        view::error(None);
        crate::duo_page::add().await?;
    }
    compare(app).await?;
    crate::duo_page::show_view().await?;
    let t = now_ms();
    if crate::dom::document()
        .get_element_by_id("first-duo")
        .is_some_and(|e| e.text_content().unwrap_or_default() == "…")
    {
        crate::dom::set_text("first-duo", &format!("{t:.0}"));
    }
    Ok(())
}
