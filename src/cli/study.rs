//! `rwkv-lens study`: layer-wise zero-shot similarity against GloVe, with time and memory.

use rwkv_lens::model::load::load;
use rwkv_lens::study::{self, StudyArgs, StudyModel};
use rwkv_lens::tokenizer::Tokenizer;

use super::engine::{build, EngineArgs};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    study: StudyArgs,
    /// `world` or a tokenizer.json path (one for all models).
    #[arg(long, default_value = "world")]
    tokenizer: String,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let mut models = Vec::new();
    for path in &a.study.models {
        let ckpt = load(path)?;
        let engine = build(&ckpt, &a.engine)?;
        eprintln!("{}: engine {}", path.display(), engine.name());
        let tokenizer = Tokenizer::from_spec(&a.tokenizer)?;
        models.push(StudyModel::new(
            path,
            engine,
            Box::new(move |s: &str| tokenizer.encode(s)),
        ));
    }
    let report = study::run(&a.study, &mut models, true)?;
    let written = report.write(&a.study.out)?;
    println!("{}", report.summary());
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(())
}
