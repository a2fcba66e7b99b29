//! What the worker holds and does: the WebGPU probe, the GloVe table, the tokenizer, the
//! engine (and what the Recurrence view's traces keep), and the three long jobs — load a model,
//! compare pairs, trace one head. Progress and the model card go to the page through
//! `post` as they happen; each job returns its final reply.

use rwkv_lens::tokenizer::Tokenizer;
use rwkv_lens::{Error, Result};

use crate::backend::{probe_webgpu, Backend, WebGpuInfo};
use crate::compare::{compare_pairs, Comparison, POOLINGS};
use crate::dom::{now_ms, yield_now};
use crate::glove::Glove;
use crate::header::check_device_limits;
use crate::loader::{self, ModelFile};
use crate::protocol::{
    ForcedKernels, Loaded, ModelPick, Reply, Stage, TokenizerPick, WeightFormat,
};
use crate::stream::Stream;
use crate::tokens::{self, TokenizerSource};

pub struct Session {
    webgpu: std::result::Result<WebGpuInfo, String>,
    /// `?binding_limit=BYTES` of the page: a storage-binding limit below the adapter's.
    binding_limit: Option<u64>,
    /// `?matmul=tiled`, `?wkv_chunk=L` of the page.
    kernels: ForcedKernels,
    tokenizer: Tokenizer,
    glove: Option<Glove>,
    backend: Option<Backend>,
    n_layer: usize,
    /// What the Recurrence view's traces keep beside the GPU engine (the CPU engine's
    /// weights are used as they are): the traced sentence's residual stream per block.
    tracer: rwkv_lens::trace::Streamed,
    /// The loaded model's file, to read again for the Recurrence view.
    stream: Option<Stream>,
    /// Attention models loaded beside the RWKV (`crate::duo`): Compare runs each.
    pub attention: Vec<crate::duo::AttentionModel>,
}

fn progress(post: &impl Fn(Reply), stage: Stage, done: f64, total: Option<f64>) {
    post(Reply::Progress { stage, done, total });
}

impl Session {
    /// Probes WebGPU and loads the GloVe table; the reply says what was found.
    pub async fn start(
        binding_limit: Option<u64>,
        kernels: ForcedKernels,
    ) -> Result<(Session, Reply)> {
        let webgpu = probe_webgpu().await;
        let glove = loader::fetch_bytes(loader::GLOVE_URL)
            .await
            .and_then(|b| Glove::from_bytes(loader::GLOVE_URL, &b));
        let reply = Reply::Ready {
            webgpu: webgpu.clone(),
            glove: glove.as_ref().map(|g| g.len()).map_err(|e| e.to_string()),
        };
        let session = Session {
            webgpu,
            binding_limit,
            kernels,
            tokenizer: Tokenizer::from_spec("world")?,
            glove: glove.ok(),
            backend: None,
            n_layer: 0,
            tracer: Default::default(),
            stream: None,
            attention: Vec::new(),
        };
        Ok((session, reply))
    }

    /// Opens, describes, checks, loads and builds; the old model stays until the new one works.
    pub async fn load(
        &mut self,
        model: ModelPick,
        file: Option<web_sys::File>,
        (tokenizer, weights): (TokenizerSource, WeightFormat),
        post: &impl Fn(Reply),
    ) -> Result<Loaded> {
        let model_url = match &model {
            ModelPick::Url(url) => Some(url.clone()),
            _ => None,
        };
        // A URL's header is read first (two range requests): a model that cannot run here
        // is refused before its download, and the card shows what is coming.
        if let Some(url) = &model_url {
            if let Some((header, total)) = loader::preview(url).await? {
                self.describe_and_check(url, &header, total.unwrap_or(0), false, post)?;
            }
        }
        let file = open(model, file, post).await?;
        let header = loader::read_header(&file).await?;
        let summary =
            self.describe_and_check(&file.name, &header, file.bytes, file.cached, post)?;
        let vocab = summary.config.vocab_size;
        let tokenizer = tokens::choose(tokenizer, model_url.as_deref(), vocab).await?;
        // Streaming: the engine reads, converts and uploads one tensor at a time.
        let stream = Stream::new(file, &header, summary.config.clone())?;
        progress(post, Stage::Upload, 0.0, None);
        yield_now().await;
        let mut note = None;
        let precision = weights.precision(summary.dtype);
        let backend = Backend::build(
            &stream,
            (&self.webgpu, precision),
            (self.binding_limit, self.kernels),
            &mut note,
        )
        .await?;
        let loaded = Loaded {
            engine: backend.name(),
            warning: note.map(|why| format!("{why}so the CPU runs instead")),
            n_layer: summary.config.n_layer,
            n_head: summary.config.n_head,
            demo: summary.label.as_deref().is_some_and(|l| l.contains("demo")),
            tokenizer: tokenizer.name().to_string(),
            wasm_bytes: crate::dom::wasm_memory_bytes(),
        };
        self.tokenizer = tokenizer;
        self.n_layer = summary.config.n_layer;
        self.backend = Some(backend);
        self.tracer = Default::default();
        self.stream = Some(stream);
        Ok(loaded)
    }

    /// Sends the model card from the header, then refuses what this browser cannot run.
    fn describe_and_check(
        &self,
        name: &str,
        header: &crate::header::Header,
        bytes: u64,
        cached: bool,
        post: &impl Fn(Reply),
    ) -> Result<crate::header::Summary> {
        let summary = header.summary(name, bytes)?;
        post(Reply::Card {
            html: crate::view::model_info_html(name, &summary, cached),
        });
        if let Ok(info) = &self.webgpu {
            let device = info.max_binding as u64;
            let limit = self.binding_limit.map_or(device, |f| f.min(device));
            check_device_limits(name, header, limit)?;
        }
        summary.check_memory(name, self.webgpu.is_ok())?;
        Ok(summary)
    }

    /// Tokenizes every pair and runs the engine pair by pair, yielding between pairs so
    /// a Cancel message is read.
    pub async fn compare(
        &mut self,
        texts: &[(String, String)],
        post: &impl Fn(Reply),
    ) -> Result<Comparison> {
        let start = now_ms();
        let mut c = self.compare_rwkv(texts, post).await?;
        c.more = crate::duo::compare(&mut self.attention, texts, post).await?;
        c.millis = now_ms() - start;
        Ok(c)
    }

    /// The RWKV's part of [`Session::compare`].
    async fn compare_rwkv(
        &mut self,
        texts: &[(String, String)],
        post: &impl Fn(Reply),
    ) -> Result<Comparison> {
        let start = now_ms();
        let backend = self
            .backend
            .as_mut()
            .ok_or_else(|| Error::input("no model loaded yet"))?;
        let layers: Vec<usize> = (0..=self.n_layer).collect();
        let embed = async |tokens: &[Vec<u32>]| backend.embed(tokens, &layers, &POOLINGS).await;
        let who = (&self.tokenizer, None);
        let out = compare_pairs(texts, who, embed, self.glove.as_ref(), post).await?;
        Ok(Comparison {
            engine: backend.name(),
            layers,
            pairs: out,
            millis: now_ms() - start,
            more: Vec::new(),
        })
    }

    /// Traces the Recurrence view's sentence with the loaded model: the CPU engine's
    /// weights, or beside the GPU engine the model's file read again one block at a time
    /// ([`rwkv_lens::trace::Streamed`]: one block's f32 weights in memory, not the model's);
    /// the trace as JSON for the page.
    pub async fn trace(&mut self, sentence: &str, layer: usize, head: usize) -> Result<String> {
        let backend = (self.backend.as_ref())
            .ok_or_else(|| Error::input("recurrence: no model loaded yet"))?;
        let tokens = self
            .tokenizer
            .encode(sentence.trim())
            .map_err(|e| Error::input(format!("recurrence sentence: {e}")))?;
        let max = crate::recurrence_view::MAX_TOKENS;
        if tokens.len() > max {
            return Err(Error::input(format!(
                "recurrence sentence: {} tokens; the view traces at most {max} (shorten it)",
                tokens.len()
            )));
        }
        let piece = |t: u32| self.tokenizer.decode(&[t]).ok();
        let layer = layer.max(1);
        let trace = match (backend.cpu_weights(), &self.stream) {
            (Some(w), _) => rwkv_lens::trace::trace_with(w, &tokens, layer, head, piece)?,
            (None, Some(stream)) => {
                stream.restart();
                let at = (layer, head);
                self.tracer.trace(stream, &tokens, at, piece).await?
            }
            (None, None) => return Err(Error::input("recurrence: no weights for this model")),
        };
        rwkv_lens::trace::to_json(&trace)
    }
}

/// The model file: the bundled demo, the user's file, or a URL (downloaded with progress,
/// or read from the Cache API).
async fn open(
    model: ModelPick,
    file: Option<web_sys::File>,
    post: &impl Fn(Reply),
) -> Result<ModelFile> {
    match (model, file) {
        (ModelPick::Demo, _) => loader::demo().await,
        (ModelPick::File, Some(f)) => Ok(ModelFile::from_blob(&f.name(), f.into())),
        (ModelPick::File, None) => Err(Error::input("choose a .safetensors or .pth file first")),
        (ModelPick::Url(url), _) => {
            loader::download(&url, |done, total| {
                progress(post, Stage::Download, done as f64, total.map(|t| t as f64));
            })
            .await
        }
    }
}

/// A tokenizer choice as it arrived: the pick and the file beside it.
pub fn tokenizer_source(pick: TokenizerPick, file: Option<web_sys::File>) -> TokenizerSource {
    match (pick, file) {
        (TokenizerPick::File, Some(f)) => TokenizerSource::File(f),
        (TokenizerPick::Url(u), _) => TokenizerSource::Url(u),
        _ => TokenizerSource::Auto,
    }
}
