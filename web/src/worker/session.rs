//! What the worker holds and does: the WebGPU probe, the GloVe table, the tokenizer, the
//! engine (and what the Recurrence view's traces keep), and the three long jobs — load a model,
//! compare pairs, trace one head. Progress and the model card go to the page through
//! `post` as they happen; each job returns its final reply.

use rwkv_lens::tokenizer::Tokenizer;
use rwkv_lens::{Error, Result};

use super::attention::{self, AttentionModel};
use super::backend::{probe_webgpu, Backend};
use super::compare::{compare_pairs, POOLINGS};
use super::glove::Glove;
use super::header::{check_device_limits, Header, Summary};
use super::js::{wasm_memory_bytes, yield_now};
use super::loader::{self, ModelFile};
use super::stream::{self, Stream};
use super::tokens::{self, TokenizerSource};
use super::{card, presets::presets};
use crate::protocol::js::{now_ms, Files};
use crate::protocol::{
    Added, Attend, AttentionMap, AttentionPick, Comparison, ForcedKernels, Load, Loaded, ModelPick,
    Ready, Reply, Stage, Start, Trace, WebGpuInfo, MAX_TRACE_TOKENS,
};

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
    /// Attention models loaded beside the RWKV ([`attention`]): Compare runs each.
    attention: Vec<AttentionModel>,
}

fn progress(post: &impl Fn(Reply), stage: Stage, done: f64, total: Option<f64>) {
    post(Reply::Progress { stage, done, total });
}

impl Session {
    /// Probes WebGPU, loads the GloVe table and checks the presets against this device;
    /// the reply says what was found.
    pub async fn start(start: Start) -> Result<(Session, Ready)> {
        let Start {
            binding_limit,
            kernels,
        } = start;
        let webgpu = probe_webgpu().await;
        let glove = loader::fetch_bytes(loader::GLOVE_URL)
            .await
            .and_then(|b| Glove::from_bytes(loader::GLOVE_URL, &b));
        let binding = webgpu.as_ref().ok().map(|i| {
            let device = i.max_binding as u64;
            binding_limit.map_or(device, |f| f.min(device))
        });
        let ready = Ready {
            webgpu: webgpu.clone(),
            glove: glove.as_ref().map(|g| g.len()).map_err(|e| e.to_string()),
            presets: presets()
                .iter()
                .filter_map(|p| card::preset(p, binding))
                .collect(),
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
        Ok((session, ready))
    }

    /// Opens, describes, checks, loads and builds; the old model stays until the new one works.
    pub async fn load(
        &mut self,
        load: Load,
        files: Files,
        post: &impl Fn(Reply),
    ) -> Result<Loaded> {
        let Load {
            model,
            tokenizer,
            weights,
        } = load;
        let tokenizer = TokenizerSource::from_pick(tokenizer, files.tokenizer)?;
        let file = files.model;
        let model_url = match &model {
            ModelPick::Url(url) => {
                crate::protocol::check_url("model URL", url).map_err(Error::input)?;
                Some(url.clone())
            }
            _ => None,
        };
        // A URL's header is read first (two range requests): a model that cannot run here
        // is refused before its download, and the card shows what is coming.
        if let Some(url) = &model_url {
            if let Some((header, total)) = stream::preview(url).await? {
                self.describe_and_check(url, &header, total.unwrap_or(0), false, post)?;
            }
        }
        let file = open(model, file, post).await?;
        let header = stream::read_header(&file).await?;
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
            wasm_bytes: wasm_memory_bytes(),
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
        header: &Header,
        bytes: u64,
        cached: bool,
        post: &impl Fn(Reply),
    ) -> Result<Summary> {
        let summary = header.summary(name, bytes)?;
        post(Reply::Card(card::card(
            name,
            &summary,
            cached,
            self.webgpu.is_ok(),
        )));
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
        c.more = attention::compare(&mut self.attention, texts, post).await?;
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
    pub async fn trace(&mut self, request: &Trace) -> Result<String> {
        let Trace {
            sentence,
            layer,
            head,
        } = request;
        let (layer, head) = (*layer, *head);
        let backend = (self.backend.as_ref())
            .ok_or_else(|| Error::input("recurrence: no model loaded yet"))?;
        let tokens = self
            .tokenizer
            .encode(sentence.trim())
            .map_err(|e| Error::input(format!("recurrence sentence: {e}")))?;
        let max = MAX_TRACE_TOKENS;
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

    /// Loads an attention model beside the RWKV (one of the same label is replaced).
    pub async fn add_model(
        &mut self,
        pick: AttentionPick,
        files: Files,
        post: &impl Fn(Reply),
    ) -> Result<Added> {
        let m = attention::load(pick, (files.model, files.tokenizer), post).await?;
        let added = m.added();
        self.attention.retain(|old| old.label != m.label);
        self.attention.push(m);
        Ok(added)
    }

    /// One head's attention probabilities of the last attention model added.
    pub fn attend(&self, request: &Attend) -> Result<AttentionMap> {
        let m = self.attention.last().ok_or_else(|| {
            Error::input("no attention model loaded yet: press “Add attention model” first")
        })?;
        m.attend(&request.sentence, request.layer, request.head)
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
