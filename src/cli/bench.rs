//! `rwkv-lens bench`: prefill and embedding throughput against web-rwkv and the CPU
//! reference on random checkpoints (or `--model`'s), roofline and kernel shares; tables
//! on stdout, JSON to a file.

use std::path::PathBuf;

use rwkv_lens::bench::{run, table, BenchOptions};
use rwkv_lens::io::write_atomic;

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
        write_atomic(&path, report.to_json().as_bytes())?;
        eprintln!("bench: JSON written to {}", path.display());
    }
    Ok(())
}
