//! The options of `rwkv-lens bench` and what they resolve to on a given adapter: which
//! shapes and precisions, which batch × length points for each engine.

use std::path::PathBuf;

use super::spec::{grid, Point, Shape};
use crate::model::DType;
use crate::Result;

/// Whether to run the web-rwkv peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerChoice {
    /// Run it when a built binary is found, else report "peer not built".
    Auto,
    /// This binary.
    Path(PathBuf),
    Off,
}

/// Everything `rwkv-lens bench` can be told.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub command: String,
    /// Preset names; empty = the default for the mode (`tiny` in quick mode, else
    /// `small` and `finch-1b6`).
    pub shapes: Vec<String>,
    /// Empty = f16 and f32 (f32 is skipped for finch-1b6 on CPU adapters: 19 GB of host memory).
    pub precisions: Vec<DType>,
    pub batches: Option<Vec<usize>>,
    pub lengths: Option<Vec<usize>>,
    /// Largest B·T point of the grid (`None` = no cap).
    pub max_tokens: Option<usize>,
    /// Vocab of the random checkpoints; `None` = 65536, or 32768 for finch-1b6 when
    /// web-rwkv runs (its 256 MiB LM-head binding does not fit a 128 MiB limit).
    pub vocab: Option<usize>,
    pub quick: bool,
    pub peer: PeerChoice,
    /// Also run the official Python package on the CPU (`scripts/bench-python-rwkv.py`).
    pub python: bool,
    /// Most FLOPs one CPU-reference pass / one peer pass may cost (selects their points).
    pub cpu_flops: Option<f64>,
    pub peer_flops: Option<f64>,
    pub embedding: bool,
    /// Shape of the embedding workload; `None` = finch-1b6 on GPUs, small on CPU adapters.
    pub embedding_shape: Option<String>,
    /// MRPC pairs: first `n` GLUE train pairs, first `m` validation pairs.
    pub mrpc: Option<(usize, usize)>,
    pub data: Option<PathBuf>,
    pub roofline: bool,
    pub profile: bool,
    pub adapter: Option<String>,
    pub backend: Option<String>,
    pub warmup: usize,
    pub repeat: usize,
    pub seed: u64,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            command: "rwkv-lens bench".into(),
            shapes: vec![],
            precisions: vec![],
            batches: None,
            lengths: None,
            max_tokens: None,
            vocab: None,
            quick: false,
            peer: PeerChoice::Auto,
            python: false,
            cpu_flops: None,
            peer_flops: None,
            embedding: true,
            embedding_shape: None,
            mrpc: None,
            data: None,
            roofline: true,
            profile: true,
            adapter: None,
            backend: None,
            warmup: 1,
            repeat: 3,
            seed: 20261127,
        }
    }
}

/// One shape × precision to measure, with the points of each engine.
#[derive(Debug, Clone)]
pub struct Job {
    pub shape: Shape,
    pub precision: DType,
    /// Our GPU engine, smallest first; `points[0]` is the agreement point.
    pub points: Vec<Point>,
    pub cpu_points: Vec<Point>,
    pub peer_points: Vec<Point>,
}

/// The default batch and length lists for a shape on this kind of adapter.
fn default_grid(shape: &str, quick: bool, cpu_adapter: bool) -> (Vec<usize>, Vec<usize>) {
    match (quick, cpu_adapter, shape) {
        (true, _, _) => (vec![1, 2], vec![8, 16]),
        (false, true, "finch-1b6") => (vec![1], vec![16]),
        (false, true, _) => (vec![1, 8], vec![16, 64]),
        (false, false, _) => (vec![1, 8, 64], vec![16, 128, 1024]),
    }
}

impl BenchOptions {
    pub fn shape_names(&self) -> Vec<String> {
        match (self.shapes.is_empty(), self.quick) {
            (false, _) => self.shapes.clone(),
            (true, true) => vec!["tiny".into()],
            (true, false) => vec!["small".into(), "finch-1b6".into()],
        }
    }

    /// FLOPs budget of one CPU-reference pass (≈ 10 s at 20 GFLOP/s; tiny in quick mode).
    fn cpu_budget(&self) -> f64 {
        self.cpu_flops
            .unwrap_or(if self.quick { 1e9 } else { 2e11 })
    }

    /// FLOPs budget of one peer pass (≈ 10 s at web-rwkv's ~5 GFLOP/s on lavapipe).
    fn peer_budget(&self, cpu_adapter: bool) -> f64 {
        self.peer_flops
            .unwrap_or(if cpu_adapter { 5e10 } else { 2e13 })
    }

    /// Resolves shapes, precisions and points; `peer_runs` says whether web-rwkv will run.
    pub fn jobs(&self, cpu_adapter: bool, peer_runs: bool) -> Result<Vec<Job>> {
        let mut jobs = Vec::new();
        for name in self.shape_names() {
            let vocab = self
                .vocab
                .or((name == "finch-1b6" && peer_runs).then_some(32768));
            let shape = Shape::preset(&name, vocab, self.seed)?;
            let (db, dl) = default_grid(&shape.name, self.quick, cpu_adapter);
            let batches = self.batches.clone().unwrap_or(db);
            let lengths = self.lengths.clone().unwrap_or(dl);
            let points = grid(&batches, &lengths, self.max_tokens.unwrap_or(usize::MAX));
            if points.is_empty() {
                return Err(crate::Error::input(
                    "--max-tokens leaves no batch × length point",
                ));
            }
            let fpt = shape.flops_per_token();
            let within = |budget: f64| -> Vec<Point> {
                let mut v: Vec<Point> = points
                    .iter()
                    .copied()
                    .filter(|p| p.tokens() as f64 * fpt <= budget)
                    .collect();
                if v.is_empty() {
                    v.push(points[0]); // the agreement point always runs
                }
                v
            };
            let cpu_points = within(self.cpu_budget());
            let peer_points = within(self.peer_budget(cpu_adapter));
            for precision in self.precisions_for(&shape.name, cpu_adapter) {
                jobs.push(Job {
                    shape: shape.with_dtype(precision),
                    precision,
                    points: points.clone(),
                    cpu_points: cpu_points.clone(),
                    peer_points: if precision == DType::F16 {
                        peer_points.clone()
                    } else {
                        vec![]
                    },
                });
            }
        }
        Ok(jobs)
    }

    fn precisions_for(&self, shape: &str, cpu_adapter: bool) -> Vec<DType> {
        if !self.precisions.is_empty() {
            return self.precisions.clone();
        }
        if shape == "finch-1b6" && cpu_adapter {
            vec![DType::F16]
        } else {
            vec![DType::F16, DType::F32]
        }
    }

    /// `(train, dev)` MRPC pairs: the study's 1000 + 408 on GPUs, fewer on CPU adapters.
    pub fn mrpc_pairs(&self, cpu_adapter: bool) -> (usize, usize) {
        self.mrpc.unwrap_or(match (self.quick, cpu_adapter) {
            (true, _) => (4, 4),
            (false, true) => (24, 8),
            (false, false) => (1000, 408),
        })
    }

    pub fn embedding_shape(&self, cpu_adapter: bool) -> String {
        self.embedding_shape.clone().unwrap_or_else(|| {
            match (self.quick, cpu_adapter) {
                (true, _) => "tiny",
                (false, true) => "small",
                (false, false) => "finch-1b6",
            }
            .into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lavapipe_defaults_keep_the_1b6_runs_small() {
        let o = BenchOptions::default();
        let jobs = o.jobs(true, true).unwrap();
        let names: Vec<(String, &str)> = jobs
            .iter()
            .map(|j| (j.shape.name.clone(), j.precision.name()))
            .collect();
        assert_eq!(
            names,
            [
                ("small".into(), "f16"),
                ("small".into(), "f32"),
                ("finch-1b6".into(), "f16")
            ]
        );
        let big = &jobs[2];
        assert_eq!(
            big.shape.spec.vocab_size, 32768,
            "web-rwkv needs the smaller head"
        );
        assert_eq!((big.points.len(), big.points[0].tokens()), (1, 16));
        assert_eq!(big.peer_points, big.points);
        // f32 small has no peer points (web-rwkv weights are f16 only)
        assert!(jobs[1].peer_points.is_empty());
    }

    #[test]
    fn budgets_pick_points_but_never_none() {
        let o = BenchOptions {
            cpu_flops: Some(1.0),
            ..BenchOptions::default()
        };
        let jobs = o.jobs(false, false).unwrap();
        assert_eq!(jobs[0].points.len(), 9);
        assert_eq!(jobs[0].cpu_points, vec![jobs[0].points[0]]);
        assert_eq!(
            jobs.last().unwrap().shape.spec.vocab_size,
            65536,
            "no peer: full vocab"
        );
    }
}
