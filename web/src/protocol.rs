//! The one thing the page (`crate::page`, main thread: the UI only) and its Web Worker
//! (`crate::worker`: loading and every engine) share: the messages between them, the data
//! those carry, and (in the browser) the envelope a message travels in.
//!
//! Each request is a struct; [`Request`] wraps it for the wire and [`Ask`] names the one
//! final reply that answers it, so the page's `client::ask` returns that reply's data,
//! typed, and the worker's dispatch builds it through the same trait. [`Reply::Progress`]
//! and [`Reply::Card`] may come before the final reply; [`Reply::Error`] replaces it.
//! Each message is one serde enum sent as a JSON string in `postMessage`; `File`s travel
//! beside it as structured-cloned fields of the same message ([`MODEL_FILE`],
//! [`TOKENIZER_FILE`]).

use rwkv_lens::embed::Pooling;
use serde::{Deserialize, Serialize};

/// The message field holding a local model file (`File`), beside the JSON.
pub const MODEL_FILE: &str = "modelFile";
/// The message field holding a local `tokenizer.json` (`File`), beside the JSON.
pub const TOKENIZER_FILE: &str = "tokenizerFile";
/// The message field holding the JSON of a [`Request`] or [`Reply`].
pub const JSON: &str = "json";
/// Longest sentence the Recurrence view traces (the trace keeps two N×N states per token).
pub const MAX_TRACE_TOKENS: usize = 64;

/// Where the next model comes from (a local file travels in [`MODEL_FILE`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ModelPick {
    Demo,
    File,
    Url(String),
}

/// Which tokenizer (a local file travels in [`TOKENIZER_FILE`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TokenizerPick {
    /// World for World vocabularies, else the `tokenizer.json` next to a model URL.
    Auto,
    File,
    Url(String),
}

/// How the GPU engine stores the projection matrices (the maths is f32 either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WeightFormat {
    /// As stored: f32 checkpoints keep f32, f16/bf16 become f16 (`Precision::following`).
    Stored,
    /// int8, one scale per 64 values, quantized while loading.
    Int8,
    /// 4-bit NormalFloat, one scale per 64 values, quantized while loading.
    Nf4,
}

impl WeightFormat {
    /// The `<select id="weights">` value: `stored`, `int8` or `nf4`.
    pub fn parse(value: &str) -> WeightFormat {
        match value {
            "int8" => WeightFormat::Int8,
            "nf4" => WeightFormat::Nf4,
            _ => WeightFormat::Stored,
        }
    }

    /// The engine's precision for a checkpoint stored in `dtype`.
    pub fn precision(self, dtype: rwkv_lens::model::DType) -> rwkv_lens::gpu::Precision {
        use rwkv_lens::gpu::Precision;
        match self {
            WeightFormat::Stored => Precision::following(dtype),
            WeightFormat::Int8 => Precision::Int8,
            WeightFormat::Nf4 => Precision::Nf4,
        }
    }
}

/// An attention model to run beside the RWKV (Hugging Face layout: `config.json`,
/// `model.safetensors`, `tokenizer.json`; BERT-family encoder or GPT-2 decoder).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AttentionPick {
    /// all-MiniLM-L6-v2 in f16, served from `minilm/` beside the page (`make web`).
    MiniLm,
    /// A folder URL holding the three files, e.g. `https://huggingface.co/<repo>/resolve/main/`.
    Url(String),
    /// Local files: `config.json`'s text here, `model.safetensors` in [`MODEL_FILE`],
    /// `tokenizer.json` in [`TOKENIZER_FILE`].
    Files { config: String },
}

/// GPU kernels forced by the page's URL instead of the adapter-type defaults, so the
/// kernels built for GPUs also run (and are checked) on SwiftShader, a CPU adapter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForcedKernels {
    /// `?matmul=tiled`: the workgroup-tiled matmul.
    pub tiled_matmul: bool,
    /// `?wkv_chunk=L`: the chunked WKV with chunk length L.
    pub wkv_chunk: Option<u32>,
}

/// Probe WebGPU, load the GloVe table, check the presets; answered by [`Ready`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Start {
    /// The page's `?binding_limit=BYTES` (a storage-binding limit below the adapter's).
    pub binding_limit: Option<u64>,
    /// The page's `?matmul=tiled` and `?wkv_chunk=L` (the GPU kernels' e2e check).
    #[serde(default)]
    pub kernels: ForcedKernels,
}

/// Load a model (the old one stays until the new one works); answered by [`Loaded`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Load {
    pub model: ModelPick,
    pub tokenizer: TokenizerPick,
    pub weights: WeightFormat,
}

/// Run every loaded model on the pairs; answered by [`Comparison`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compare {
    pub pairs: Vec<(String, String)>,
}

/// Trace one head of one block (1-based) of the RWKV; answered by [`Traced`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub sentence: String,
    pub layer: usize,
    pub head: usize,
}

/// Load an attention model beside the RWKV (Compare then runs both); answered by [`Added`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddModel {
    pub model: AttentionPick,
}

/// The attention probabilities of one layer (1-based) and head (0-based) of the last
/// attention model on one sentence; answered by [`AttentionMap`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attend {
    pub sentence: String,
    pub layer: usize,
    pub head: usize,
}

/// The downloads the Cache API holds; answered by the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListCached;

/// Remove one download from the Cache API; answered by the list that remains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Uncache {
    pub url: String,
}

/// Page → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    Start(Start),
    Load(Load),
    Compare(Compare),
    Trace(Trace),
    AddModel(AddModel),
    Attend(Attend),
    ListCached(ListCached),
    Uncache(Uncache),
    /// Stops the running load or Compare at its next chunk, tensor or pair (no reply of
    /// its own: that request ends with `Error {"… cancelled"}`).
    Cancel,
}

/// A request and the final reply that answers it.
pub trait Ask: Into<Request> {
    /// What the answering reply carries.
    type Answer;
    /// The answer, or the name of the reply when it is another one.
    fn answer(reply: Reply) -> Result<Self::Answer, &'static str>;
    /// The reply carrying an answer.
    fn reply(answer: Self::Answer) -> Reply;
}

macro_rules! asks {
    ($($request:ident => $variant:ident($answer:ty),)*) => {$(
        impl From<$request> for Request {
            fn from(r: $request) -> Request {
                Request::$request(r)
            }
        }
        impl Ask for $request {
            type Answer = $answer;
            fn answer(reply: Reply) -> Result<$answer, &'static str> {
                match reply {
                    Reply::$variant(a) => Ok(a),
                    other => Err(other.name()),
                }
            }
            fn reply(answer: $answer) -> Reply {
                Reply::$variant(answer)
            }
        }
    )*};
}

asks! {
    Start => Ready(Ready),
    Load => Loaded(Loaded),
    Compare => Compared(Comparison),
    Trace => Traced(Traced),
    AddModel => Added(Added),
    Attend => Attended(AttentionMap),
    ListCached => Cached(Vec<CachedModel>),
    Uncache => Cached(Vec<CachedModel>),
}

/// What the WebGPU probe found (in the worker: WebGPU and both engines live there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebGpuInfo {
    pub adapter: String,
    pub max_binding: f64,
    pub max_buffer: f64,
    pub shader_f16: bool,
}

/// A preset checkpoint as this device sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresetOption {
    pub label: String,
    pub model_url: String,
    /// `None`: the World tokenizer.
    pub tokenizer_url: Option<String>,
    pub download_bytes: u64,
    /// Estimated wasm memory to load it on this device's path.
    pub loading_bytes: u64,
    /// Whether that path is the GPU's (else the CPU fallback's).
    pub gpu_path: bool,
    /// Why this browser cannot run it, or `None` when it can.
    pub refusal: Option<String>,
}

/// What the worker found at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ready {
    pub webgpu: Result<WebGpuInfo, String>,
    /// Words in the GloVe table, or why it is unavailable.
    pub glove: Result<usize, String>,
    /// The preset checkpoints, each checked against this device.
    pub presets: Vec<PresetOption>,
}

/// The long steps the page shows progress for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Bytes of a URL download.
    Download,
    /// Tensors read one at a time, checked, converted and uploaded (worker/stream.rs).
    Parse,
    /// The engine built from the tensors (GPU upload, or the CPU engine's f32 weights).
    Upload,
    /// Sentence pairs run.
    Compare,
}

/// The model card, from the header alone (before any tensor is read). Every string may
/// come from the file (its name, metadata, tensor names): the page escapes them all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    /// File name or URL.
    pub name: String,
    /// `__metadata__["rwkv_lens_model"]`, e.g. "constructed demo model, not trained".
    pub label: Option<String>,
    /// `__metadata__["rwkv_lens_description"]`.
    pub description: Option<String>,
    /// "RWKV-6, 4 layers, C=128 (2 heads × 64), FFN 448, vocab 65536".
    pub architecture: String,
    pub parameters: usize,
    pub file_bytes: u64,
    /// The dtype most bytes are stored in ("f16").
    pub dtype: String,
    /// "official names" or "Hugging Face names".
    pub layout: String,
    /// Read from the Cache API rather than the network.
    pub cached: bool,
    /// Largest tensor by bytes as stored: (name, bytes).
    pub largest: (String, u64),
    /// Estimated peak wasm memory while loading: (GPU path, CPU path).
    pub loading_bytes: (u64, u64),
    /// GPU weight bytes per format, e.g. ("f16", bytes); empty without WebGPU.
    pub gpu_weights: Vec<(String, u64)>,
}

/// A model the worker finished loading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loaded {
    /// "WebGPU: <adapter>" or "CPU: …".
    pub engine: String,
    /// Why the GPU engine was not used although an adapter was there.
    pub warning: Option<String>,
    pub n_layer: usize,
    pub n_head: usize,
    /// The bundled demo model (the Recurrence view compares with its designed half-lives).
    pub demo: bool,
    pub tokenizer: String,
    /// The worker's wasm memory after the load (it only grows: the high-water mark).
    pub wasm_bytes: u32,
}

/// One sentence pair's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairResult {
    pub a: String,
    pub b: String,
    pub tokens: (usize, usize),
    /// Cosine per layer (0..=L) for mean pooling.
    pub mean: Vec<f32>,
    /// Cosine per layer (0..=L) for last-token pooling.
    pub last: Vec<f32>,
    /// GloVe-average cosine, when the table is loaded and both sentences have known words.
    pub glove: Option<f32>,
}

impl PairResult {
    pub fn by(&self, pooling: Pooling) -> &[f32] {
        match pooling {
            Pooling::Mean => &self.mean,
            Pooling::Last => &self.last,
        }
    }
}

/// Everything one Compare produced: the RWKV's numbers, and those of every attention
/// model loaded beside it (`more`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub engine: String,
    pub layers: Vec<usize>,
    pub pairs: Vec<PairResult>,
    pub millis: f64,
    #[serde(default)]
    pub more: Vec<ModelRun>,
}

/// Another model's numbers on the same pairs (no GloVe: that line is the pairs', drawn once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRun {
    pub label: String,
    pub engine: String,
    /// Its layers are `0..=n_layer`; the chart puts layer l at `relative_depth(l, n_layer)`.
    pub n_layer: usize,
    pub pairs: Vec<PairResult>,
}

/// A Recurrence trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Traced {
    /// The trace as [`rwkv_lens::trace::to_json`] writes it.
    pub json: String,
    /// The worker's wasm memory after the trace (the high-water mark).
    pub wasm_bytes: u32,
}

/// An attention model the worker finished loading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Added {
    pub label: String,
    pub engine: String,
    pub n_layer: usize,
    pub n_head: usize,
    /// C (= the key/value width of each layer's cache).
    pub hidden: usize,
    pub wasm_bytes: u32,
}

/// One head's attention probabilities on one sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttentionMap {
    pub model: String,
    pub layer: usize,
    pub head: usize,
    /// The tokens' texts (with the tokenizer's special tokens).
    pub tokens: Vec<String>,
    /// `[T][T]` row-major: row = query token, column = key token; rows sum to 1.
    pub probs: Vec<f32>,
    pub n_layer: usize,
    pub hidden: usize,
}

/// A download the Cache API holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedModel {
    pub url: String,
    pub bytes: u64,
}

/// Worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    Ready(Ready),
    Progress {
        stage: Stage,
        done: f64,
        total: Option<f64>,
    },
    Card(Card),
    Loaded(Loaded),
    Compared(Comparison),
    Traced(Traced),
    Added(Added),
    Attended(AttentionMap),
    Cached(Vec<CachedModel>),
    /// The request failed or was cancelled: one line.
    Error {
        message: String,
    },
}

impl Reply {
    /// Whether this reply ends the request it answers.
    pub fn is_final(&self) -> bool {
        !matches!(self, Reply::Progress { .. } | Reply::Card(_))
    }

    /// The variant's name, for a one-line message.
    pub fn name(&self) -> &'static str {
        match self {
            Reply::Ready(_) => "Ready",
            Reply::Progress { .. } => "Progress",
            Reply::Card(_) => "Card",
            Reply::Loaded(_) => "Loaded",
            Reply::Compared(_) => "Compared",
            Reply::Traced(_) => "Traced",
            Reply::Added(_) => "Added",
            Reply::Attended(_) => "Attended",
            Reply::Cached(_) => "Cached",
            Reply::Error { .. } => "Error",
        }
    }
}

impl Stage {
    /// The progress line, e.g. "downloading 12.0 MB / 347.0 MB" or "running pair 3 / 4".
    pub fn describe(self, done: f64, total: Option<f64>) -> String {
        let mb = |b: f64| format!("{:.1} MB", b / 1e6);
        match (self, total) {
            (Stage::Download, Some(t)) => format!("downloading {} / {}", mb(done), mb(t)),
            (Stage::Download, None) => format!("downloading {}", mb(done)),
            (Stage::Parse, t) => format!("loading tensor {done} / {}", t.unwrap_or(0.0)),
            (Stage::Upload, _) => "building the engine (weights to the GPU or the CPU)…".into(),
            (Stage::Compare, t) => format!("running pair {} / {}…", done + 1.0, t.unwrap_or(0.0)),
        }
    }
}

/// JSON for the wire (these types always serialise).
pub fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|e| format!("{{\"Error\":{{\"message\":\"{e}\"}}}}"))
}

/// A message from the other side; `Err` in one line names what could not be read.
pub fn from_json<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("worker message: {e}"))
}

/// Refuses a model or tokenizer address that is not `http:`, `https:` or `blob:` (a
/// relative one is resolved against the page: same origin). The scheme is read as the
/// browser's URL parser reads it: leading spaces and control characters skipped, tabs
/// and newlines ignored, any case. `what` names the field ("model URL").
pub fn check_url(what: &str, url: &str) -> Result<(), String> {
    let cleaned: String = (url.trim_start_matches(|c: char| c <= ' ').chars())
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let scheme = cleaned.split_once(':').map(|(s, _)| s).filter(|s| {
        let mut chars = s.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    match scheme.map(str::to_ascii_lowercase).as_deref() {
        None | Some("http" | "https" | "blob") => Ok(()),
        Some(other) => {
            let shown: String = (url.chars().take(80))
                .map(|c| if c.is_control() { '?' } else { c })
                .collect();
            Err(format!(
                "{what} {shown}: only http:, https: or blob: addresses are accepted, not {other}:"
            ))
        }
    }
}

/// The envelope of a message in the browser and the JS plumbing both threads use to
/// talk: a JS error as one line, a promise as a future, the clock.
#[cfg(target_arch = "wasm32")]
pub mod js {
    use js_sys::{Object, Promise, Reflect};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    use web_sys::File;

    use rwkv_lens::{Error, Result};

    use super::{JSON, MODEL_FILE, TOKENIZER_FILE};

    #[wasm_bindgen]
    extern "C" {
        /// The global `performance.now()` (window or worker).
        #[wasm_bindgen(js_namespace = performance, js_name = now)]
        fn performance_now() -> f64;
    }

    /// The local files that travel beside a request.
    #[derive(Default)]
    pub struct Files {
        pub model: Option<File>,
        pub tokenizer: Option<File>,
    }

    /// One message: the JSON and the files beside it.
    pub fn envelope(json: &str, files: &Files) -> Result<Object> {
        let msg = Object::new();
        let set = |k: &str, v: &JsValue| Reflect::set(&msg, &k.into(), v).map(|_| ());
        let fail = |e: JsValue| Error::input(format!("message to the worker: {}", message(&e)));
        set(JSON, &json.into()).map_err(fail)?;
        for (key, file) in [
            (MODEL_FILE, &files.model),
            (TOKENIZER_FILE, &files.tokenizer),
        ] {
            if let Some(f) = file {
                set(key, f).map_err(fail)?;
            }
        }
        Ok(msg)
    }

    /// The JSON and the files of a message.
    pub fn open(data: &JsValue) -> (String, Files) {
        let file = |key: &str| get(data, key).dyn_into::<File>().ok();
        let json = get(data, JSON).as_string().unwrap_or_default();
        let files = Files {
            model: file(MODEL_FILE),
            tokenizer: file(TOKENIZER_FILE),
        };
        (json, files)
    }

    /// A JS exception or rejection as one line of text.
    pub fn message(e: &JsValue) -> String {
        let text = match e.dyn_ref::<js_sys::Error>() {
            Some(err) => String::from(err.message()),
            None => e.as_string().unwrap_or_else(|| format!("{e:?}")),
        };
        text.lines().map(str::trim).collect::<Vec<_>>().join(" ")
    }

    /// Awaits a promise, turning a rejection into an [`Error`] with `context`.
    pub async fn await_js(promise: Promise, context: &str) -> Result<JsValue> {
        JsFuture::from(promise)
            .await
            .map_err(|e| Error::input(format!("{context}: {}", message(&e))))
    }

    /// `obj[key]` (undefined when absent).
    pub fn get(obj: &JsValue, key: &str) -> JsValue {
        Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    /// Milliseconds since the page (or the worker) started.
    pub fn now_ms() -> f64 {
        performance_now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_round_trip() {
        let reqs: [Request; 7] = [
            Start {
                binding_limit: Some(256),
                kernels: ForcedKernels {
                    tiled_matmul: true,
                    wkv_chunk: Some(16),
                },
            }
            .into(),
            Load {
                model: ModelPick::Url("https://x/m.pth".into()),
                tokenizer: TokenizerPick::File,
                weights: WeightFormat::Nf4,
            }
            .into(),
            Compare {
                pairs: vec![("a".into(), "b".into())],
            }
            .into(),
            Request::Cancel,
            AddModel {
                model: AttentionPick::Url("https://x/repo/".into()),
            }
            .into(),
            Attend {
                sentence: "a b".into(),
                layer: 2,
                head: 3,
            }
            .into(),
            Uncache { url: "u".into() }.into(),
        ];
        for r in reqs {
            assert_eq!(from_json::<Request>(&to_json(&r)).unwrap(), r);
        }
        let ready = Reply::Ready(Ready {
            webgpu: Err("no adapter".into()),
            glove: Ok(20000),
            presets: Vec::new(),
        });
        assert_eq!(from_json::<Reply>(&to_json(&ready)).unwrap(), ready);
        assert!(ready.is_final());
        let p = Reply::Progress {
            stage: Stage::Compare,
            done: 2.0,
            total: Some(4.0),
        };
        assert!(!p.is_final());
        assert!(from_json::<Reply>("{\"Nope\":1}")
            .unwrap_err()
            .starts_with("worker message:"));
    }

    #[test]
    fn each_request_takes_only_its_own_reply() {
        let cached = Uncache::reply(vec![CachedModel {
            url: "u".into(),
            bytes: 1,
        }]);
        assert_eq!(ListCached::answer(cached.clone()).unwrap().len(), 1);
        assert_eq!(Load::answer(cached).unwrap_err(), "Cached");
        // the page's panic hook test posts this shape from the worker's scope
        let error: Reply = from_json(r#"{"Error":{"message":"m"}}"#).unwrap();
        assert!(error.is_final() && error.name() == "Error");
    }

    #[test]
    fn progress_lines() {
        assert_eq!(
            Stage::Download.describe(12e6, Some(347e6)),
            "downloading 12.0 MB / 347.0 MB"
        );
        assert_eq!(
            Stage::Parse.describe(3.0, Some(9.0)),
            "loading tensor 3 / 9"
        );
        assert_eq!(
            Stage::Compare.describe(0.0, Some(4.0)),
            "running pair 1 / 4…"
        );
    }

    #[test]
    fn only_http_https_and_blob_addresses() {
        for ok in [
            "https://huggingface.co/x/resolve/main/model.safetensors",
            "HTTP://127.0.0.1:8080/demo.pth",
            "blob:http://127.0.0.1/0d9c",
            "demo-model/rwkv6-demo.safetensors",
            "/models/a.safetensors",
            "//cdn.example/a.pth",
            "a.safetensors?x=y:z",
        ] {
            assert_eq!(check_url("model URL", ok), Ok(()), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            " \u{1}JaVa\tScRiPt:alert(1)",
            "data:text/html,<img src=x onerror=alert(1)>",
            "file:///etc/passwd",
            "ftp://x/y",
        ] {
            let e = check_url("model URL", bad).unwrap_err();
            assert!(e.starts_with("model URL ") && !e.contains('\n'), "{e}");
            assert!(e.contains("only http:, https: or blob:"), "{e}");
        }
    }
}
