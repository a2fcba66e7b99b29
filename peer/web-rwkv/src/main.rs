//! `web-rwkv-peer`: the web-rwkv side of `rwkv-lens bench`.
//!
//! ```text
//! web-rwkv-peer --model M.st --tokens batch.json [--tokens batch2.json ...] [--states-out S.safetensors]
//!               [--adapter NAME] [--backend vulkan] [--chunk 128] [--warmup 1] [--repeat 1]
//!               [--float f16|f32]
//! ```
//! `M.st` is an RWKV-6 checkpoint in web-rwkv's own format (f16, `time_maa_*` renamed
//! `time_mix_*`, `time_faaaa` renamed `time_first`, the four LoRA matrices transposed); `rwkv-lens
//! bench` writes it from the same random weights it runs itself. Each `batch.json` is
//! `{"sequences": [[token, ...], ...]}`: one web-rwkv batch slot per sequence, all prefilled
//! together as its `examples/bench.rs` does (`RnnInput` with `RnnOption::Last`). The model
//! is loaded once; every batch file is one run (its own `Bundle` over the same model).
//!
//! Prints one JSON object on stdout: adapter, load time, `runs` (per batch file: seconds of
//! each timed pass and tokens/s), host peak RSS; or `{"error": ...}` with exit code 2 when
//! web-rwkv cannot start (e.g. "failed to request device" when the LM head exceeds the
//! binding limit). `--states-out` writes, for the FIRST batch file and per sequence `b`, the
//! last layer's final state in rwkv-lens's
//! layout as f32 safetensors: `seq{b}.att_shift` `[C]`, `seq{b}.wkv` `[H][N][N]` ([key][value]),
//! `seq{b}.ffn_shift` `[C]`, and `seq{b}.logits` `[V]` of the last token.
//! These are scale-free (LayerNorm outputs and LN-fed projections), so web-rwkv's halving of
//! the residual stream every 6 layers needs no undoing for them.

mod run;

use std::path::PathBuf;

use serde::Deserialize;

/// Command-line options (parsed by hand to keep the peer's dependencies minimal).
#[derive(Debug, Clone)]
pub struct Args {
    pub model: PathBuf,
    pub tokens: Vec<PathBuf>,
    pub states_out: Option<PathBuf>,
    pub adapter: Option<String>,
    pub backend: Option<String>,
    pub chunk: usize,
    pub warmup: usize,
    pub repeat: usize,
    pub float: String,
}

/// The token batch file.
#[derive(Debug, Deserialize)]
pub struct TokenBatch {
    pub sequences: Vec<Vec<u32>>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        model: PathBuf::new(),
        tokens: Vec::new(),
        states_out: None,
        adapter: None,
        backend: None,
        chunk: 128,
        warmup: 1,
        repeat: 1,
        float: "f16".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--model" => a.model = value()?.into(),
            "--tokens" => a.tokens.push(value()?.into()),
            "--states-out" => a.states_out = Some(value()?.into()),
            "--adapter" => a.adapter = Some(value()?),
            "--backend" => a.backend = Some(value()?),
            "--chunk" => a.chunk = value()?.parse()?,
            "--warmup" => a.warmup = value()?.parse()?,
            "--repeat" => a.repeat = value()?.parse::<usize>()?.max(1),
            "--float" => a.float = value()?,
            other => anyhow::bail!("unknown argument `{other}` (see the header of src/main.rs)"),
        }
    }
    if a.model.as_os_str().is_empty() || a.tokens.is_empty() {
        anyhow::bail!("usage: web-rwkv-peer --model M.st --tokens batch.json [options]");
    }
    Ok(a)
}

fn read_batch(path: &PathBuf) -> anyhow::Result<TokenBatch> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
    let batch: TokenBatch = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not a token batch: {e}", path.display()))?;
    if batch.sequences.is_empty() || batch.sequences.iter().any(Vec::is_empty) {
        anyhow::bail!("{}: every sequence needs at least one token", path.display());
    }
    Ok(batch)
}

/// Peak resident set size of this process (`VmHWM`), in bytes.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let result = async {
        let args = parse_args()?;
        let batches = args
            .tokens
            .iter()
            .map(read_batch)
            .collect::<anyhow::Result<Vec<_>>>()?;
        run::run(&args, &batches).await
    }
    .await;
    match result {
        Ok(report) => println!("{report}"),
        Err(e) => {
            let msg = format!("{e:#}");
            println!("{}", serde_json::json!({ "error": msg }));
            std::process::exit(2);
        }
    }
}
