//! The messages between the page (main thread: the UI only) and its Web Worker (loading
//! and both engines). Each is one serde enum sent as a JSON string in `postMessage`;
//! `File`s travel beside it as structured-cloned fields of the same message
//! ([`MODEL_FILE`], [`TOKENIZER_FILE`]).
//!
//! Every request but [`Request::Cancel`] is answered by exactly one final reply
//! ([`Reply::is_final`]); [`Reply::Progress`] and [`Reply::Card`] may come before it.

use serde::{Deserialize, Serialize};

use crate::compare::Comparison;

/// The message field holding a local model file (`File`), beside the JSON.
pub const MODEL_FILE: &str = "modelFile";
/// The message field holding a local `tokenizer.json` (`File`), beside the JSON.
pub const TOKENIZER_FILE: &str = "tokenizerFile";
/// The message field holding the JSON of a [`Request`] or [`Reply`].
pub const JSON: &str = "json";

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

/// Page → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Probe WebGPU, load the GloVe table; answered by [`Reply::Ready`]. `binding_limit`:
    /// the page's `?binding_limit=BYTES` (a storage-binding limit below the adapter's).
    Start {
        binding_limit: Option<u64>,
        /// The page's `?matmul=tiled` and `?wkv_chunk=L` (the GPU kernels' e2e check).
        #[serde(default)]
        kernels: ForcedKernels,
    },
    Load {
        model: ModelPick,
        tokenizer: TokenizerPick,
        weights: WeightFormat,
    },
    Compare {
        pairs: Vec<(String, String)>,
    },
    /// The Recurrence view: `layer` is 1-based.
    Trace {
        sentence: String,
        layer: usize,
        head: usize,
    },
    /// Stops the running load or Compare at its next chunk, tensor or pair.
    Cancel,
    /// Loads an attention model beside the RWKV (Compare then runs both); answered by
    /// [`Reply::Added`].
    AddModel {
        model: AttentionPick,
    },
    /// The attention probabilities of one layer (1-based) and head (0-based) of the
    /// attention model on one sentence; answered by [`Reply::Attended`].
    Attend {
        sentence: String,
        layer: usize,
        head: usize,
    },
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

/// The long steps the page shows progress for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Bytes of a URL download.
    Download,
    /// Tensors read one at a time, checked, converted and uploaded (web/src/stream.rs).
    Parse,
    /// The engine built from the tensors (GPU upload, or the CPU engine's f32 weights).
    Upload,
    /// Sentence pairs run.
    Compare,
}

/// What the WebGPU probe found (in the worker: WebGPU and both engines live there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebGpuInfo {
    pub adapter: String,
    pub max_binding: f64,
    pub max_buffer: f64,
    pub shader_f16: bool,
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

/// Worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    Ready {
        webgpu: Result<WebGpuInfo, String>,
        /// Words in the GloVe table, or why it is unavailable.
        glove: Result<usize, String>,
    },
    Progress {
        stage: Stage,
        done: f64,
        total: Option<f64>,
    },
    /// The model card, from the header alone (before any tensor is read).
    Card {
        html: String,
    },
    Loaded(Loaded),
    Compared(Comparison),
    /// A Recurrence trace as [`rwkv_lens::trace::to_json`] writes it.
    Traced {
        json: String,
        /// The worker's wasm memory after the trace (the high-water mark).
        wasm_bytes: u32,
    },
    Added(Added),
    Attended(AttentionMap),
    /// The request failed or was cancelled: one line.
    Error {
        message: String,
    },
}

impl Reply {
    /// Whether this reply ends the request it answers.
    pub fn is_final(&self) -> bool {
        !matches!(self, Reply::Progress { .. } | Reply::Card { .. })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_round_trip() {
        let reqs = [
            Request::Start {
                binding_limit: Some(256),
                kernels: ForcedKernels {
                    tiled_matmul: true,
                    wkv_chunk: Some(16),
                },
            },
            Request::Load {
                model: ModelPick::Url("https://x/m.pth".into()),
                tokenizer: TokenizerPick::File,
                weights: WeightFormat::Nf4,
            },
            Request::Compare {
                pairs: vec![("a".into(), "b".into())],
            },
            Request::Cancel,
            Request::AddModel {
                model: AttentionPick::Url("https://x/repo/".into()),
            },
            Request::Attend {
                sentence: "a b".into(),
                layer: 2,
                head: 3,
            },
        ];
        for r in reqs {
            assert_eq!(from_json::<Request>(&to_json(&r)).unwrap(), r);
        }
        let ready = Reply::Ready {
            webgpu: Err("no adapter".into()),
            glove: Ok(20000),
        };
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
}
