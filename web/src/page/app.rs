//! The page's state and what each button does. Startup: find the page's elements, start
//! the worker (it probes WebGPU, loads the GloVe table and checks the presets), load the
//! demo model, compare the example pairs, trace the Recurrence view. Every failure lands
//! in the error box at the top; nothing leaves the page blank.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen_futures::spawn_local;
use web_sys::{File, UrlSearchParams};

use rwkv_lens::embed::Pooling;
use rwkv_lens::{Error, Result};

use super::client::ask;
use super::dom::{self, data, on, page, set_text, show};
use super::picker::{self, Source};
use super::{attention_view, compare, pairs, recurrence, view};
use crate::protocol::js::{now_ms, Files};
use crate::protocol::{self as p, ForcedKernels, Loaded, ModelPick, Ready, WebGpuInfo};

struct App {
    webgpu: std::result::Result<WebGpuInfo, String>,
    n_layer: usize,
    last: Option<p::Comparison>,
    busy: bool,
    runs: u32,
}

type Shared = Rc<RefCell<App>>;

/// Entry point: checks the page, wires it, starts the worker and the first run.
pub fn start() {
    if let Err(e) = dom::init() {
        return dom::fatal(&e);
    }
    std::panic::set_hook(Box::new(|info| {
        view::error(Some(&format!("internal error: {info}").replace('\n', " ")))
    }));
    let app: Shared = Rc::new(RefCell::new(App {
        webgpu: Err("not probed yet".into()),
        n_layer: 0,
        last: None,
        busy: false,
        runs: 0,
    }));
    pairs::init();
    picker::init();
    recurrence::init();
    compare::init();
    wire(&app);
    if let Err(e) = super::client::spawn() {
        return view::error(Some(&e.to_string()));
    }
    spawn_local(async move {
        let query = Query::read();
        let start = p::Start {
            binding_limit: query.number("binding_limit"),
            kernels: ForcedKernels {
                tiled_matmul: query.get("matmul").is_some_and(|v| v == "tiled"),
                wkv_chunk: query.number("wkv_chunk"),
            },
        };
        match ask(start, Files::default()).await {
            Ok(ready) => ready_page(&app, ready),
            Err(e) => return view::error(Some(&e.to_string())),
        }
        if load_and_compare(&app, ModelPick::Demo, Source::Demo, None).await {
            set_text(&page().first_result, &format!("{:.0}", now_ms()));
        }
    });
}

/// The page's query string (`?binding_limit=…&matmul=…&wkv_chunk=…`), percent-decoded.
struct Query(Option<UrlSearchParams>);

impl Query {
    fn read() -> Query {
        let search = dom::window().and_then(|w| w.location().search().ok());
        Query(search.and_then(|s| UrlSearchParams::new_with_str(&s).ok()))
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0.as_ref()?.get(name)
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        self.get(name)?.trim().parse().ok()
    }
}

/// What the worker found at start: the engine line, the presets for this device, GloVe.
fn ready_page(app: &Shared, ready: Ready) {
    view::engine_line(&ready.webgpu, None);
    picker::presets(ready.presets);
    spawn_local(picker::render_cached());
    let glove = match ready.glove {
        Ok(n) => format!("Dashed lines: GloVe 6B 50d average-word-vector similarity ({n} most frequent words, 8-bit)."),
        Err(e) => format!("GloVe reference line unavailable: {e}"),
    };
    set_text(&page().glove_line, &glove);
    // the CPU fallback keeps f32 weights: the GPU weight format does not apply there
    show(&page().weights_label, ready.webgpu.is_ok());
    app.borrow_mut().webgpu = ready.webgpu;
}

fn report(r: Result<()>) {
    if let Err(e) = r {
        view::error(Some(&e.to_string()));
    }
}

/// One click: load the picked model, compare the pairs with it, trace the Recurrence
/// view; `true` when the comparison ran.
async fn load_and_compare(
    app: &Shared,
    model: ModelPick,
    from: Source,
    file: Option<File>,
) -> bool {
    let loaded = load_model(app, model, file).await;
    picker::loaded(from, loaded.is_ok());
    let r = match loaded {
        Ok(()) => run_compare(app).await,
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
    let pg = page();
    let a = app.clone();
    on(&pg.compare, "click", move |_| {
        let a = a.clone();
        spawn_local(async move { report(run_compare(&a).await) });
    });
    let a = app.clone();
    on(&pg.load, "click", move |_| {
        let a = a.clone();
        spawn_local(async move {
            match picker::picked_model() {
                Ok((model, from, file)) => {
                    load_and_compare(&a, model, from, file).await;
                }
                Err(e) => report(Err(e)),
            }
        });
    });
    let a = app.clone();
    on(&pg.pooling, "change", move |_| {
        let app = a.borrow();
        if let Some(c) = &app.last {
            compare::show(c, app.n_layer, pooling(), app.runs);
        }
    });
    on(&pg.add_pair, "click", |_| pairs::add("", ""));
    on(&pg.cancel, "click", |_| super::client::cancel());
    let retrace: [(&web_sys::EventTarget, &str); 3] = [
        (&pg.rec_run, "click"),
        (&pg.rec_layer, "change"),
        (&pg.rec_head, "change"),
    ];
    for (el, event) in retrace {
        on(el, event, move |_| {
            spawn_local(async { report(trace().await) })
        });
    }
    let a = app.clone();
    on(&pg.attention_add, "click", move |_| {
        let a = a.clone();
        spawn_local(async move { report(add_attention(&a).await) });
    });
    on(&pg.attention_run, "click", |_| {
        spawn_local(async { report(attention_view::show_view().await) })
    });
}

fn pooling() -> Pooling {
    Pooling::parse(&page().pooling.value()).unwrap_or(Pooling::Mean)
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
        Busy::buttons(true);
        Ok(Busy(app.clone()))
    }

    fn buttons(busy: bool) {
        let p = page();
        p.compare.set_disabled(busy);
        p.load.set_disabled(busy);
        show(&p.cancel, busy);
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.borrow_mut().busy = false;
        Busy::buttons(false);
        view::progress_done();
    }
}

/// Asks the worker to load a model; the old one stays until the new one works.
async fn load_model(app: &Shared, model: ModelPick, file: Option<File>) -> Result<()> {
    let _busy = Busy::take(app)?;
    view::error(None);
    view::warning(None);
    view::status("loading model…");
    let (tokenizer, tokenizer_file) = picker::picked_tokenizer()?;
    let weights = p::WeightFormat::parse(&page().weights.value());
    let load = p::Load {
        model,
        tokenizer,
        weights,
    };
    let files = Files {
        model: file,
        tokenizer: tokenizer_file,
    };
    let result = ask(load, files).await;
    spawn_local(picker::render_cached());
    match result {
        Ok(loaded) => {
            model_ready(app, &loaded);
            Ok(())
        }
        Err(e) => {
            view::status("");
            Err(e)
        }
    }
}

/// Shows what the worker loaded.
fn model_ready(app: &Shared, l: &Loaded) {
    let pg = page();
    view::engine_line(&app.borrow().webgpu, Some(&l.engine));
    if let Some(w) = &l.warning {
        view::warning(Some(w));
    }
    recurrence::model_loaded(l.n_layer, l.n_head, l.demo);
    attention_view::rwkv_loaded(l.n_layer, l.n_head);
    set_text(&pg.tokenizer_name, &format!("tokenizer: {}", l.tokenizer));
    data(&pg.model_card, "wasm-bytes", &l.wasm_bytes.to_string());
    view::status("model ready: press Compare");
    let mut a = app.borrow_mut();
    a.n_layer = l.n_layer;
    a.last = None;
}

/// Sends the pairs to the worker and renders what comes back.
async fn run_compare(app: &Shared) -> Result<()> {
    let _busy = Busy::take(app)?;
    view::error(None);
    let pairs = pairs::read()?;
    let comparison = match ask(p::Compare { pairs }, Files::default()).await {
        Ok(c) => c,
        Err(e) => {
            view::status("");
            return Err(e);
        }
    };
    let mut a = app.borrow_mut();
    a.runs += 1;
    compare::show(&comparison, a.n_layer, pooling(), a.runs);
    view::status("");
    a.last = Some(comparison);
    Ok(())
}

/// Traces the Recurrence view's sentence (in the worker) and shows token 0.
async fn trace() -> Result<()> {
    let traced = ask(recurrence::request(), Files::default()).await?;
    recurrence::show_trace(rwkv_lens::trace::from_json(&traced.json)?);
    data(
        &page().recurrence_card,
        "wasm-bytes",
        &traced.wasm_bytes.to_string(),
    );
    Ok(())
}

/// Loads an attention model beside the RWKV (the bundled MiniLM, a folder URL or files), then
/// compares the pairs with every model and draws the "Attention vs recurrence" view.
async fn add_attention(app: &Shared) -> Result<()> {
    {
        let _busy = Busy::take(app)?;
        view::error(None);
        attention_view::add().await?;
    }
    run_compare(app).await?;
    attention_view::show_view().await?;
    let first = &page().first_two_models;
    if first.text_content().unwrap_or_default() == "…" {
        set_text(first, &format!("{:.0}", now_ms()));
    }
    Ok(())
}
