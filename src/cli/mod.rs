//! Argument parsing and dispatch. Each subcommand lives in its own file; errors are
//! printed as one line (`--debug` adds the full chain and a backtrace).

mod bench;
mod convert;
mod data;
mod embed;
mod engine;
mod inspect;
mod quantize;
mod random_model;
mod study;
mod trace;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "rwkv-lens",
    version,
    about = "RWKV-6 on wgpu: layer-wise sentence embeddings, the study, the benchmarks"
)]
struct Cli {
    /// Print the full error chain and a backtrace on failure.
    #[arg(long, global = true)]
    debug: bool,
    /// CPU threads for the CPU engines and the study's parallel loops [default:
    /// $RWKV_LENS_THREADS, else every core].
    #[arg(long, global = true, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a checkpoint's version, dimensions, parameter count, dtype and file size.
    Inspect(inspect::Args),
    /// Prefill/embedding throughput vs web-rwkv and the CPU reference, roofline, kernel shares.
    Bench(Box<bench::Args>),
    /// Convert an official .pth (or any checkpoint) to safetensors, without Python.
    Convert(convert::Args),
    /// Evaluation data from the Hugging Face Hub: `data fetch [--tasks ...]`.
    Data(data::Args),
    /// Per-layer pooled sentence embeddings for a file of sentences.
    Embed(embed::Args),
    /// Layer-wise zero-shot similarity on MRPC/STS/SICK/BIOSSES against GloVe, with time and memory.
    Study(Box<study::Args>),
    /// Block-quantize the projection matrices to int8 or NF4 (docs/quantization.md).
    Quantize(quantize::Args),
    /// Write a seeded random RWKV-6 checkpoint with real names and shapes.
    RandomModel(random_model::Args),
    /// Step one head of one block through a text: state, decay, bonus, influences → JSON.
    Trace(trace::Args),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Mesa's Vulkan drivers complain on every start when this is unset.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    if cli.debug {
        std::env::set_var("RUST_BACKTRACE", "1");
    }
    if let Err(e) = set_threads(cli.threads.map(usize::from)) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Inspect(a) => inspect::run(a),
        Command::Bench(a) => bench::run_cli(*a),
        Command::Convert(a) => convert::run(a),
        Command::Quantize(a) => quantize::run(a),
        Command::Embed(a) => embed::run(a),
        Command::Data(a) => data::run(a),
        Command::Trace(a) => trace::run(a),
        Command::RandomModel(a) => random_model::run(a),
        Command::Study(a) => study::run(*a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if cli.debug {
                eprintln!("error: {e:?}");
            } else {
                // `:#`: every context, joined on one line
                eprintln!("error: {}", rwkv_lens::error::one_line(format!("{e:#}")));
            }
            ExitCode::FAILURE
        }
    }
}

/// Sizes rayon's global pool: `--threads`, else `$RWKV_LENS_THREADS`, else rayon's default
/// (`$RAYON_NUM_THREADS`, else every core).
fn set_threads(flag: Option<usize>) -> anyhow::Result<()> {
    let env = std::env::var("RWKV_LENS_THREADS").ok();
    let n = match (flag, env) {
        (Some(n), _) => n,
        (None, Some(v)) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => anyhow::bail!("RWKV_LENS_THREADS=`{v}` is not a positive integer"),
        },
        (None, None) => return Ok(()),
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()?;
    Ok(())
}
