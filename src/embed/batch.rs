//! Many sequences through an engine: length-sorted batches (longest first, so an
//! out-of-memory shows at the start), each halved on out-of-memory down to one sequence,
//! every vector checked for NaN/Inf, and a failure told by the input it concerns, for
//! the caller to name it (the study names the sentence, `embed` the input line).

use super::{Embeddings, Engine, Pooling};
use crate::Error;

/// What to embed and how many sequences share a forward pass.
pub struct Batching<'a> {
    pub layers: &'a [usize],
    pub poolings: &'a [Pooling],
    /// Sequences per forward pass (before any halving).
    pub max_batch: usize,
    /// The run, for the out-of-memory warning (`MODEL on task TASK`, a model path).
    pub what: &'a str,
    /// Which input a NaN/Inf batch is blamed on when several fail alone.
    pub blame: Blame,
}

/// The input named when several of a NaN/Inf batch fail on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// The longest (ties: the earliest).
    Longest,
    /// The earliest in the input.
    Earliest,
}

/// Why [`embed_all`] stopped: by input index (for the caller to name a sentence or a
/// line) and, for the device's failures, by batch (1-based, of `batches`).
#[derive(Debug)]
pub enum BatchError {
    /// Input `index` alone gives NaN/Inf; `why` names the layer.
    NonFinite { index: usize, why: String },
    /// A batch of `len` inputs, the first `first`, gives NaN/Inf, each alone is finite.
    NonFiniteTogether {
        first: usize,
        len: usize,
        why: String,
    },
    /// Even input `index` alone does not fit the device (see [`TOO_LARGE_HINT`]).
    TooLarge {
        index: usize,
        batch: usize,
        batches: usize,
    },
    /// Another device failure (device lost, validation…): the engine's error.
    Device {
        batch: usize,
        batches: usize,
        error: Error,
    },
    /// Anything else: the engine refused the input, or returned the wrong shape.
    Engine(Error),
}

/// What to try when [`BatchError::TooLarge`].
pub const TOO_LARGE_HINT: &str = "try --precision f16, a smaller model or another adapter";

/// Embeds every sequence (each non-empty) in length-sorted batches of at most
/// `opt.max_batch`, longest first, and returns the embeddings in input order.
/// `progress(done)` is called after each batch.
pub fn embed_all(
    engine: &mut dyn Engine,
    tokens: &[Vec<u32>],
    opt: &Batching,
    mut progress: impl FnMut(usize),
) -> Result<Embeddings, BatchError> {
    let mut order: Vec<usize> = (0..tokens.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(tokens[i].len()));
    let size = opt.max_batch.max(1);
    let dim = engine.config().n_embd;
    let mut run = Run {
        store: Embeddings::zeros(opt.layers, opt.poolings, tokens.len(), dim),
        engine,
        tokens,
        opt,
        batch: 0,
        batches: order.len().div_ceil(size),
    };
    let mut done = 0;
    for batch in order.chunks(size) {
        run.batch += 1;
        run.fill(batch)?;
        done += batch.len();
        progress(done);
    }
    Ok(run.store)
}

/// One [`embed_all`] under way.
struct Run<'r> {
    engine: &'r mut dyn Engine,
    tokens: &'r [Vec<u32>],
    opt: &'r Batching<'r>,
    /// The vectors so far, in input order.
    store: Embeddings,
    /// The batch under way (1-based) and how many there are.
    batch: usize,
    batches: usize,
}

impl Run<'_> {
    /// The inputs `items` through the engine.
    fn embed(&mut self, items: &[usize]) -> crate::Result<Embeddings> {
        let batch: Vec<Vec<u32>> = items.iter().map(|&i| self.tokens[i].clone()).collect();
        (self.engine).embed_tokens(&batch, self.opt.layers, self.opt.poolings)
    }

    /// Embeds `items` into the store; when the device runs out of memory, in halves
    /// (recursively) before giving up at a single input.
    fn fill(&mut self, items: &[usize]) -> Result<(), BatchError> {
        let (batch, batches) = (self.batch, self.batches);
        let out = match self.embed(items) {
            Ok(out) => out,
            Err(e) if e.is_out_of_memory() && items.len() > 1 => {
                let (n, what) = (items.len(), self.opt.what);
                eprintln!("warning: {what}: {e} with a batch of {n}: retrying in halves");
                let (a, b) = items.split_at(n / 2);
                return self.fill(a).and_then(|()| self.fill(b));
            }
            Err(e) if e.is_out_of_memory() => {
                let index = items[0];
                return Err(BatchError::TooLarge {
                    index,
                    batch,
                    batches,
                });
            }
            Err(Error::NonFinite(why)) => return Err(self.locate_non_finite(items, why)),
            Err(error @ Error::Gpu(_)) => {
                return Err(BatchError::Device {
                    batch,
                    batches,
                    error,
                })
            }
            Err(e) => return Err(BatchError::Engine(e)),
        };
        self.scatter(items, &out)
    }

    /// Checks the engine's vectors for `items` (shape, NaN/Inf) and puts them in place.
    fn scatter(&mut self, items: &[usize], out: &Embeddings) -> Result<(), BatchError> {
        let (layers, dim) = (self.opt.layers, self.store.dim);
        if out.n != items.len() || out.dim != dim || out.layers != layers {
            return Err(BatchError::Engine(Error::input(format!(
                "engine `{}` returned {} vectors of dim {} for layers {:?}; expected {} of dim {dim} for {layers:?}",
                self.engine.name(), out.n, out.dim, out.layers, items.len()
            ))));
        }
        for p in 0..self.opt.poolings.len() {
            for (l, &layer) in layers.iter().enumerate() {
                for (k, &index) in items.iter().enumerate() {
                    let v = out.get(p, l, k);
                    if v.iter().any(|x| !x.is_finite()) {
                        let why = format!("layer {layer} output is NaN/Inf");
                        return Err(BatchError::NonFinite { index, why });
                    }
                    self.store.get_mut(p, l, index).copy_from_slice(v);
                }
            }
        }
        Ok(())
    }

    /// The engine found NaN/Inf somewhere in `items`: reruns them one by one to name the
    /// one to blame (the engine's message names the layer).
    fn locate_non_finite(&mut self, items: &[usize], why: String) -> BatchError {
        let mut tries = items.to_vec();
        if self.opt.blame == Blame::Earliest {
            tries.sort_unstable();
        }
        for index in tries {
            if let Err(Error::NonFinite(why)) = self.embed(&[index]) {
                return BatchError::NonFinite { index, why };
            }
        }
        let (first, len) = (items[0], items.len());
        BatchError::NonFiniteTogether { first, len, why }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Config;

    /// Width 1: each vector is its sequence's length; `limit` sequences fit at once;
    /// a sequence of `nan_len` tokens is non-finite (alone or not).
    struct Lengths {
        config: Config,
        limit: usize,
        nan_len: usize,
        calls: Vec<usize>,
    }

    impl Engine for Lengths {
        fn name(&self) -> String {
            "lengths".into()
        }
        fn config(&self) -> &Config {
            &self.config
        }
        fn embed_tokens(
            &mut self,
            tokens: &[Vec<u32>],
            layers: &[usize],
            poolings: &[Pooling],
        ) -> crate::Result<Embeddings> {
            self.calls.push(tokens.len());
            if tokens.len() > self.limit {
                return Err(Error::out_of_memory("full"));
            }
            if tokens.iter().any(|t| t.len() == self.nan_len) {
                return Err(Error::NonFinite("layer 1 of the test".into()));
            }
            let mut out = Embeddings::zeros(layers, poolings, tokens.len(), 1);
            for (i, t) in tokens.iter().enumerate() {
                out.get_mut(0, 0, i)[0] = t.len() as f32;
            }
            Ok(out)
        }
    }

    fn engine(limit: usize, nan_len: usize) -> Lengths {
        let config = Config {
            arch: crate::model::Architecture::Rwkv6 {
                mix_lora: 1,
                decay_lora: 1,
            },
            n_layer: 1,
            n_embd: 1,
            n_head: 1,
            head_size: 1,
            ffn_dim: 4,
            vocab_size: 2,
        };
        let calls = Vec::new();
        Lengths {
            config,
            limit,
            nan_len,
            calls,
        }
    }

    fn run(e: &mut Lengths, lengths: &[usize], blame: Blame) -> Result<Vec<f32>, BatchError> {
        let tokens: Vec<Vec<u32>> = lengths.iter().map(|&n| vec![1; n]).collect();
        let (layers, poolings) = ([0], [Pooling::Mean]);
        let what = "test";
        let opt = Batching {
            layers: &layers,
            poolings: &poolings,
            max_batch: 4,
            what,
            blame,
        };
        Ok(embed_all(e, &tokens, &opt, |_| {})?.data)
    }

    #[test]
    fn longest_first_halved_and_back_in_input_order() {
        let mut e = engine(1, 0);
        let got = run(&mut e, &[1, 3, 2, 5, 4], Blame::Longest).unwrap();
        assert_eq!(got, [1.0, 3.0, 2.0, 5.0, 4.0]);
        // [5 4 3 2] fails, then [5 4] and [5], [4], [3 2] and [3], [2]; then [1]
        assert_eq!(e.calls, [4, 2, 1, 1, 2, 1, 1, 1]);
        assert!(matches!(
            run(&mut engine(0, 0), &[1, 3], Blame::Longest),
            Err(BatchError::TooLarge {
                index: 1,
                batch: 1,
                batches: 1
            })
        ));
    }

    #[test]
    fn non_finite_is_blamed_on_one_input() {
        let blamed = |lengths: &[usize], blame| match run(&mut engine(9, 2), lengths, blame) {
            Err(BatchError::NonFinite { index, why }) => (index, why),
            other => panic!("{other:?}"),
        };
        assert_eq!(blamed(&[2, 1, 2, 3], Blame::Earliest).0, 0);
        assert_eq!(blamed(&[1, 2, 3, 2], Blame::Longest).0, 1);
        assert_eq!(blamed(&[1, 2], Blame::Longest).1, "layer 1 of the test");
    }
}
