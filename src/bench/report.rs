//! The bench report: every measured number, the ratios derived from them, and its two
//! renderings (JSON for machines, Markdown tables for people).
//!
//! Ratios are never measured: [`Report::finish`] computes them from the prefill rows,
//! `ratio = ours tokens/s ÷ peer tokens/s` at the same shape, precision, batch and length.

use serde::Serialize;

use super::spec::Point;
/// JSON schema tag; bump when a field changes meaning.
pub const SCHEMA: &str = "rwkv-lens-bench/1";

/// The adapter the run used, as wgpu reports it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct AdapterReport {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    /// Limits the device was created with (the WebGPU defaults the engine asks for).
    pub limits: serde_json::Value,
    /// Features the adapter offers.
    pub features: Vec<String>,
}

/// Where a row was measured: shape × weights × batch × length (flattened into its row).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct At {
    /// Preset name (`finch-1b6`, `small`, `tiny`).
    pub shape: String,
    /// Weight storage: `f16` or `f32`.
    pub precision: String,
    #[serde(flatten)]
    pub point: Point,
}

/// One prefill measurement: an engine at one point.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PrefillRow {
    /// `rwkv-lens gpu`, `cpu reference`, `web-rwkv`, `python rwkv`.
    pub engine: String,
    #[serde(flatten)]
    pub at: At,
    pub vocab: usize,
    /// Seconds of each timed pass (after warm-up).
    pub seconds: Vec<f64>,
    /// B·T ÷ median seconds.
    pub tokens_per_s: f64,
    pub status: Status,
}

impl PrefillRow {
    pub fn ok(&self) -> bool {
        self.status == Status::Ok && self.tokens_per_s > 0.0
    }
}

/// Whether a row has a number: `ok`, or why not (`peer not built`, the peer's error...).
/// Written as that one string in the JSON and the tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum Status {
    Ok,
    Failed(String),
}

impl From<Status> for String {
    fn from(s: Status) -> String {
        match s {
            Status::Ok => "ok".into(),
            Status::Failed(why) => why,
        }
    }
}

/// ours ÷ peer at one point, computed from two [`PrefillRow`]s.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ratio {
    #[serde(flatten)]
    pub at: At,
    /// Our engine: `rwkv-lens gpu`, or `cpu fast` against the CPU peers.
    pub ours: String,
    pub peer: String,
    pub ours_tokens_per_s: f64,
    pub peer_tokens_per_s: f64,
    /// `ours_tokens_per_s / peer_tokens_per_s`.
    pub ratio: f64,
}

/// Agreement of final states / outputs between two engines on the same tokens.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Agreement {
    pub shape: String,
    /// e.g. `web-rwkv vs cpu reference`.
    pub pair: String,
    /// e.g. `last-layer att_shift`.
    pub quantity: String,
    pub max_abs_diff: f64,
    /// max |a| of the reference side, to judge the diff.
    pub max_abs_ref: f64,
    /// Tolerance the check uses; `pass` = max_abs_diff ≤ tol.
    pub tolerance: f64,
    pub pass: bool,
}

/// The embedding workload (MRPC pairs, all layers pooled).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EmbeddingReport {
    pub engine: String,
    pub shape: String,
    pub precision: String,
    pub pairs: usize,
    pub sentences: usize,
    pub tokens: usize,
    pub layers: usize,
    pub poolings: Vec<String>,
    pub seconds: f64,
    pub ms_per_pair: f64,
    pub pairs_per_s: f64,
    pub peak_gpu_bytes: u64,
    /// Resident set of this process right after the workload (its peak so far would
    /// include the earlier, larger prefill jobs).
    pub host_rss_bytes: u64,
}

/// Device memory of one engine build (sized for its largest point) against what it must hold.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MemoryRow {
    #[serde(flatten)]
    pub at: At,
    /// Weight bytes at this precision (every tensor the engine uploads).
    pub weight_bytes: u64,
    /// Activation bytes a pass of B·T rows needs (see `Shape::activation_bytes`).
    pub activation_bytes: u64,
    /// Peak bytes the engine allocated on the device.
    pub peak_gpu_bytes: u64,
    /// `peak ÷ (1.15 · weights + activations)`; ≤ 1 meets the target.
    pub budget_fraction: f64,
    pub host_rss_peak_bytes: u64,
}

/// Host memory of the fast CPU engine on one checkpoint: the checkpoint's bytes (the
/// engine's projections and embedding are views into them, memory-mapped) plus the
/// anonymous memory that building the engine and its largest pass added at their peak.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CpuMemoryRow {
    #[serde(flatten)]
    pub at: At,
    pub checkpoint_bytes: u64,
    /// Peak growth of anonymous memory (`RssAnon`, sampled every 2 ms) over building the
    /// engine and running every point.
    pub anon_peak_bytes: u64,
    /// `(checkpoint + anon peak) ÷ checkpoint`; the target is ≤ 1.25.
    pub ratio: f64,
}

/// Measured GEMM and copy roofs, and where the forward pass sits under them.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Roofline {
    /// Our matmul kernel (`shaders/matmul*.wgsl`) on `[m][k] × [n][k]ᵀ`.
    pub gemm_kernel: String,
    pub gemm_mnk: [u32; 3],
    pub gemm_gflops: f64,
    /// `shaders/bench_copy.wgsl`: bytes read + written per second.
    pub copy_bytes: u64,
    pub copy_gbps: f64,
    /// Forward pass of the largest measured point: FLOP/s and minimal bytes/s achieved.
    pub forward_point: String,
    pub forward_gflops: f64,
    pub forward_gbps: f64,
    pub fraction_of_gemm: f64,
    pub fraction_of_copy: f64,
    /// The CPU's roof: numpy's fp32 GEMM on `[m][k] × [n][k]ᵀ` (m = the CPU reference's
    /// largest point), and the CPU reference's forward pass there; absent without Python.
    pub numpy_gemm_mnk: Option<[u32; 3]>,
    pub numpy_gemm_gflops: Option<f64>,
    pub cpu_forward_gflops: Option<f64>,
}

/// The CPU's roof and the fast CPU engine under it (`--cpu-only`): numpy's fp32 GEMM and
/// our 16-bit-weight GEMM (`reference::fast::gemm`, f16 weights) on the same projection
/// `[m][k] × [n][k]ᵀ`, and the fast engine's whole forward pass at its largest point.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct CpuRoof {
    pub mnk: [u32; 3],
    /// Absent without Python and numpy.
    pub numpy_gemm_gflops: Option<f64>,
    pub fast_gemm_gflops: f64,
    pub threads: usize,
    pub forward_point: String,
    pub fast_forward_gflops: f64,
}

/// Share of GPU time per kernel family, from timestamp queries.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct KernelShare {
    pub family: String,
    pub ms: f64,
    pub share: f64,
    pub gflops: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KernelBreakdown {
    pub point: String,
    pub total_ms: f64,
    pub families: Vec<KernelShare>,
    /// The engine's own per-label table (Markdown).
    pub table: String,
}

/// Everything one `rwkv-lens bench` run measured.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Report {
    pub schema: String,
    pub command: String,
    pub quick: bool,
    pub adapter: Option<AdapterReport>,
    pub host_cores: usize,
    pub host_rss_peak_bytes: u64,
    pub prefill: Vec<PrefillRow>,
    pub ratios: Vec<Ratio>,
    /// Geometric mean of every ratio per peer (the headline).
    pub headlines: Vec<Headline>,
    pub agreement: Vec<Agreement>,
    pub embedding: Vec<EmbeddingReport>,
    pub memory: Vec<MemoryRow>,
    pub cpu_memory: Vec<CpuMemoryRow>,
    pub roofline: Option<Roofline>,
    pub cpu_roof: Option<CpuRoof>,
    pub kernels: Option<KernelBreakdown>,
    pub notes: Vec<String>,
}

/// The engine name of our GPU path in every row.
pub const OURS: &str = "rwkv-lens gpu";
/// The engine name of the CPU reference (the f32 oracle) in every row.
pub const CPU: &str = "cpu reference";
/// The engine name of the fast CPU engine (`reference::fast`) in every row.
pub const FAST: &str = "cpu fast";

impl Report {
    pub fn new(command: &str, quick: bool) -> Report {
        Report {
            schema: SCHEMA.into(),
            command: command.into(),
            quick,
            host_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            ..Default::default()
        }
    }

    /// Derives every ratio (ours ÷ each other engine at the same point) from the rows.
    pub fn finish(&mut self) {
        self.ratios = ratios(&self.prefill);
        self.headlines = headlines(&self.ratios);
        let peak = crate::kit::memory::peak_rss_bytes().unwrap_or(0);
        self.host_rss_peak_bytes = self.host_rss_peak_bytes.max(peak);
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// `ours / peer` for every point where both have a number: our GPU engine against every
/// other engine, the fast CPU engine against every other but the GPU.
pub fn ratios(rows: &[PrefillRow]) -> Vec<Ratio> {
    let mut out = Vec::new();
    let is_peer_of = |ours: &str, peer: &str| peer != ours && (ours == OURS || peer != OURS);
    for ours in rows
        .iter()
        .filter(|r| (r.engine == OURS || r.engine == FAST) && r.ok())
    {
        let peers = (rows.iter())
            .filter(|r| is_peer_of(&ours.engine, &r.engine) && r.ok() && r.at == ours.at);
        for peer in peers {
            out.push(Ratio {
                at: ours.at.clone(),
                ours: ours.engine.clone(),
                peer: peer.engine.clone(),
                ours_tokens_per_s: ours.tokens_per_s,
                peer_tokens_per_s: peer.tokens_per_s,
                ratio: ours.tokens_per_s / peer.tokens_per_s,
            });
        }
    }
    out
}

/// The headline per peer: the geometric mean of ours ÷ peer over every point of the grid
/// where both ran (no point is left out or weighted), with the point count and the range.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Headline {
    pub ours: String,
    pub peer: String,
    pub points: usize,
    pub geomean: f64,
    pub min: f64,
    pub max: f64,
}

/// One [`Headline`] per (ours, peer), in first-seen order.
pub fn headlines(ratios: &[Ratio]) -> Vec<Headline> {
    crate::kit::distinct(ratios.iter().map(|r| (r.ours.as_str(), r.peer.as_str())))
        .into_iter()
        .map(|(ours, peer)| {
            let xs: Vec<f64> = (ratios.iter())
                .filter(|r| r.peer == peer && r.ours == ours)
                .map(|r| r.ratio)
                .collect();
            let log_mean = xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64;
            Headline {
                ours: ours.to_string(),
                peer: peer.to_string(),
                points: xs.len(),
                geomean: log_mean.exp(),
                min: xs.iter().copied().fold(f64::INFINITY, f64::min),
                max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(batch: usize) -> At {
        At {
            shape: "small".into(),
            precision: "f16".into(),
            point: Point { batch, length: 16 },
        }
    }

    fn row(engine: &str, batch: usize, tps: f64, status: &str) -> PrefillRow {
        let status = match status {
            "ok" => Status::Ok,
            why => Status::Failed(why.into()),
        };
        PrefillRow {
            engine: engine.into(),
            at: at(batch),
            vocab: 65536,
            seconds: vec![(batch * 16) as f64 / tps],
            tokens_per_s: tps,
            status,
        }
    }

    #[test]
    fn ratios_come_from_matching_rows_only() {
        let rows = vec![
            row(OURS, 1, 60.0, "ok"),
            row("web-rwkv", 1, 20.0, "ok"),
            row("cpu reference", 1, 240.0, "ok"),
            row(OURS, 8, 100.0, "ok"),
            row("web-rwkv", 8, 0.0, "peer not built"),
        ];
        let r = ratios(&rows);
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!((r[0].peer.as_str(), r[0].ratio), ("web-rwkv", 3.0));
        assert_eq!((r[1].peer.as_str(), r[1].ratio), ("cpu reference", 0.25));
    }

    #[test]
    fn headline_is_the_geometric_mean_of_every_point() {
        let r = |peer: &str, ratio: f64| Ratio {
            at: at(1),
            ours: OURS.into(),
            peer: peer.into(),
            ours_tokens_per_s: ratio,
            peer_tokens_per_s: 1.0,
            ratio,
        };
        // ratios 2, 0.5, 8 → (2 · 0.5 · 8)^(1/3) = 8^(1/3) = 2, computed by hand
        let h = headlines(&[
            r("web-rwkv", 2.0),
            r("cpu", 3.0),
            r("web-rwkv", 0.5),
            r("web-rwkv", 8.0),
        ]);
        assert_eq!(h.len(), 2);
        assert_eq!((h[0].peer.as_str(), h[0].points), ("web-rwkv", 3));
        assert!((h[0].geomean - 2.0).abs() < 1e-12, "{}", h[0].geomean);
        assert_eq!((h[0].min, h[0].max), (0.5, 8.0));
        assert_eq!((h[1].peer.as_str(), h[1].points), ("cpu", 1));
        assert!((h[1].geomean - 3.0).abs() < 1e-12);
    }
}
