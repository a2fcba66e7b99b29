//! `rwkv-lens bench`: prefill and embedding throughput against web-rwkv and the CPU
//! reference on random checkpoints, roofline and kernel shares; tables on stdout, JSON to a file.

use std::path::PathBuf;

use rwkv_lens::bench::{run, table, BenchOptions};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    opts: BenchOptions,
    /// Write the JSON report here (default: print the tables only).
    #[arg(long)]
    json: Option<PathBuf>,
}

pub fn run_cli(args: Args) -> anyhow::Result<()> {
    let Args { mut opts, json } = args;
    opts.command = std::env::args().collect::<Vec<_>>().join(" ");
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
