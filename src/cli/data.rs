//! `rwkv-lens data fetch [--tasks all|mrpc,stsb,sickr,sts12..sts16,biosses] [--data-dir DIR]`: evaluation sets
//! from hub datasets into the layout the study reads.

use std::path::PathBuf;

use rwkv_lens::data::{default_data_dir, fetch};
use rwkv_lens::hub::Hub;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(clap::Subcommand)]
enum DataCommand {
    /// Download the evaluation sets from the hub's datasets and convert them.
    Fetch {
        /// `all` or a comma list of mrpc, stsb, sickr, sts12…sts16 (any of them fetches the
        /// five years), biosses.
        #[arg(long, default_value = "all")]
        tasks: String,
        /// Where to write (else $RWKV_LENS_DATA, else the user cache directory).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let DataCommand::Fetch { tasks, data_dir } = a.command;
    let dir = data_dir
        .or_else(|| std::env::var_os("RWKV_LENS_DATA").map(PathBuf::from))
        .unwrap_or_else(default_data_dir);
    let tasks = fetch::parse_tasks(&tasks)?;
    for path in fetch::fetch(&tasks, &dir, &Hub::from_env()?)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}
