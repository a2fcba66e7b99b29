//! From sentences to similarity series: each unique sentence of a task embedded once
//! per model (both columns deduplicated, length-sorted batches, every requested layer
//! and pooling from one forward pass), then one cosine per pair and per
//! (pooling, layer), plus the anisotropy of each layer and the run's profile.

use std::collections::HashMap;
use std::time::Instant;

use super::bootstrap::{below, SplitMix64};
use super::cache::{content_hashes, CacheKey, EmbeddingCache};
use super::check;
use crate::data::Pair;
use crate::embed::{
    cosine, embed_all, BatchError, Batching, Blame, Embeddings, Engine, Pooling, TOO_LARGE_HINT,
};
use crate::glove::Glove;
use crate::kit::hash::{xxh64, FileId};
use crate::kit::memory::peak_rss_bytes;
use crate::{Error, Result};
use rand_xoshiro::rand_core::SeedableRng;

/// Tokenizer handed in by the caller (the RWKV World tokenizer in the CLI).
pub type TokenizeFn<'a> = Box<dyn Fn(&str) -> Result<Vec<u32>> + 'a>;

/// A model under study: an engine, its tokenizer and its identity.
pub struct StudyModel<'a> {
    /// Name used in tables and plots.
    pub label: String,
    /// Checkpoint file or directory, hashed into `results.json` (None: not on disk).
    pub path: Option<std::path::PathBuf>,
    pub engine: Box<dyn Engine + 'a>,
    pub tokenize: TokenizeFn<'a>,
    /// The plain-Rust reference that re-embeds a sample of each task's sentences to check
    /// the engine (`study::check`); set for the GPU engine.
    pub reference: Option<Box<dyn Engine + 'a>>,
}

impl<'a> StudyModel<'a> {
    /// A model labelled with its file stem, or its folder's name when the stem is the
    /// generic `model` (`tiny-v6/model.safetensors`, a sentence-transformers `…/NAME/model`).
    pub fn new(
        path: &std::path::Path,
        engine: Box<dyn Engine + 'a>,
        tokenize: TokenizeFn<'a>,
    ) -> Self {
        let folder = path.parent().and_then(|p| p.file_name());
        let generic = |s: &&std::ffi::OsStr| *s == "model" && folder.is_some();
        let stem = path.file_stem().filter(|s| !generic(s)).or(folder);
        let label = stem.map(|s| s.to_string_lossy().into_owned());
        StudyModel {
            label: label.unwrap_or_else(|| path.display().to_string()),
            path: Some(path.to_path_buf()),
            engine,
            tokenize,
            reference: None,
        }
    }
}

/// The unique sentences of a task and each pair's two indices into them.
#[derive(Debug, Clone)]
pub struct SentenceTable {
    pub texts: Vec<String>,
    pub pair_ids: Vec<[u32; 2]>,
}

impl SentenceTable {
    pub fn new<'a>(pairs: &'a [Pair]) -> Self {
        let mut index: HashMap<&'a str, u32> = HashMap::new();
        let mut texts: Vec<String> = Vec::new();
        let mut pair_ids = Vec::with_capacity(pairs.len());
        for p in pairs {
            let mut id = |s: &'a str| -> u32 {
                *index.entry(s).or_insert_with(|| {
                    texts.push(s.to_string());
                    texts.len() as u32 - 1
                })
            };
            pair_ids.push([id(&p.s1), id(&p.s2)]);
        }
        SentenceTable { texts, pair_ids }
    }
}

/// Cosine similarities of every pair for one model × pooling × layer (or the baseline).
#[derive(Debug, Clone)]
pub struct Series {
    pub model: String,
    pub pooling: Option<Pooling>,
    pub layer: Option<usize>,
    /// Cosine per pair; 0 where undefined (a zero vector).
    pub sims: Vec<f64>,
    /// Pairs whose cosine is undefined.
    pub undefined: Vec<bool>,
    /// Mean cosine of random sentence pairs.
    pub anisotropy: Option<f64>,
}

/// Speed and memory of one model (or baseline) on one task.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TaskTiming {
    pub model: String,
    pub task: String,
    pub engine: String,
    pub pairs: usize,
    pub unique_sentences: usize,
    pub tokens: usize,
    /// Forward passes over the sentences (1 unless the embedding memory budget split the layers).
    pub passes: usize,
    /// Tokenization + forward passes (not loading, not scoring); for vectors read
    /// from the cache, the time measured when they were computed.
    pub seconds: f64,
    /// Every vector came from the embedding cache (a resumed run).
    pub cached: bool,
    pub pairs_per_s: f64,
    pub tokens_per_s: f64,
    pub ms_per_pair: f64,
    pub peak_gpu_bytes: u64,
    /// Peak resident set of the process so far (VmHWM), if readable.
    pub peak_rss_bytes: Option<u64>,
}

impl TaskTiming {
    /// `tokens` of a task's sentences embedded in `seconds` (one pass, nothing cached,
    /// no device memory: the callers set what differs).
    fn timed(
        model: &str,
        task: &str,
        table: &SentenceTable,
        tokens: usize,
        seconds: f64,
    ) -> TaskTiming {
        let pairs = table.pair_ids.len();
        let per_s = |x: usize| {
            if seconds > 0.0 {
                x as f64 / seconds
            } else {
                0.0
            }
        };
        TaskTiming {
            model: model.to_string(),
            task: task.to_string(),
            engine: String::new(),
            pairs,
            unique_sentences: table.texts.len(),
            tokens,
            passes: 1,
            seconds,
            cached: false,
            pairs_per_s: per_s(pairs),
            tokens_per_s: per_s(tokens),
            ms_per_pair: seconds * 1000.0 / pairs.max(1) as f64,
            peak_gpu_bytes: 0,
            peak_rss_bytes: peak_rss_bytes(),
        }
    }
}

/// Knobs of the embedding step.
pub struct EmbedOptions<'a> {
    pub task: &'a str,
    pub layers: &'a [usize],
    pub poolings: &'a [Pooling],
    pub batch_size: usize,
    pub embed_memory_bytes: usize,
    pub anisotropy_pairs: usize,
    pub seed: u64,
    /// The embedding cache and the checkpoint's identity (both needed to use it).
    pub cache: Option<(&'a EmbeddingCache, &'a FileId)>,
}

/// The seeded random sentence pairs (a ≠ b) used for anisotropy, same for all models.
pub fn anisotropy_pairs(n: usize, count: usize, seed: u64, task: &str) -> Vec<[u32; 2]> {
    if n < 2 {
        return Vec::new();
    }
    let mut rng = SplitMix64::seed_from_u64(xxh64(format!("{task}/anisotropy").as_bytes(), seed));
    (0..count)
        .map(|_| {
            let a = below(&mut rng, n);
            let b = (a + 1 + below(&mut rng, n - 1)) % n; // uniform over the others
            [a as u32, b as u32]
        })
        .collect()
}

/// A sentence for an error message: at most 60 characters, on one line.
pub fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(60).flat_map(char::escape_debug).collect();
    if text.chars().count() > 60 {
        out.push('…');
    }
    format!("`{out}`")
}

/// Token ids of every sentence, each non-empty and inside the model's vocabulary.
pub(super) fn tokenize_all(
    model: &StudyModel,
    table: &SentenceTable,
    task: &str,
) -> Result<Vec<Vec<u32>>> {
    let vocab = model.engine.config().vocab_size;
    let at = |t: &str| format!("{} on task {task}: sentence {}", model.label, shown(t));
    table
        .texts
        .iter()
        .map(|t| {
            let ids = (model.tokenize)(t).map_err(|e| Error::input(format!("{}: {e}", at(t))))?;
            if ids.is_empty() {
                return Err(Error::input(format!("{} tokenizes to no tokens", at(t))));
            }
            if let Some(why) = crate::embed::outside_vocabulary(&ids, vocab) {
                return Err(Error::input(format!("{}: {why}", at(t))));
            }
            Ok(ids)
        })
        .collect()
}

/// Splits the layers into the fewest groups whose pooled embeddings fit the budget.
fn layer_groups(layers: &[usize], per_layer_bytes: usize, budget: usize) -> Vec<Vec<usize>> {
    let fit = (budget / per_layer_bytes.max(1)).clamp(1, layers.len().max(1));
    let passes = layers.len().div_ceil(fit).max(1);
    let size = layers.len().div_ceil(passes).max(1);
    layers.chunks(size).map(|c| c.to_vec()).collect()
}

/// Embeds every unique sentence with one model and returns one series per
/// (pooling, layer), in pooling-major order, with the profile. `on_batch(done, total)`
/// reports sentences embedded so far over all passes. Each layer group is read from
/// the cache when it holds it, and written there as soon as it is computed.
pub fn embed_model(
    model: &mut StudyModel,
    table: &SentenceTable,
    opt: &EmbedOptions,
    on_batch: &mut dyn FnMut(usize, usize),
) -> Result<(Vec<Series>, TaskTiming)> {
    let start = Instant::now();
    let tokens = tokenize_all(model, table, opt.task)?;
    let dim = model.engine.config().n_embd;
    let per_layer = table.texts.len() * dim * opt.poolings.len() * 4;
    let groups = layer_groups(opt.layers, per_layer, opt.embed_memory_bytes);
    let mut forward = Forward {
        hashes: content_hashes(&table.texts, &tokens),
        model,
        opt,
        tokens: &tokens,
        texts: &table.texts,
        seconds: start.elapsed().as_secs_f64(),
        cached: true,
        peak_gpu_bytes: 0,
    };
    let random_pairs =
        anisotropy_pairs(table.texts.len(), opt.anisotropy_pairs, opt.seed, opt.task);
    let mut by_key = Vec::new();
    let total = tokens.len() * groups.len();
    for (c, group) in groups.iter().enumerate() {
        let mut report = |done: usize| on_batch(c * tokens.len() + done, total);
        let store = forward.layer_group(group, &mut report)?;
        let label = &forward.model.label;
        for (p, &pooling) in opt.poolings.iter().enumerate() {
            for (l, &layer) in group.iter().enumerate() {
                let get = |i: u32| store.get(p, l, i as usize);
                let mut s = series_from(label, &table.pair_ids, get, &random_pairs);
                (s.pooling, s.layer) = (Some(pooling), Some(layer));
                by_key.push(((p, layer), s));
            }
        }
    }
    by_key.sort_by_key(|(k, _)| *k);
    let n_tokens = tokens.iter().map(Vec::len).sum();
    let profile = TaskTiming {
        engine: forward.model.engine.name(),
        passes: groups.len(),
        cached: forward.cached,
        peak_gpu_bytes: forward.peak_gpu_bytes,
        ..TaskTiming::timed(
            &forward.model.label,
            opt.task,
            table,
            n_tokens,
            forward.seconds,
        )
    };
    Ok((by_key.into_iter().map(|(_, s)| s).collect(), profile))
}

/// The forward passes of one model over one task, layer group by layer group.
struct Forward<'f, 'm> {
    model: &'f mut StudyModel<'m>,
    opt: &'f EmbedOptions<'f>,
    tokens: &'f [Vec<u32>],
    texts: &'f [String],
    /// xxh64s of the sentences and of their token ids (cache key).
    hashes: (String, String),
    seconds: f64,
    /// Every group so far came from the cache.
    cached: bool,
    peak_gpu_bytes: u64,
}

impl Forward<'_, '_> {
    /// `MODEL on task TASK`, for messages.
    fn what(&self) -> String {
        format!("{} on task {}", self.model.label, self.opt.task)
    }

    /// One layer group's vectors: from the cache, else computed (and then cached).
    fn layer_group(
        &mut self,
        layers: &[usize],
        on_batch: &mut dyn FnMut(usize),
    ) -> Result<Embeddings> {
        let cache = (self.opt.cache).map(|(cache, file)| (cache, self.key(layers, file)));
        if let Some(hit) = cache.as_ref().and_then(|(c, key)| c.load(key)) {
            on_batch(self.tokens.len());
            self.seconds += hit.forward_seconds;
            self.peak_gpu_bytes = self.peak_gpu_bytes.max(hit.peak_gpu_bytes);
            return Ok(hit.embeddings);
        }
        self.cached = false;
        let t = Instant::now();
        let store = self.run(layers, on_batch)?;
        let seconds = t.elapsed().as_secs_f64();
        self.check(layers, &store)?;
        self.seconds += seconds;
        let peak = self.model.engine.peak_memory_bytes();
        self.peak_gpu_bytes = self.peak_gpu_bytes.max(peak);
        if let Some((c, key)) = &cache {
            c.store(key, &store, seconds, peak);
        }
        Ok(store)
    }

    /// The reference check of freshly computed vectors (not of cached ones: those were
    /// checked when computed).
    fn check(&mut self, layers: &[usize], store: &Embeddings) -> Result<()> {
        let tol = check::tolerance(self.model.engine.precision());
        let Some(reference) = self.model.reference.as_deref_mut() else {
            return Ok(());
        };
        let input = check::CheckInput {
            label: &self.model.label,
            task: self.opt.task,
            tokens: self.tokens,
            texts: self.texts,
            layers,
            poolings: self.opt.poolings,
            seed: self.opt.seed,
        };
        check::check(&input, store, reference, tol)
    }

    fn key(&self, layers: &[usize], file: &FileId) -> CacheKey {
        let engine = &self.model.engine;
        CacheKey {
            model_xxh64: file.xxh64.clone(),
            model_bytes: file.bytes,
            engine: engine.name(),
            precision: engine.precision().name().to_string(),
            layers: layers.to_vec(),
            poolings: self.opt.poolings.to_vec(),
            batch_size: self.opt.batch_size,
            sentences: self.texts.len(),
            dim: engine.config().n_embd,
            texts_xxh64: self.hashes.0.clone(),
            tokens_xxh64: self.hashes.1.clone(),
        }
    }

    /// Runs the length-sorted batches (`embed::embed_all`) and names what failed: the
    /// sentence, or the batch the device failed on (finished units stay cached).
    fn run(&mut self, layers: &[usize], on_batch: &mut dyn FnMut(usize)) -> Result<Embeddings> {
        let (what, texts) = (self.what(), self.texts);
        let opt = Batching {
            layers,
            poolings: self.opt.poolings,
            max_batch: self.opt.batch_size,
            what: &what,
            blame: Blame::Longest,
        };
        let run = embed_all(self.model.engine.as_mut(), self.tokens, &opt, on_batch);
        let sentence = |i: usize| shown(&texts[i]);
        let resume = "(finished model × task units stay cached: rerun to resume)";
        run.map_err(|e| match e {
            BatchError::NonFinite { index, why } => {
                Error::NonFinite(format!("{what}: sentence {}: {why}", sentence(index)))
            }
            BatchError::NonFiniteTogether { first, len, why } => Error::NonFinite(format!(
                "{what}: a batch of {len} sentences (first {}): {why}; each alone is finite",
                sentence(first)
            )),
            BatchError::TooLarge { index, batch, batches } => Error::gpu(format!(
                "{what}, batch {batch} of {batches}: out of memory: even the single sentence {} does not fit the device ({TOO_LARGE_HINT}) {resume}",
                sentence(index)
            )),
            BatchError::Device { batch, batches, error } => Error::gpu(format!(
                "{what}, batch {batch} of {batches}: {} {resume}",
                error.gpu_detail().unwrap_or_default()
            )),
            BatchError::Engine(e) => e,
        })
    }
}

/// Cosines of the task's pairs and of the random pairs, for one vector lookup.
fn series_from<'v>(
    model: &str,
    pair_ids: &[[u32; 2]],
    get: impl Fn(u32) -> &'v [f32],
    random_pairs: &[[u32; 2]],
) -> Series {
    let cos: Vec<Option<f64>> = pair_ids
        .iter()
        .map(|[a, b]| cosine(get(*a), get(*b)))
        .collect();
    let random: Vec<f64> = random_pairs
        .iter()
        .filter_map(|[a, b]| cosine(get(*a), get(*b)))
        .collect();
    Series {
        model: model.to_string(),
        pooling: None,
        layer: None,
        sims: cos.iter().map(|c| c.unwrap_or(0.0)).collect(),
        undefined: cos.iter().map(Option::is_none).collect(),
        anisotropy: (!random.is_empty()).then(|| random.iter().sum::<f64>() / random.len() as f64),
    }
}

/// Token coverage of the GloVe baseline on one task.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GloveCoverage {
    pub tokens: usize,
    pub known_tokens: usize,
    /// Unique sentences with no known token (no vector).
    pub sentences_without_vector: usize,
    /// Pairs scored 0 because a side has no vector.
    pub undefined_pairs: usize,
}

/// The GloVe baseline's series on one task, its profile and coverage.
pub fn glove_series(
    glove: &Glove,
    name: &str,
    table: &SentenceTable,
    task: &str,
    random_pairs: &[[u32; 2]],
) -> (Series, TaskTiming, GloveCoverage) {
    let start = Instant::now();
    let vectors: Vec<_> = table.texts.iter().map(|t| glove.embed(t)).collect();
    let zero = vec![0.0f32; glove.dim];
    let get = |i: u32| vectors[i as usize].vector.as_deref().unwrap_or(&zero);
    let series = series_from(name, &table.pair_ids, get, random_pairs);
    let seconds = start.elapsed().as_secs_f64();
    let coverage = GloveCoverage {
        tokens: vectors.iter().map(|v| v.tokens).sum(),
        known_tokens: vectors.iter().map(|v| v.known).sum(),
        sentences_without_vector: vectors.iter().filter(|v| v.vector.is_none()).count(),
        undefined_pairs: series.undefined.iter().filter(|&&u| u).count(),
    };
    let profile = TaskTiming {
        engine: "cpu (word-vector average)".into(),
        ..TaskTiming::timed(name, task, table, coverage.tokens, seconds)
    };
    (series, profile, coverage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedupe_across_columns() {
        let p = |a: &str, b: &str| Pair {
            s1: a.into(),
            s2: b.into(),
            gold: 0.0,
            subset: String::new(),
            domain: String::new(),
        };
        let t = SentenceTable::new(&[p("a", "b"), p("b", "c"), p("a", "a")]);
        assert_eq!(t.texts, ["a", "b", "c"]);
        assert_eq!(t.pair_ids, [[0, 1], [1, 2], [0, 0]]);
    }

    #[test]
    fn layer_chunks_fit_budget() {
        assert_eq!(layer_groups(&[1, 2, 3], 10, 100), vec![vec![1, 2, 3]]);
        assert_eq!(
            layer_groups(&[1, 2, 3, 4, 5], 10, 20),
            vec![vec![1, 2], vec![3, 4], vec![5]]
        );
        assert_eq!(layer_groups(&[1, 2], 10, 1), vec![vec![1], vec![2]]);
    }

    #[test]
    fn anisotropy_pairs_distinct_and_seeded() {
        let a = anisotropy_pairs(5, 200, 1, "t");
        assert!(a.iter().all(|[x, y]| x != y && *x < 5 && *y < 5));
        assert_eq!(a, anisotropy_pairs(5, 200, 1, "t"));
        assert_ne!(a, anisotropy_pairs(5, 200, 2, "t"));
    }
}
