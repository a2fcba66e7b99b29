//! `rwkv-lens bench`: prefill and embedding throughput against web-rwkv and the CPU
//! reference on random checkpoints, roofline and kernel shares; tables on stdout, JSON to a file.

use std::path::PathBuf;

use rwkv_lens::bench::spec::{parse_list, parse_precisions};
use rwkv_lens::bench::{run, table, BenchOptions, PeerChoice};

#[derive(clap::Args)]
pub struct Args {
    /// Shapes: finch-1b6, small, tiny (comma list). Default: small,finch-1b6 (tiny with --quick).
    #[arg(long)]
    shapes: Option<String>,
    /// Weight precisions, f16 and/or f32. Default: both (f16 only for finch-1b6 on CPU adapters).
    #[arg(long)]
    precisions: Option<String>,
    /// Batch sizes B (comma list). Default: 1,8,64 on GPUs, smaller on CPU adapters.
    #[arg(long)]
    batches: Option<String>,
    /// Sequence lengths T (comma list). Default: 16,128,1024 on GPUs, smaller on CPU adapters.
    #[arg(long)]
    lengths: Option<String>,
    /// Skip grid points with more than this many tokens B·T.
    #[arg(long)]
    max_tokens: Option<usize>,
    /// Vocabulary of the random checkpoints (default 65536; 32768 for finch-1b6 when web-rwkv runs).
    #[arg(long)]
    vocab: Option<usize>,
    /// A short run for tests: tiny shape, two batches, few MRPC pairs.
    #[arg(long)]
    quick: bool,
    /// The web-rwkv peer binary (default: found beside this binary or in peer/web-rwkv/target/release).
    #[arg(long, conflicts_with = "no_peer")]
    peer: Option<PathBuf>,
    /// Do not run web-rwkv.
    #[arg(long)]
    no_peer: bool,
    /// Also run the official Python `rwkv` package on the CPU (scripts/bench-python-rwkv.py).
    #[arg(long)]
    python: bool,
    /// Most FLOPs one CPU-reference pass may cost (default 2e11, ≈10 s).
    #[arg(long)]
    cpu_flops: Option<f64>,
    /// Most FLOPs one web-rwkv pass may cost (default 5e10 on CPU adapters, 2e13 on GPUs).
    #[arg(long)]
    peer_flops: Option<f64>,
    /// Skip the MRPC embedding workload.
    #[arg(long)]
    no_embedding: bool,
    /// Shape of the embedding workload (default finch-1b6 on GPUs, small on CPU adapters).
    #[arg(long)]
    embedding_shape: Option<String>,
    /// MRPC pairs as TRAIN,DEV (default 1000,408 on GPUs: the source study's protocol).
    #[arg(long)]
    mrpc: Option<String>,
    /// Data directory holding mrpc/glue/ (default $RWKV_LENS_DATA).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Skip the GEMM / copy roofline.
    #[arg(long)]
    no_roofline: bool,
    /// Skip the per-kernel profile (timestamp queries).
    #[arg(long)]
    no_profile: bool,
    /// Adapter by index or name substring.
    #[arg(long)]
    adapter: Option<String>,
    /// wgpu backend: vulkan, gl, metal, dx12.
    #[arg(long)]
    backend: Option<String>,
    /// Untimed passes before each timed series.
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Timed passes per point (the median is reported).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    #[arg(long, default_value_t = 20261127)]
    seed: u64,
    /// Write the JSON report here (default: print the tables only).
    #[arg(long)]
    json: Option<PathBuf>,
}

fn options(a: Args) -> anyhow::Result<(BenchOptions, Option<PathBuf>)> {
    let list = |s: &Option<String>| {
        s.as_deref()
            .map(|s| s.split(',').map(|x| x.trim().to_string()).collect())
    };
    let mrpc = match a.mrpc.as_deref() {
        None => None,
        Some(s) => match parse_list("--mrpc", s)?.as_slice() {
            [t, d] => Some((*t, *d)),
            _ => anyhow::bail!("--mrpc: expected TRAIN,DEV pair counts, e.g. 1000,408"),
        },
    };
    let opts = BenchOptions {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        shapes: list(&a.shapes).unwrap_or_default(),
        precisions: a
            .precisions
            .as_deref()
            .map(parse_precisions)
            .transpose()?
            .unwrap_or_default(),
        batches: a
            .batches
            .as_deref()
            .map(|s| parse_list("--batches", s))
            .transpose()?,
        lengths: a
            .lengths
            .as_deref()
            .map(|s| parse_list("--lengths", s))
            .transpose()?,
        max_tokens: a.max_tokens,
        vocab: a.vocab,
        quick: a.quick,
        peer: match (a.no_peer, a.peer) {
            (true, _) => PeerChoice::Off,
            (false, Some(p)) => PeerChoice::Path(p),
            (false, None) => PeerChoice::Auto,
        },
        python: a.python,
        cpu_flops: a.cpu_flops,
        peer_flops: a.peer_flops,
        embedding: !a.no_embedding,
        embedding_shape: a.embedding_shape,
        mrpc,
        data: a.data,
        roofline: !a.no_roofline,
        profile: !a.no_profile,
        adapter: a.adapter,
        backend: a.backend,
        warmup: a.warmup,
        repeat: a.repeat,
        seed: a.seed,
    };
    Ok((opts, a.json))
}

pub fn run_cli(args: Args) -> anyhow::Result<()> {
    let (opts, json) = options(args)?;
    let report = run(&opts)?;
    println!("{}", table::render(&report));
    if let Some(path) = json {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, report.to_json())
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))?;
        eprintln!("bench: JSON written to {}", path.display());
    }
    Ok(())
}
