//! The engine trait both the CPU reference and the GPU engine implement, pooling,
//! and the layer/pooling bookkeeping of per-layer sentence embeddings.
//!
//! Layer numbering (used everywhere: CLI, study, browser): layer 0 is `ln0(emb)`,
//! layer i (1..=L) is the output of block i (1-based), at true scale.

pub mod batch;
pub mod device;

pub use batch::{embed_all, BatchError, Batching, Blame, TOO_LARGE_HINT};
pub use device::{auto_engine, EngineKind};

use crate::model::Config;
use crate::model::Precision;
use crate::{Error, Result};

/// How one layer's hidden states `[T][C]` become one vector `[C]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Mean over the real (unpadded) tokens.
    Mean,
    /// The last real token.
    Last,
}

impl Pooling {
    pub fn parse(s: &str) -> Result<Pooling> {
        match s.trim() {
            "mean" => Ok(Pooling::Mean),
            "last" => Ok(Pooling::Last),
            other => Err(Error::input(format!(
                "unknown pooling `{other}` (expected mean or last)"
            ))),
        }
    }
    /// `mean`, `last` or `mean,last` (order kept, duplicates dropped).
    pub fn parse_list(spec: &str) -> Result<Vec<Pooling>> {
        let mut out = Vec::new();
        for p in spec.split(',') {
            let p = Pooling::parse(p)?;
            if !out.contains(&p) {
                out.push(p);
            }
        }
        Ok(out)
    }

    pub fn name(self) -> &'static str {
        match self {
            Pooling::Mean => "mean",
            Pooling::Last => "last",
        }
    }
}

/// Where layer `layer` of an `n_layer`-block model sits on the common relative-depth axis
/// the study and the page compare models on: `layer / L` (0 = embeddings, 1 = the last block).
pub fn relative_depth(layer: usize, n_layer: usize) -> f64 {
    layer as f64 / n_layer.max(1) as f64
}

/// Cosine similarity in f64; `None` when either vector has zero norm.
pub fn cosine(a: &[f32], b: &[f32]) -> Option<f64> {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64, y as f64);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        return None;
    }
    Some(ab / (aa.sqrt() * bb.sqrt()))
}

/// Parses `all` or a comma list like `1,3,5` into layer indices in `0..=n_layer`.
pub fn parse_layers(spec: &str, n_layer: usize) -> Result<Vec<usize>> {
    if spec.trim() == "all" {
        return Ok((0..=n_layer).collect());
    }
    let mut out = Vec::new();
    for part in spec.split(',') {
        let i: usize = part.trim().parse().map_err(|_| {
            Error::input(format!(
                "layer `{part}` is not a number (expected `all` or e.g. 1,3,5)"
            ))
        })?;
        check_layers(&[i], n_layer)?;
        if !out.contains(&i) {
            out.push(i);
        }
    }
    Ok(out)
}

/// Every requested layer must be one of the model's `0..=n_layer`.
pub fn check_layers(layers: &[usize], n_layer: usize) -> Result<()> {
    match layers.iter().find(|&&l| l > n_layer) {
        Some(l) => Err(Error::input(format!(
            "layer {l} is out of range: this model has layers 0..={n_layer}"
        ))),
        None => Ok(()),
    }
}

/// The one message for a token id the model has no embedding row for, `None` when every
/// id of `ids` is inside `0..vocab`. Callers say where the ids came from (a sequence, an
/// input line, a sentence of a task).
pub fn outside_vocabulary(ids: &[u32], vocab: usize) -> Option<String> {
    let at = ids.iter().position(|&id| id as usize >= vocab)?;
    Some(format!(
        "token id {} at position {at} is outside the model's vocabulary of {vocab} (is the tokenizer right for this model?)",
        ids[at]
    ))
}

/// Every sequence holds a token, every id inside the vocabulary: the check each engine
/// makes before it embeds (one message for each problem, whichever engine runs).
pub fn check_tokens(tokens: &[Vec<u32>], vocab: usize) -> Result<()> {
    for (s, seq) in tokens.iter().enumerate() {
        if seq.is_empty() {
            return Err(Error::input(format!(
                "sequence {s} has no tokens (empty text?)"
            )));
        }
        if let Some(why) = outside_vocabulary(seq, vocab) {
            return Err(Error::input(format!("sequence {s}: {why}")));
        }
    }
    Ok(())
}

/// Pooled embeddings for `n` texts, for each requested layer and pooling.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    pub layers: Vec<usize>,
    pub poolings: Vec<Pooling>,
    pub n: usize,
    pub dim: usize,
    /// `[pooling][layer][text][dim]`, flattened.
    pub data: Vec<f32>,
}

impl Embeddings {
    pub fn zeros(layers: &[usize], poolings: &[Pooling], n: usize, dim: usize) -> Self {
        let data = vec![0.0; poolings.len() * layers.len() * n * dim];
        Embeddings {
            layers: layers.to_vec(),
            poolings: poolings.to_vec(),
            n,
            dim,
            data,
        }
    }
    fn offset(&self, p: usize, l: usize, text: usize) -> usize {
        ((p * self.layers.len() + l) * self.n + text) * self.dim
    }
    /// The vector of text `text` at position `l` of `layers` with pooling number `p`.
    pub fn get(&self, p: usize, l: usize, text: usize) -> &[f32] {
        let o = self.offset(p, l, text);
        &self.data[o..o + self.dim]
    }
    pub fn get_mut(&mut self, p: usize, l: usize, text: usize) -> &mut [f32] {
        let o = self.offset(p, l, text);
        &mut self.data[o..o + self.dim]
    }
}

/// max |a − b| / max(1, max |b|): the error measure of every engine-vs-engine check
/// (absolute for values up to 1, relative to the largest value above). NaN if any is NaN.
pub fn scaled_error(a: &[f32], b: &[f32]) -> f32 {
    let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, |m: f32, d| {
            if d.is_nan() || m.is_nan() {
                f32::NAN
            } else {
                m.max(d)
            }
        });
    worst / scale
}

/// Anything that turns token sequences into per-layer pooled embeddings.
/// Implemented by the CPU reference and the GPU engine, so callers can switch.
pub trait Engine {
    /// Human-readable name: "cpu reference" or the GPU adapter's name.
    fn name(&self) -> String;
    fn config(&self) -> &Config;
    /// Embeds one batch of token sequences (each non-empty); padding is internal.
    fn embed_tokens(
        &mut self,
        tokens: &[Vec<u32>],
        layers: &[usize],
        poolings: &[Pooling],
    ) -> Result<Embeddings>;
    /// Storage precision of the weights, part of the study's cache key.
    fn precision(&self) -> Precision {
        Precision::F32
    }
    /// Peak bytes of device memory this engine has allocated (0 for the CPU path).
    fn peak_memory_bytes(&self) -> u64 {
        0
    }
    /// Which engine this is (the study checks GPU engines against the reference).
    fn kind(&self) -> EngineKind {
        EngineKind::Cpu
    }
}

/// Pools one sequence's hidden states `[T][C]` (only the first `len` rows are real).
pub fn pool(hidden: &[f32], len: usize, dim: usize, pooling: Pooling, out: &mut [f32]) {
    match pooling {
        Pooling::Mean => {
            out.fill(0.0);
            for t in 0..len {
                for (o, h) in out.iter_mut().zip(&hidden[t * dim..(t + 1) * dim]) {
                    *o += h;
                }
            }
            let inv = 1.0 / len as f32;
            out.iter_mut().for_each(|o| *o *= inv);
        }
        Pooling::Last => out.copy_from_slice(&hidden[(len - 1) * dim..len * dim]),
    }
}

/// Pools each layer of a packed forward pass as it arrives (hidden states `[rows][C]`,
/// the sequences row after row) and remembers the first layer holding NaN/Inf: the
/// bookkeeping every engine that pools on the host shares (the RWKV reference, both
/// attention engines).
pub struct LayerPooler<'a> {
    layers: &'a [usize],
    poolings: &'a [Pooling],
    /// `(first row, length)` of every sequence.
    spans: Vec<(usize, usize)>,
    out: Embeddings,
    bad: Option<usize>,
}

impl<'a> LayerPooler<'a> {
    /// Refuses a layer outside the model's `0..=L` (it would come back as zeros).
    pub fn new(
        layers: &'a [usize],
        poolings: &'a [Pooling],
        lengths: &[usize],
        model: &Config,
    ) -> Result<Self> {
        check_layers(layers, model.n_layer)?;
        let starts = lengths
            .iter()
            .scan(0, |acc, &l| Some(std::mem::replace(acc, *acc + l)));
        Ok(LayerPooler {
            layers,
            poolings,
            spans: starts.zip(lengths.iter().copied()).collect(),
            out: Embeddings::zeros(layers, poolings, lengths.len(), model.n_embd),
            bad: None,
        })
    }

    /// Takes layer `layer`'s hidden states (checked for NaN/Inf whether requested or not).
    pub fn add(&mut self, layer: usize, x: &[f32]) {
        if self.bad.is_none() && x.iter().any(|v| !v.is_finite()) {
            self.bad = Some(layer);
        }
        let Some(l) = self.layers.iter().position(|&i| i == layer) else {
            return;
        };
        let c = self.out.dim;
        for (b, &(start, len)) in self.spans.iter().enumerate() {
            for (p, &pooling) in self.poolings.iter().enumerate() {
                let rows = &x[start * c..(start + len) * c];
                pool(rows, len, c, pooling, self.out.get_mut(p, l, b));
            }
        }
    }

    /// The pooled embeddings, or an error naming the first non-finite layer of `who`.
    pub fn finish(self, who: &str) -> Result<Embeddings> {
        match self.bad {
            Some(layer) => Err(Error::NonFinite(format!(
                "layer {layer} of the {who} produced NaN/Inf"
            ))),
            None => Ok(self.out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_zero_vector_is_none() {
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), None);
        assert!((cosine(&[1.0, 1.0], &[1.0, 0.0]).unwrap() - 0.5f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn layers_parse() {
        assert_eq!(parse_layers("all", 2).unwrap(), vec![0, 1, 2]);
        assert_eq!(parse_layers("1, 3,1", 5).unwrap(), vec![1, 3]);
        assert!(parse_layers("7", 6)
            .unwrap_err()
            .to_string()
            .contains("0..=6"));
        assert!(parse_layers("x", 6).is_err());
    }

    #[test]
    fn mean_and_last_pooling() {
        let h = [1.0, 2.0, 3.0, 4.0, 100.0, 100.0]; // T=3 (last row is padding), C=2
        let mut out = [0.0; 2];
        pool(&h, 2, 2, Pooling::Mean, &mut out);
        assert_eq!(out, [2.0, 3.0]);
        pool(&h, 2, 2, Pooling::Last, &mut out);
        assert_eq!(out, [3.0, 4.0]);
    }
}
