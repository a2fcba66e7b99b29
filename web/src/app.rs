//! The page's state and what each button does. Startup: probe WebGPU, load the GloVe
//! table and the demo model, compare the example pairs. Every failure lands in the
//! error box at the top; nothing leaves the page blank.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement};

use rwkv_lens::embed::Pooling;
use rwkv_lens::tokenizer::Tokenizer;
use rwkv_lens::{Error, Result};

use crate::backend::{probe_webgpu, Backend, WebGpuInfo};
use crate::compare::{pair_cosines, Comparison, PairResult, POOLINGS};
use crate::dom::{by_id, megabytes, now_ms, on_id, yield_now};
use crate::glove::Glove;
use crate::header::check_device_limits;
use crate::loader::{self, ModelFile};
use crate::{pairs, tokens, view};

struct App {
    webgpu: std::result::Result<WebGpuInfo, String>,
    tokenizer: Tokenizer,
    glove: Option<Glove>,
    backend: Option<Backend>,
    n_layer: usize,
    last: Option<Comparison>,
    busy: bool,
    runs: u32,
    /// `?binding_limit=BYTES`: a storage-binding limit below the adapter's (to try the
    /// device-limit checks on any machine; the end-to-end test uses it).
    binding_limit: Option<u64>,
    /// The Recurrence view's weights when the GPU engine runs (the CPU engine's are reused);
    /// `Err` says why there are none (model too large to hold twice).
    trace_weights: std::result::Result<Option<rwkv_lens::reference::Weights>, String>,
}

type Shared = Rc<RefCell<App>>;

/// Entry point: wires the page and starts loading.
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        view::error(Some(&format!("internal error: {info}")))
    }));
    let tokenizer = match Tokenizer::from_spec("world") {
        Ok(t) => t,
        Err(e) => return view::error(Some(&e.to_string())),
    };
    let app: Shared = Rc::new(RefCell::new(App {
        webgpu: Err("not probed yet".into()),
        tokenizer,
        glove: None,
        backend: None,
        n_layer: 0,
        last: None,
        busy: false,
        runs: 0,
        binding_limit: query_param("binding_limit").and_then(|v| v.parse().ok()),
        trace_weights: Ok(None),
    }));
    pairs::init();
    crate::recurrence::init();
    wire(&app);
    spawn_local(async move {
        let probe = probe_webgpu().await;
        view::engine_line(&probe, None);
        let forced = app.borrow().binding_limit;
        let binding = probe.as_ref().ok().map(|i| {
            let device = i.max_binding as u64;
            forced.map_or(device, |f| f.min(device))
        });
        crate::models::init(binding);
        app.borrow_mut().webgpu = probe;
        load_glove(&app).await;
        let loaded = load_model(&app, Source::Demo).await;
        let ran = match loaded {
            Ok(()) => compare(&app).await,
            Err(e) => Err(e),
        };
        if ran.is_ok() {
            let t = now_ms();
            crate::dom::set_text("first-result", &format!("{t:.0}"));
        }
        let ok = ran.is_ok();
        report(ran);
        if ok {
            report(trace(&app));
        }
    });
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

/// Where the next model comes from.
enum Source {
    Demo,
    File(web_sys::File),
    Url(String),
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
            // One click: load the picked model, then compare the pairs with it.
            let r = match picked_source() {
                Ok(source) => load_model(&a, source).await,
                Err(e) => Err(e),
            };
            let r = match r {
                Ok(()) => compare(&a).await,
                Err(e) => Err(e),
            };
            let ok = r.is_ok();
            report(r);
            if ok {
                report(trace(&a));
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
    on_id("cancel", "click", |_| crate::dom::request_cancel(true));
    for (id, event) in [
        ("rec-run", "click"),
        ("rec-layer", "change"),
        ("rec-head", "change"),
    ] {
        let a = app.clone();
        on_id(id, event, move |_| report(trace(&a)));
    }
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

fn picked_source() -> Result<Source> {
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
            .map(Source::File)
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
            Ok(Source::Url(url))
        }
        _ => Ok(Source::Demo),
    }
}

fn pooling() -> Pooling {
    Pooling::parse(&by_id::<HtmlSelectElement>("pooling").value()).unwrap_or(Pooling::Mean)
}

async fn load_glove(app: &Shared) {
    match loader::fetch_bytes(loader::GLOVE_URL)
        .await
        .and_then(|b| Glove::from_bytes(loader::GLOVE_URL, &b))
    {
        Ok(g) => {
            crate::dom::set_text("glove-line", &format!(
                "Dashed lines: GloVe 6B 50d average-word-vector similarity ({} most frequent words, 8-bit).",
                g.len()
            ));
            app.borrow_mut().glove = Some(g);
        }
        Err(e) => crate::dom::set_text(
            "glove-line",
            &format!("GloVe reference line unavailable: {e}"),
        ),
    }
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
        crate::dom::request_cancel(false);
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
    }
}

async fn open(source: Source) -> Result<ModelFile> {
    match source {
        Source::Demo => loader::demo().await,
        Source::File(f) => Ok(ModelFile::from_blob(&f.name(), f.into())),
        Source::Url(url) => {
            loader::download(&url, |done, total| {
                let text = match total {
                    Some(t) => format!("{} / {}", megabytes(done as f64), megabytes(t as f64)),
                    None => megabytes(done as f64),
                };
                view::progress(
                    done as f64,
                    total.map(|t| t as f64),
                    &format!("downloading {text}"),
                );
            })
            .await
        }
    }
}

/// Opens, describes, checks, loads and builds; the old model stays until the new one works.
async fn load_model(app: &Shared, source: Source) -> Result<()> {
    let _busy = Busy::take(app)?;
    view::error(None);
    view::warning(None);
    view::status("loading model…");
    let result = load_inner(app, source).await;
    view::progress_done();
    spawn_local(crate::models::render_cached());
    let wasm = crate::dom::wasm_memory_bytes().to_string();
    let _ = by_id::<web_sys::Element>("model-card").set_attribute("data-wasm-bytes", &wasm);
    view::status(if result.is_ok() {
        "model ready: press Compare"
    } else {
        ""
    });
    result
}

async fn load_inner(app: &Shared, source: Source) -> Result<()> {
    let (webgpu, forced) = {
        let a = app.borrow();
        (a.webgpu.clone(), a.binding_limit)
    };
    let limits = Limits {
        webgpu: &webgpu,
        forced,
    };
    // A URL's header is read first (two range requests): a model that cannot run here is
    // refused before its download, and the card shows what is coming.
    if let Source::Url(url) = &source {
        if let Some((header, total)) = loader::preview(url).await? {
            describe_and_check(url, &header, total.unwrap_or(0), false, &limits)?;
        }
    }
    let model_url = match &source {
        Source::Url(url) => Some(url.clone()),
        _ => None,
    };
    let file = open(source).await?;
    let header = loader::read_header(&file).await?;
    let summary = describe_and_check(&file.name, &header, file.bytes, file.cached, &limits)?;
    let vocab = summary.config.vocab_size;
    let tokenizer = tokens::choose(tokens::picked(), model_url.as_deref(), vocab).await?;
    let ck = loader::read_checkpoint(&file, &header, |i, n| {
        view::progress(
            i as f64,
            Some(n as f64),
            &format!("loading tensor {i} / {n}"),
        );
    })
    .await?;
    yield_now().await;
    let mut note = None;
    let backend = Backend::build(&ck, &webgpu, forced, &mut note).await?;
    let trace_weights = match &backend {
        Backend::Cpu(_) => Ok(None),
        Backend::Gpu(..) => weights_for_trace(&file.name, &summary, &ck),
    };
    drop(ck);
    view::engine_line(&webgpu, Some(&backend.name()));
    if let Some(why) = note {
        view::warning(Some(&format!("{why}so the CPU runs instead")));
    }
    let demo = summary.label.as_deref().is_some_and(|l| l.contains("demo"));
    crate::recurrence::model_loaded(summary.config.n_layer, summary.config.n_head, demo);
    crate::dom::set_text(
        "tokenizer-name",
        &format!("tokenizer: {}", tokenizer.name()),
    );
    let mut a = app.borrow_mut();
    a.tokenizer = tokenizer;
    a.n_layer = summary.config.n_layer;
    a.backend = Some(backend);
    a.trace_weights = trace_weights;
    a.last = None;
    Ok(())
}

/// Largest model whose f32 weights the Recurrence view keeps beside the GPU engine.
const TRACE_MAX_PARAMS: usize = 200_000_000;

/// The f32 reference weights for the Recurrence view, next to the GPU engine: only for
/// models up to [`TRACE_MAX_PARAMS`] (wasm memory is 4 GB).
fn weights_for_trace(
    name: &str,
    summary: &crate::header::Summary,
    ck: &rwkv_lens::model::Checkpoint,
) -> std::result::Result<Option<rwkv_lens::reference::Weights>, String> {
    if summary.parameters > TRACE_MAX_PARAMS {
        return Err(format!(
            "{name}: {:.0} M parameters is too large for the Recurrence view beside the GPU engine \
             (it keeps an f32 copy on the CPU; limit {} M): use a smaller model",
            summary.parameters as f64 / 1e6,
            TRACE_MAX_PARAMS / 1_000_000
        ));
    }
    rwkv_lens::reference::Weights::from_checkpoint(ck)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Traces the Recurrence view's sentence with the loaded model's CPU weights.
fn trace(app: &Shared) -> Result<()> {
    let a = app.borrow();
    let weights = match (&a.trace_weights, a.backend.as_ref()) {
        (Err(why), _) => return Err(Error::input(why.clone())),
        (Ok(Some(w)), _) => w,
        (Ok(None), Some(b)) => b
            .cpu_weights()
            .ok_or_else(|| Error::input("recurrence: no CPU weights for this model"))?,
        (Ok(None), None) => {
            return Err(Error::input(
                "recurrence: no model loaded yet (or busy: try again when the run finishes)",
            ))
        }
    };
    crate::recurrence::run(weights, &a.tokenizer)
}

/// What the device allows: the probe's result and a `?binding_limit=` override.
struct Limits<'a> {
    webgpu: &'a std::result::Result<WebGpuInfo, String>,
    forced: Option<u64>,
}

/// Shows the model card from the header, then refuses what this browser cannot run.
fn describe_and_check(
    name: &str,
    header: &crate::header::Header,
    bytes: u64,
    cached: bool,
    limits: &Limits,
) -> Result<crate::header::Summary> {
    let summary = header.summary(name, bytes)?;
    view::model_info(name, &summary, cached);
    if let Ok(info) = limits.webgpu {
        let device = info.max_binding as u64;
        let limit = limits.forced.map_or(device, |f| f.min(device));
        check_device_limits(name, header, limit)?;
    }
    summary.check_memory(name, limits.webgpu.is_ok())?;
    Ok(summary)
}

/// Tokenizes every pair, runs the engine pair by pair (yielding between pairs so the
/// page stays responsive) and renders the results.
async fn compare(app: &Shared) -> Result<()> {
    let _busy = Busy::take(app)?;
    view::error(None);
    let texts = pairs::read()?;
    let mut backend = app
        .borrow_mut()
        .backend
        .take()
        .ok_or_else(|| Error::input("no model loaded yet"))?;
    let result = run_pairs(app, &mut backend, &texts).await;
    app.borrow_mut().backend = Some(backend);
    let comparison = result?;
    let mut a = app.borrow_mut();
    a.runs += 1;
    view::results(&comparison, a.n_layer, pooling(), a.runs);
    view::status("");
    a.last = Some(comparison);
    Ok(())
}

async fn run_pairs(
    app: &Shared,
    backend: &mut Backend,
    texts: &[(String, String)],
) -> Result<Comparison> {
    let start = now_ms();
    let n_layer = app.borrow().n_layer;
    let layers: Vec<usize> = (0..=n_layer).collect();
    let mut out = Vec::new();
    for (i, (a, b)) in texts.iter().enumerate() {
        view::status(&format!("running pair {} / {}…", i + 1, texts.len()));
        yield_now().await;
        crate::dom::check_cancel("Compare")?;
        let tokens = {
            let app = app.borrow();
            let enc = |t: &str, side: &str| {
                app.tokenizer
                    .encode(t)
                    .map_err(|e| Error::input(format!("pair {}, sentence {side}: {e}", i + 1)))
            };
            vec![enc(a, "A")?, enc(b, "B")?]
        };
        let emb = backend.embed(&tokens, &layers, &POOLINGS).await?;
        let (mean, last) = pair_cosines(&emb, 0);
        let glove = app.borrow().glove.as_ref().and_then(|g| g.similarity(a, b));
        out.push(PairResult {
            a: a.clone(),
            b: b.clone(),
            tokens: (tokens[0].len(), tokens[1].len()),
            mean,
            last,
            glove,
        });
    }
    Ok(Comparison {
        engine: backend.name(),
        layers,
        pairs: out,
        millis: now_ms() - start,
    })
}
