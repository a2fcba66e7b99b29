//! The `rwkv-lens` command line: a thin face over the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
