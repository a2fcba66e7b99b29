//! The options of `rwkv-lens bench` and what they resolve to on a given adapter: which
//! shapes and precisions, which batch × length points for each engine.

use std::path::PathBuf;

use super::spec::{grid, Point, Shape};
use crate::gpu::{GpuOptions, Precision};
use crate::model::DType;
use crate::Result;

/// Everything `rwkv-lens bench` can be told: the CLI's flags, defaults declared here
/// once (`BenchOptions::default()` is the bare command).
#[derive(Debug, Clone, clap::Args)]
pub struct BenchOptions {
    /// The command line, for the report.
    #[arg(skip = String::from("rwkv-lens bench"))]
    pub command: String,
    /// Shapes: finch-1b6, small, tiny (comma list). Default: small,finch-1b6 (tiny with --quick).
    #[arg(long, value_delimiter = ',')]
    pub shapes: Vec<String>,
    /// Measure this checkpoint instead of random shapes: a local path or a hub id
    /// ORG/NAME[:FILE][@REVISION], with its own vocabulary and tokenizer (default
    /// precision: its weights' own, f16 for f16/bf16, f32 for f32).
    #[arg(long, conflicts_with_all = ["shapes", "vocab", "embedding_shape"])]
    pub model: Option<String>,
    /// `--model`'s tokenizer for the MRPC workload: `world`, a tokenizer.json or a hub id
    /// (default: the model repo's tokenizer.json, else world).
    #[arg(long, requires = "model")]
    pub tokenizer: Option<String>,
    /// Weight precisions, f16 and/or f32. Default: both (f16 only for finch-1b6 on CPU
    /// adapters: f32 would take 19 GB of host memory).
    #[arg(long, value_delimiter = ',', value_parser = parse_precision)]
    pub precisions: Vec<DType>,
    /// Batch sizes B (comma list). Default: 1,8,64 on GPUs, smaller on CPU adapters.
    #[arg(long, value_delimiter = ',', value_parser = positive)]
    pub batches: Option<Vec<usize>>,
    /// Sequence lengths T (comma list). Default: 16,128,1024 on GPUs, smaller on CPU adapters.
    #[arg(long, value_delimiter = ',', value_parser = positive)]
    pub lengths: Option<Vec<usize>>,
    /// Skip grid points with more than this many tokens B·T.
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// Vocabulary of the random checkpoints (default 65536; 32768 for finch-1b6 when
    /// web-rwkv runs: its 256 MiB LM-head binding does not fit a 128 MiB limit).
    #[arg(long)]
    pub vocab: Option<usize>,
    /// A short run for tests: tiny shape, two batches, few MRPC pairs.
    #[arg(long)]
    pub quick: bool,
    /// The web-rwkv peer binary (default: found beside this binary or in peer/web-rwkv/target/release).
    #[arg(long, conflicts_with = "no_peer")]
    pub peer: Option<PathBuf>,
    /// Do not run web-rwkv.
    #[arg(long)]
    pub no_peer: bool,
    /// Do not run the Python peers (the official `rwkv` package on the CPU and numpy's
    /// fp32 GEMM roof, scripts/bench-python-rwkv.py); they run when Python has them.
    #[arg(long)]
    pub no_python: bool,
    /// Most FLOPs one CPU-reference pass may cost (default 2e11, ≈10 s; 2e12 with
    /// --cpu-only, whose f32 oracle rows stay within 2e11).
    #[arg(long)]
    pub cpu_flops: Option<f64>,
    /// CPU engines only: the fast CPU engine, the f32 oracle and the official Python
    /// package (and numpy's GEMM roof); no GPU engine, no web-rwkv, no adapter. Default
    /// grid B ∈ {1, 8} × T ∈ {16, 128, 1024}.
    #[arg(long)]
    pub cpu_only: bool,
    /// Most FLOPs one web-rwkv pass may cost (default 5e11 on CPU adapters, 2e13 on GPUs).
    #[arg(long)]
    pub peer_flops: Option<f64>,
    /// Skip the MRPC embedding workload.
    #[arg(long = "no-embedding", action = clap::ArgAction::SetFalse)]
    pub embedding: bool,
    /// Shape of the embedding workload (default finch-1b6 on GPUs, small on CPU adapters).
    #[arg(long)]
    pub embedding_shape: Option<String>,
    /// MRPC pairs as TRAIN,DEV: the first TRAIN GLUE train pairs, the first DEV
    /// validation pairs (default 1000,408 on GPUs: the source study's protocol).
    #[arg(long, value_parser = parse_mrpc)]
    pub mrpc: Option<(usize, usize)>,
    /// Data directory holding mrpc/glue/ (default $RWKV_LENS_DATA).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Skip the GEMM / copy roofline.
    #[arg(long = "no-roofline", action = clap::ArgAction::SetFalse)]
    pub roofline: bool,
    /// Skip the per-kernel profile (timestamp queries).
    #[arg(long = "no-profile", action = clap::ArgAction::SetFalse)]
    pub profile: bool,
    /// Adapter by index or name substring.
    #[arg(long)]
    pub adapter: Option<String>,
    /// wgpu backend: vulkan, gl, metal, dx12.
    #[arg(long)]
    pub backend: Option<String>,
    /// Untimed passes before each timed series.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Timed passes per point (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    #[arg(long, default_value_t = 20261127)]
    pub seed: u64,
}

impl Default for BenchOptions {
    fn default() -> Self {
        crate::kit::clap_defaults()
    }
}

/// What a flag's value parser gives clap: the value, or why it is wrong.
type Parsed<T> = std::result::Result<T, String>;

fn positive(s: &str) -> Parsed<usize> {
    let n = s.trim().parse::<usize>().ok().filter(|&n| n > 0);
    n.ok_or_else(|| format!("`{s}` is not a positive integer (expected e.g. 1,8,64)"))
}

fn parse_precision(s: &str) -> Parsed<DType> {
    match s.trim() {
        "f16" | "fp16" => Ok(DType::F16),
        "f32" | "fp32" => Ok(DType::F32),
        other => Err(format!("precision `{other}` is not f16 or f32")),
    }
}

fn parse_mrpc(s: &str) -> Parsed<(usize, usize)> {
    let counts: Vec<usize> = s.split(',').map(positive).collect::<Parsed<_>>()?;
    match counts[..] {
        [t, d] => Ok((t, d)),
        _ => Err("expected TRAIN,DEV pair counts, e.g. 1000,408".into()),
    }
}

/// One shape × precision to measure, with the points of each engine.
#[derive(Debug, Clone)]
pub struct Job {
    pub shape: Shape,
    pub precision: DType,
    /// Our GPU engine, smallest first (grid order); `points[0]` is the agreement point.
    pub points: Vec<Point>,
    pub cpu_points: Vec<Point>,
    pub peer_points: Vec<Point>,
}

impl Job {
    /// `shape precision`, e.g. `small f16`.
    pub fn label(&self) -> String {
        format!("{} {}", self.shape.name, self.precision.name())
    }

    /// The point with the most tokens (the last: the points are in grid order).
    pub fn largest(&self) -> Point {
        *self.points.last().expect("a job has points")
    }
}

/// The default batch and length lists for a shape on this kind of adapter. Every grid holds
/// short sentences (T = 16, where web-rwkv runs one GEMV per token) and web-rwkv's best case
/// (T a multiple of 32: 1×128 and 8×64), so that no peer is measured only where it is weak.
fn default_grid(shape: &Shape, quick: bool, cpu_adapter: bool) -> (Vec<usize>, Vec<usize>) {
    match (quick, cpu_adapter, shape.is_large()) {
        (true, _, _) => (vec![1, 2], vec![8, 16]),
        (false, true, true) => (vec![1], vec![16, 128]),
        (false, true, _) => (vec![1, 8], vec![16, 64, 128]),
        (false, false, _) => (vec![1, 8, 64], vec![16, 64, 128, 1024]),
    }
}

impl BenchOptions {
    /// The GPU engine's options: this run's adapter and backend, weights in `precision`.
    pub fn gpu_options(&self, precision: DType, max_tokens: usize, profile: bool) -> GpuOptions {
        GpuOptions {
            adapter: self.adapter.clone(),
            backend: self.backend.clone(),
            precision: Precision::following(precision),
            max_batch_tokens: max_tokens.max(1),
            profile,
            ..GpuOptions::default()
        }
    }

    pub fn shape_names(&self) -> Vec<String> {
        match (self.shapes.is_empty(), self.quick) {
            (false, _) => self.shapes.clone(),
            (true, true) => vec!["tiny".into()],
            (true, false) => vec!["small".into(), "finch-1b6".into()],
        }
    }

    /// FLOPs budget of one CPU-reference pass (≈ 10 s at 20 GFLOP/s; tiny in quick mode).
    fn cpu_budget(&self) -> f64 {
        let default = match (self.quick, self.cpu_only) {
            (true, _) => 1e9,
            (false, false) => 2e11,
            (false, true) => 2e12,
        };
        self.cpu_flops.unwrap_or(default)
    }

    /// FLOPs budget of one pass of the f32 oracle when the fast CPU engine runs too
    /// (`--cpu-only`): at most the default 2e11 (it is the slower of the two).
    pub fn oracle_budget(&self) -> f64 {
        self.cpu_budget().min(2e11)
    }

    /// FLOPs budget of one peer pass (on CPU adapters enough for the 1.6B shape's 1×128,
    /// web-rwkv's best case).
    fn peer_budget(&self, cpu_adapter: bool) -> f64 {
        let default = match (self.cpu_only, cpu_adapter) {
            (true, _) => 2e12,
            (false, true) => 5e11,
            (false, false) => 2e13,
        };
        self.peer_flops.unwrap_or(default)
    }

    /// Resolves shapes, precisions and points; `peer_runs` says whether web-rwkv will run;
    /// `model` is the shape of `--model`'s checkpoint, which replaces the random shapes.
    pub fn jobs(
        &self,
        cpu_adapter: bool,
        peer_runs: bool,
        model: Option<&Shape>,
    ) -> Result<Vec<Job>> {
        // vocab 32768 for finch-1b6 when web-rwkv runs (see `--vocab`)
        let head = |name: &str| (name == "finch-1b6" && peer_runs).then_some(32768);
        let preset = |name: &String| Shape::preset(name, self.vocab.or(head(name)), self.seed);
        let names = self.shape_names();
        let shapes = match model {
            Some(shape) => vec![shape.clone()],
            None => names.iter().map(preset).collect::<Result<_>>()?,
        };
        let mut jobs = Vec::new();
        for shape in shapes {
            let (db, dl) = match self.cpu_only && !self.quick {
                true => (vec![1, 8], vec![16, 128, 1024]),
                false => default_grid(&shape, self.quick, cpu_adapter),
            };
            let batches = self.batches.clone().unwrap_or(db);
            let lengths = self.lengths.clone().unwrap_or(dl);
            let points = grid(&batches, &lengths, self.max_tokens.unwrap_or(usize::MAX));
            if points.is_empty() {
                return Err(crate::Error::input(
                    "--max-tokens leaves no batch × length point",
                ));
            }
            let fpt = shape.flops_per_token();
            // the points within a FLOPs budget: a prefix of the grid (smallest first), never
            // empty (the agreement point always runs)
            let within = |budget: f64| {
                let n = (points.iter())
                    .filter(|p| p.tokens() as f64 * fpt <= budget)
                    .count();
                points[..n.max(1)].to_vec()
            };
            let cpu_points = within(self.cpu_budget());
            let peer_points = within(self.peer_budget(cpu_adapter));
            for precision in self.precisions_for(&shape, model.is_some(), cpu_adapter) {
                let f16 = precision == DType::F16; // web-rwkv's weights are f16 only
                jobs.push(Job {
                    shape: shape.with_dtype(precision),
                    precision,
                    points: points.clone(),
                    cpu_points: cpu_points.clone(),
                    peer_points: if f16 { peer_points.clone() } else { vec![] },
                });
            }
        }
        Ok(jobs)
    }

    /// `--precisions`, else a model's own, else both (f16 only for the large shape on CPU
    /// adapters, and with `--cpu-only`).
    fn precisions_for(&self, shape: &Shape, model: bool, cpu_adapter: bool) -> Vec<DType> {
        let large_on_cpu = (shape.is_large() && cpu_adapter) || self.cpu_only;
        match (self.precisions.is_empty(), model, large_on_cpu) {
            (false, _, _) => self.precisions.clone(),
            (true, true, _) => vec![shape.spec.dtype],
            (true, false, true) => vec![DType::F16],
            (true, false, false) => vec![DType::F16, DType::F32],
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

    /// `--embedding-shape`, else tiny (`--quick`), small (CPU adapters) or finch-1b6.
    pub fn embedding_shape(&self, cpu_adapter: bool) -> String {
        let default = match (self.quick, cpu_adapter) {
            (true, _) => "tiny",
            (false, true) => "small",
            (false, false) => "finch-1b6",
        };
        self.embedding_shape.clone().unwrap_or(default.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lavapipe_defaults_keep_the_1b6_runs_small() {
        let o = BenchOptions::default();
        assert_eq!(
            (o.warmup, o.repeat, o.embedding, o.no_peer, &o.peer),
            (1, 3, true, false, &None)
        );
        let jobs = o.jobs(true, true, None).unwrap();
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
        // 1×16 (short sentences) and 1×128 (web-rwkv's best case)
        let big_points: Vec<usize> = big.points.iter().map(|p| p.tokens()).collect();
        assert_eq!(big_points, [16, 128]);
        assert_eq!(big.peer_points, big.points);
        // f32 small has no peer points (web-rwkv weights are f16 only)
        assert!(jobs[1].peer_points.is_empty());
    }

    #[test]
    fn list_values_are_checked() {
        assert_eq!(positive(" 8"), Ok(8));
        assert!(positive("0").unwrap_err().contains("`0`"));
        assert_eq!(parse_precision("fp16"), Ok(DType::F16));
        assert!(parse_precision("int8").is_err());
        assert_eq!(parse_mrpc("10,4"), Ok((10, 4)));
        assert!(parse_mrpc("10").is_err());
    }

    #[test]
    fn budgets_pick_points_but_never_none() {
        let o = BenchOptions {
            cpu_flops: Some(1.0),
            ..BenchOptions::default()
        };
        let jobs = o.jobs(false, false, None).unwrap();
        assert_eq!(jobs[0].points.len(), 12); // B ∈ {1, 8, 64} × T ∈ {16, 64, 128, 1024}
        assert_eq!(jobs[0].cpu_points, vec![jobs[0].points[0]]);
        assert_eq!(
            jobs.last().unwrap().shape.spec.vocab_size,
            65536,
            "no peer: full vocab"
        );
    }
}
