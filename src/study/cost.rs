//! Cost by sentence length: the time per pair and the peak device memory of every model
//! of a run at sentence lengths T = 16…1024, on synthetic sentences of T one-token words
//! (no data files). Attention's work per layer grows with T² and its keys and values with
//! T; RWKV's state is fixed (`docs/recurrence.md` §9), so its cost per token stays flat.
//!
//! It is a mode of `rwkv-lens study` (`--lengths`), not a bench workload: it takes the
//! study's `--model` list as it is (RWKV checkpoints, BERT-family encoders, GPT-2 and
//! Llama decoders, each with its own tokenizer and `max_seq_length`), where the bench
//! measures RWKV shapes against peers. The workload is the bench's embedding one: both
//! sentences of a pair in one call, every layer, mean pooling.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rand_xoshiro::rand_core::SeedableRng;

use super::bootstrap::{below, SplitMix64};
use super::embedding::{tokenize_all, SentenceTable, StudyModel};
use super::report::{unix_now, Tool};
use crate::embed::{EngineKind, Pooling};
use crate::kit::hash::xxh64;
use crate::kit::markdown::{self, cells, num};
use crate::kit::median;
use crate::kit::progress::Progress;
use crate::{Error, Result};

/// Version of `results.json`'s layout in cost mode.
pub const COST_SCHEMA_VERSION: u32 = 1;

/// The plot's file name.
pub const PLOT: &str = "cost-by-length.svg";

/// Words that are one token each, alone or after a space, for the RWKV World tokenizer,
/// BERT's uncased WordPiece (all-MiniLM-L6-v2) and the byte-level BPE of SmolLM2
/// (checked in tests/it/study_cost.rs), so a sentence of T words is T tokens (plus an
/// encoder's `[CLS]`/`[SEP]`).
pub const WORDS: [&str; 145] = [
    "a", "about", "after", "against", "all", "also", "an", "and", "another", "any", "are", "as",
    "at", "back", "be", "because", "been", "before", "being", "between", "both", "but", "by",
    "came", "can", "come", "could", "day", "did", "do", "down", "each", "even", "first", "for",
    "from", "get", "go", "good", "great", "has", "have", "he", "her", "here", "his", "how", "if",
    "in", "into", "is", "it", "its", "just", "know", "last", "life", "like", "little", "long",
    "made", "make", "man", "many", "may", "me", "men", "might", "more", "most", "much", "must",
    "my", "never", "new", "no", "not", "now", "of", "off", "old", "on", "one", "only", "or",
    "other", "our", "out", "over", "own", "people", "right", "said", "same", "see", "she",
    "should", "since", "so", "some", "state", "still", "such", "take", "than", "that", "the",
    "their", "them", "then", "there", "these", "they", "this", "those", "three", "through", "time",
    "to", "too", "two", "under", "up", "us", "used", "very", "was", "way", "we", "well", "were",
    "what", "when", "where", "which", "while", "who", "will", "with", "work", "world", "year",
    "years", "you", "your",
];

/// `rwkv-lens study` flags of the cost mode.
#[derive(Debug, Clone, clap::Args)]
pub struct CostArgs {
    /// Cost by sentence length instead of the study: ms per pair and peak device memory
    /// of every model at these lengths in words, e.g. 16,32,64,128,256,512,1024 (no
    /// task, no baseline; writes results.json, results.md and cost-by-length.svg).
    #[arg(long, value_delimiter = ',', value_name = "T")]
    pub lengths: Vec<usize>,
    /// Timed pairs per length in the cost mode (their median is reported).
    #[arg(long, default_value_t = 5)]
    pub pairs_per_length: usize,
}

impl CostArgs {
    /// The lengths, shortest first and each once (so the engines' running peak of device
    /// memory is the peak of the length just run), after checking every value.
    pub fn checked_lengths(&self) -> Result<Vec<usize>> {
        if self.pairs_per_length == 0 {
            return Err(Error::input("--pairs-per-length must be at least 1"));
        }
        if let Some(t) = self.lengths.iter().find(|&&t| t == 0) {
            return Err(Error::input(format!(
                "--lengths: {t} is not a sentence length (expected whole numbers of words ≥ 1)"
            )));
        }
        let mut out = self.lengths.clone();
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

/// One model of the run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CostModel {
    pub label: String,
    pub path: Option<String>,
    pub engine: String,
    /// Blocks (layers 0…n_layer are embedded).
    pub n_layer: usize,
    pub n_embd: usize,
}

/// One model at one length.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CostRow {
    pub model: String,
    /// Words per sentence (T).
    pub words: usize,
    pub pairs: usize,
    /// Tokens the model read per sentence (mean over the pairs' sentences), special
    /// tokens included, after its tokenizer's truncation.
    pub tokens_read: f64,
    /// The tokenizer cut the sentences (an encoder's `max_seq_length`): more words would
    /// not add a token.
    pub truncated: bool,
    /// Seconds of each timed pair: both sentences in one call, every layer, mean pooling.
    pub seconds: Vec<f64>,
    /// Median of `seconds`, in milliseconds.
    pub ms_per_pair: f64,
    /// `ms_per_pair` over the tokens read per pair.
    pub ms_per_token: f64,
    /// Peak device memory the engine has allocated so far (lengths run shortest first);
    /// None on the CPU engines, which have no device.
    pub peak_device_bytes: Option<u64>,
}

/// `results.json` of a cost run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CostReport {
    pub schema_version: u32,
    pub tool: Tool,
    pub created_unix: u64,
    /// Sentence lengths in words, shortest first.
    pub lengths: Vec<usize>,
    pub pairs_per_length: usize,
    /// Seed of the synthetic sentences.
    pub seed: u64,
    /// Words the sentences are drawn from ([`WORDS`]).
    pub vocabulary: usize,
    pub pooling: Pooling,
    /// One untimed pair at the shortest length before each model's timed pairs.
    pub warmup_pairs: usize,
    pub models: Vec<CostModel>,
    pub rows: Vec<CostRow>,
    pub notes: Vec<String>,
}

/// Sentence `index` of length `words`: words drawn uniformly from [`WORDS`] by a
/// SplitMix64 seeded from (seed, words, index), so every run and model sees the same text.
pub fn sentence(words: usize, seed: u64, index: usize) -> String {
    let key = format!("cost/{words}/{index}");
    let mut rng = SplitMix64::seed_from_u64(xxh64(key.as_bytes(), seed));
    let picked: Vec<&str> = (0..words)
        .map(|_| WORDS[below(&mut rng, WORDS.len())])
        .collect();
    picked.join(" ")
}

/// The pairs at one length as a sentence table (pair i = sentences 2i and 2i + 1).
fn pairs_at(words: usize, pairs: usize, seed: u64) -> SentenceTable {
    SentenceTable {
        texts: (0..2 * pairs).map(|i| sentence(words, seed, i)).collect(),
        pair_ids: (0..pairs as u32).map(|i| [2 * i, 2 * i + 1]).collect(),
    }
}

/// Measures every model at every length (model after model, lengths shortest first).
pub fn run(
    models: &mut [StudyModel],
    args: &CostArgs,
    seed: u64,
    progress: bool,
) -> Result<CostReport> {
    let lengths = args.checked_lengths()?;
    if lengths.is_empty() {
        return Err(Error::input("--lengths: no length given"));
    }
    let mut rows = Vec::new();
    for model in models.iter_mut() {
        let bar = Progress::bar(progress, format!("{} · cost", model.label), "pairs");
        let total = (lengths.len() * args.pairs_per_length) as u64;
        for (k, &words) in lengths.iter().enumerate() {
            let done = (k * args.pairs_per_length) as u64;
            let on_pair = |i: usize| bar.set(done + i as u64, total);
            rows.push(measure(
                model,
                words,
                args.pairs_per_length,
                seed,
                k == 0,
                on_pair,
            )?);
        }
    }
    Ok(CostReport {
        schema_version: COST_SCHEMA_VERSION,
        tool: Tool::this(),
        created_unix: unix_now(),
        notes: notes(&rows),
        models: models.iter().map(describe).collect(),
        lengths,
        pairs_per_length: args.pairs_per_length,
        seed,
        vocabulary: WORDS.len(),
        pooling: Pooling::Mean,
        warmup_pairs: 1,
        rows,
    })
}

fn describe(m: &StudyModel) -> CostModel {
    let config = m.engine.config();
    CostModel {
        label: m.label.clone(),
        path: m.path.as_ref().map(|p| p.display().to_string()),
        engine: m.engine.name(),
        n_layer: config.n_layer,
        n_embd: config.n_embd,
    }
}

/// One model at one length: the pairs tokenized (and checked), one untimed pair first
/// when `warmup`, then each pair timed.
fn measure(
    model: &mut StudyModel,
    words: usize,
    pairs: usize,
    seed: u64,
    warmup: bool,
    on_pair: impl Fn(usize),
) -> Result<CostRow> {
    let table = pairs_at(words, pairs, seed);
    let tokens = tokenize_all(model, &table, &format!("cost T={words}"))?;
    let truncated = is_truncated(model, &table.texts[0], tokens[0].len())?;
    let layers: Vec<usize> = (0..=model.engine.config().n_layer).collect();
    let pool = [Pooling::Mean];
    if warmup {
        model.engine.embed_tokens(&tokens[..2], &layers, &pool)?;
    }
    let mut seconds = Vec::with_capacity(pairs);
    for (i, pair) in tokens.chunks(2).enumerate() {
        let t0 = Instant::now();
        model.engine.embed_tokens(pair, &layers, &pool)?;
        seconds.push(t0.elapsed().as_secs_f64());
        on_pair(i + 1);
    }
    let tokens_read = tokens.iter().map(Vec::len).sum::<usize>() as f64 / tokens.len() as f64;
    let ms_per_pair = 1e3 * median(&seconds);
    Ok(CostRow {
        model: model.label.clone(),
        words,
        pairs,
        tokens_read,
        truncated,
        seconds,
        ms_per_pair,
        ms_per_token: ms_per_pair / (2.0 * tokens_read),
        peak_device_bytes: (model.engine.kind() == EngineKind::Gpu)
            .then(|| model.engine.peak_memory_bytes()),
    })
}

/// Whether the tokenizer cut `text` (read as `read` tokens): one more word adds no token.
fn is_truncated(model: &StudyModel, text: &str, read: usize) -> Result<bool> {
    let longer = (model.tokenize)(&format!("{text} {}", WORDS[0]))?;
    Ok(longer.len() == read)
}

fn notes(rows: &[CostRow]) -> Vec<String> {
    let mut out = vec![
        "ms per pair: the median over the timed pairs; ms per token: that over the tokens read per pair".to_string(),
    ];
    for r in rows.iter().filter(|r| r.truncated) {
        out.push(format!(
            "{} at T = {}: the tokenizer cut each sentence to {} tokens (max_seq_length), so this is the cost of a shorter sentence",
            r.model, r.words, r.tokens_read
        ));
    }
    out
}

impl CostReport {
    pub fn to_json(&self) -> Result<String> {
        crate::io::to_json(self, "the cost report")
    }

    /// results.md: the settings, one row per model and length, the notes.
    pub fn markdown(&self) -> String {
        let mut s = String::from("# Cost by sentence length\n\n");
        s.push_str(&format!(
            "Synthetic sentences of T words drawn from {} one-token words (seed {}), {} timed pairs per length after {} untimed, both sentences of a pair in one call, every layer, {} pooling. Lengths {:?}.\n\n",
            self.vocabulary, self.seed, self.pairs_per_length, self.warmup_pairs, self.pooling.name(), self.lengths
        ));
        let rows = self.rows.iter().map(|r| {
            let engine =
                (self.models.iter().find(|m| m.label == r.model)).map_or("", |m| m.engine.as_str());
            let read = match r.truncated {
                true => format!("{} (cut)", r.tokens_read),
                false => format!("{}", r.tokens_read),
            };
            let mib = r.peak_device_bytes.map(|b| b as f64 / f64::from(1 << 20));
            cells![
                r.model,
                engine,
                r.words,
                read,
                num(Some(r.ms_per_pair), 2),
                num(Some(r.ms_per_token), 4),
                num(mib, 1)
            ]
        });
        markdown::table(
            &mut s,
            "model | engine | T (words) | tokens read | ms/pair (median) | ms/token | peak device MiB",
            "llrrrrr",
            rows,
        );
        s.push('\n');
        for n in &self.notes {
            s.push_str(&format!("- {n}\n"));
        }
        s
    }

    /// Writes results.json, results.md and the plot into `out_dir`, each atomically.
    pub fn write(&self, out_dir: &Path) -> Result<Vec<PathBuf>> {
        let files = [
            ("results.json".to_string(), self.to_json()?),
            ("results.md".to_string(), self.markdown()),
            (PLOT.to_string(), super::cost_plot::plot(self)),
        ];
        crate::io::write_files(out_dir, files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_are_deterministic_and_of_t_words() {
        assert_eq!(sentence(16, 7, 3), sentence(16, 7, 3));
        assert_ne!(sentence(16, 7, 3), sentence(16, 7, 4));
        assert_eq!(sentence(40, 7, 0).split(' ').count(), 40);
        let args = CostArgs {
            lengths: vec![64, 16, 64],
            pairs_per_length: 2,
        };
        assert_eq!(args.checked_lengths().unwrap(), [16, 64]);
        let zero = CostArgs {
            lengths: vec![0],
            ..args
        };
        assert!(zero
            .checked_lengths()
            .unwrap_err()
            .to_string()
            .contains("--lengths"));
    }
}
