//! Every bad-input class of `docs/errors.md`, run through the real binary.
//!
//! The scratch directory holds the tiny model, its tokenizer, a good pair file and one
//! broken file per class (built from the fixtures by `common::bad_files`). Each documented command is run
//! there (relative paths, so messages do not depend on where the directory is) and must
//! exit with status 1, print exactly the documented line on stderr and nothing that
//! looks like a panic. The table in the doc and the cases here must list the same ids.
//! `UPDATE_DOCS=1 cargo test --test it -- errors::` rewrites the message column from the binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common;

use crate::common::fixture;

const STUDY: &str =
    "study --device cpu --baseline none --model model.safetensors --tokenizer tok.json";
const EMBED: &str = "embed --device cpu --model model.safetensors --tokenizer tok.json -o out.npy";
const BARE_STUDY: &str = "study --device cpu --baseline none --task pairs:pairs.tsv";
const BARE_EMBED: &str = "embed --device cpu -o out.npy";
const GPU_EMBED: &str = "embed --model model.safetensors --tokenizer tok.json -o out.npy";

/// (id, arguments after `rwkv-lens`); `$STUDY`, `$EMBED`, `$BARE_STUDY`, `$BARE_EMBED` and
/// `$GPU_EMBED` expand to the prefixes above.
#[rustfmt::skip]
const CASES: &[(&str, &str)] = &[
    // files
    ("missing-checkpoint", "inspect missing.safetensors"),
    ("checkpoint-dir-without-model", "inspect empty"),
    ("missing-shard", "inspect sharded.safetensors.index.json"),
    ("missing-data-file", "$STUDY --task pairs:missing.tsv"),
    ("unreadable-data-file", "$STUDY --task pairs:folder.tsv"),
    ("data-file-not-utf8", "$STUDY --task pairs:latin1.tsv"),
    ("unknown-data-file-type", "$STUDY --task pairs:pairs.xlsx"),
    ("missing-embed-input", "$EMBED missing.txt"),
    // data rows
    ("wrong-column-count-tsv", "$STUDY --task pairs:columns.tsv"),
    ("wrong-column-count-csv", "$STUDY --task pairs:columns.csv"),
    ("non-numeric-score-tsv", "$STUDY --task pairs:score.tsv"),
    ("non-numeric-score-jsonl", "$STUDY --task pairs:score.jsonl"),
    ("bad-label", "$STUDY --task pairs:label.csv"),
    ("empty-sentence-tsv", "$STUDY --task pairs:sentence.tsv"),
    ("empty-sentence-jsonl", "$STUDY --task pairs:sentence.jsonl"),
    ("bad-json-line", "$STUDY --task pairs:json.jsonl"),
    ("unterminated-csv-quote", "$STUDY --task pairs:quote.csv"),
    ("header-without-gold", "$STUDY --task pairs:header.tsv"),
    ("empty-data-file", "$STUDY --task pairs:empty.tsv"),
    ("no-pairs", "$STUDY --task pairs:header-only.tsv"),
    ("empty-embed-line", "$EMBED blank-line.txt"),
    ("empty-embed-input", "$EMBED empty.txt"),
    // arguments
    ("no-task", "$STUDY"),
    ("unknown-task", "$STUDY --task glue"),
    ("unknown-split", "$STUDY --task mrpc:dev2"),
    ("bad-pair-count", "$STUDY --task mrpc:test@ten"),
    ("unknown-pooling", "$STUDY --task pairs:pairs.tsv --pooling max"),
    ("layer-out-of-range", "$STUDY --task pairs:pairs.tsv --layers 1,9"),
    ("layer-not-a-number", "$EMBED --layers 1,x sentences.txt"),
    ("unknown-baseline", "$STUDY --task pairs:pairs.tsv --baseline word2vec"),
    ("missing-data-dir", "$STUDY --task stsb --data-dir nowhere"),
    ("pairs-without-path", "$STUDY --task pairs:"),
    ("empty-trace-text", "trace --model model.safetensors --tokenizer a-only.json --text b"),
    // checkpoints
    ("truncated-checkpoint", "inspect truncated.safetensors"),
    ("corrupt-checkpoint", "inspect corrupt.safetensors"),
    ("rwkv5-checkpoint", "inspect rwkv5.safetensors"),
    ("rwkv7-checkpoint", "inspect rwkv7.safetensors"),
    ("not-rwkv", "inspect other.safetensors"),
    ("inconsistent-shape", "inspect shape.safetensors"),
    ("missing-tensor", "inspect no-key.safetensors"),
    ("nan-weight", "inspect nan.safetensors"),
    ("inf-weight", "inspect inf.safetensors"),
    ("unsupported-dtype", "inspect int.safetensors"),
    ("header-size-lie", "inspect size-lie.safetensors"),
    ("header-offset-lie", "inspect offset-lie.safetensors"),
    ("header-length-lie", "inspect length-lie.safetensors"),
    ("quant-scales-shape", "inspect quant-shape.safetensors"),
    ("quant-bad-scale", "inspect quant-scale.safetensors"),
    ("quant-bad-metadata", "inspect quant-meta.safetensors"),
    ("pth-truncated", "inspect truncated.pth"),
    ("pth-not-zip", "inspect text.pth"),
    ("pth-pickle-eval", "inspect malicious_eval.pth"),
    ("pth-pickle-system", "inspect malicious_system.pth"),
    // attention models (a directory with a Hugging Face config.json)
    ("encoder-model-type", "$BARE_STUDY --model roberta"),
    ("encoder-missing-tensor", "$BARE_STUDY --model bert-no-key"),
    ("decoder-config-shape", "$BARE_STUDY --model gpt2-inner"),
    ("decoder-unsupported-variant", "$BARE_STUDY --model gpt2-layer-scaled"),
    ("llama-kv-heads", "$BARE_STUDY --model llama-kv-heads"),
    ("llama-rope-scaling", "$BARE_STUDY --model llama-rope-yarn"),
    // tokenizer
    ("tokenizer-missing", "$BARE_STUDY --model model.safetensors --tokenizer missing.json"),
    ("tokenizer-invalid", "$BARE_STUDY --model model.safetensors --tokenizer sentences.txt"),
    ("tokenizer-vocab-mismatch", "$BARE_STUDY --model model.safetensors --tokenizer world"),
    ("tokenizer-no-tokens", "$BARE_STUDY --model model.safetensors --tokenizer a-only.json"),
    // numerics
    ("non-finite-study", "$BARE_STUDY --model overflow.safetensors --tokenizer tok.json"),
    ("non-finite-embed", "$BARE_EMBED --model overflow.safetensors --tokenizer tok.json sentences.txt"),
    // GPU (forced: `--device auto` picks the CPU reference for these narrow models on lavapipe)
    ("gpu-no-adapter", "$GPU_EMBED --backend metal sentences.txt"),
    ("gpu-adapter-not-found", "$GPU_EMBED --adapter no-such-gpu sentences.txt"),
    ("gpu-f16-overflow", "embed --device gpu --precision f16 --model overflow.safetensors --tokenizer tok.json -o out.npy sentences.txt"),
    ("gpu-non-finite-study", "study --device gpu --baseline none --task pairs:pairs.tsv --precision f32 --model overflow.safetensors --tokenizer tok.json"),
    ("gpu-non-finite-embed", "embed --device gpu --precision f32 --model overflow.safetensors --tokenizer tok.json -o out.npy sentences.txt"),
    ("gpu-head-size", "embed --device gpu --model head-size-2.safetensors --tokenizer tok.json -o out.npy sentences.txt"),
    ("gpu-inner-dimension", "embed --device gpu --model ffn-450.safetensors --tokenizer tok.json -o out.npy sentences.txt"),
    // hub (offline: HF_HUB_OFFLINE=1, an empty cache)
    ("model-id-not-cached", "inspect test/absent"),
    ("data-fetch-unknown-task", "data fetch --tasks glue"),
    ("data-not-fetched", "$STUDY --task stsb --data-dir empty"),
];

/// Cases that need a GPU adapter (lavapipe counts); skipped with a notice without one
/// (a failure under CI=true).
const NEED_ADAPTER: &[&str] = &[
    "gpu-f16-overflow",
    "gpu-non-finite-study",
    "gpu-non-finite-embed",
    "gpu-head-size",
    "gpu-inner-dimension",
];

fn doc_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/errors.md")
}

/// The scratch directory, built once per test process.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rwkv-lens-errors-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        common::bad_files::write_all(&dir);
        dir
    })
}

fn expand(args: &str) -> String {
    (args.replace("$BARE_STUDY", BARE_STUDY))
        .replace("$BARE_EMBED", BARE_EMBED)
        .replace("$GPU_EMBED", GPU_EMBED)
        .replace("$STUDY", STUDY)
        .replace("$EMBED", EMBED)
}

/// Exit status and stderr of `rwkv-lens ARGS` in the scratch directory.
fn run(args: &str) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rwkv-lens"))
        .args(args.split_whitespace())
        .current_dir(scratch())
        .env_remove("RUST_BACKTRACE")
        .env_remove("RWKV_LENS_DATA")
        .env("HF_HUB_OFFLINE", "1")
        .env("HF_HOME", scratch().join("hf-home"))
        .env("XDG_CACHE_HOME", scratch().join("cache"))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A table cell's code span: `` `x` `` or ``` `` x `` ``` (for text holding backticks).
fn code(cell: &str) -> String {
    let inner = (cell.strip_prefix("`` ").and_then(|c| c.strip_suffix(" ``")))
        .or_else(|| cell.strip_prefix('`').and_then(|c| c.strip_suffix('`')));
    inner.unwrap_or(cell).to_string()
}

/// A documented message matches the output exactly, or up to a final `…` (for text
/// that depends on the machine, such as the list of adapters).
fn matches_doc(doc: &str, got: &str) -> bool {
    match doc.strip_suffix('…') {
        Some(prefix) => got.starts_with(prefix),
        None => got == doc,
    }
}

/// The doc's table rows: (id, command, message).
fn doc_rows(doc: &str) -> Vec<(String, String, String)> {
    doc.lines()
        .filter(|l| l.starts_with("| `") && l.matches(" | ").count() == 3)
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            (code(cells[0]), code(cells[2]), code(cells[3]))
        })
        .collect()
}

/// The doc with the message cell of row `id` replaced.
fn with_message(doc: &str, id: &str, message: &str) -> String {
    let row = format!("| `{id}` |");
    let lines = doc.lines().map(|l| match l.starts_with(&row) {
        true => {
            let mut cells: Vec<&str> = l.split(" | ").collect();
            let last = format!("`` {message} `` |");
            *cells.last_mut().unwrap() = &last;
            cells.join(" | ")
        }
        false => l.to_string(),
    });
    lines.collect::<Vec<_>>().join("\n") + "\n"
}

/// The one error line of a run, with the lines the progress output may add before it.
fn error_line(stderr: &str) -> String {
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    match errors.as_slice() {
        [one] => one.to_string(),
        _ => format!("<expected one `error:` line, got: {stderr:?}>"),
    }
}

/// One test over the scratch directory, which it removes when every check passed
/// (it holds some 50 MB of broken checkpoints).
#[test]
fn bad_inputs_through_the_binary() {
    every_documented_bad_input_gets_its_one_line();
    debug_adds_a_backtrace_and_keeps_the_line();
    the_good_inputs_beside_the_bad_ones_work();
    std::fs::remove_dir_all(scratch()).ok();
}

fn every_documented_bad_input_gets_its_one_line() {
    let doc = std::fs::read_to_string(doc_path()).unwrap();
    let rows: Vec<_> = (doc_rows(&doc).into_iter())
        .filter(|(_, command, _)| command.starts_with("rwkv-lens "))
        .collect();
    let doc_ids: Vec<&str> = rows.iter().map(|(id, _, _)| id.as_str()).collect();
    let case_ids: Vec<&str> = CASES.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        doc_ids, case_ids,
        "docs/errors.md and CASES list different ids"
    );
    let mut failures = Vec::new();
    let mut updated = doc.clone();
    for ((id, args), (_, command, message)) in CASES.iter().zip(&rows) {
        let args = expand(args);
        if *command != format!("rwkv-lens {args}") {
            failures.push(format!(
                "{id}: doc command `{command}` is not `rwkv-lens {args}`"
            ));
        }
        if NEED_ADAPTER.contains(id) && !common::adapter() {
            continue;
        }
        let (code, stderr) = run(&args);
        let line = error_line(&stderr);
        if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
            failures.push(format!("{id}: panic: {stderr}"));
        }
        if code != Some(1) {
            failures.push(format!("{id}: exit status {code:?}, expected 1"));
        }
        if !matches_doc(message, &line) {
            failures.push(format!("{id}:\n  doc: {message}\n  got: {line}"));
            updated = with_message(&updated, id, &line);
        }
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(doc_path(), updated).unwrap();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn debug_adds_a_backtrace_and_keeps_the_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_rwkv-lens"))
        .args(["--debug", "inspect", "corrupt.safetensors"])
        .current_dir(scratch())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.starts_with("error: corrupt.safetensors: the first 8 bytes"),
        "{stderr}"
    );
    assert!(stderr.contains("Stack backtrace:"), "{stderr}");
    let (_, plain) = run("inspect corrupt.safetensors");
    assert_eq!(plain.lines().count(), 1, "{plain}");
}

fn the_good_inputs_beside_the_bad_ones_work() {
    // the scratch files are only wrong where each case says: the same commands on the
    // good model and pair file succeed
    for args in [
        "inspect model.safetensors",
        "$STUDY --task pairs:pairs.tsv --bootstrap 10 --no-cache --out ok",
        "$EMBED sentences.txt",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_rwkv-lens"))
            .args(expand(args).split_whitespace())
            .current_dir(scratch())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_binding_limit_too_small_for_the_model_is_one_clear_line() {
    // weights above the limit are split; activations that cannot fit one token are refused
    if !common::adapter() {
        return;
    }
    let path = fixture("tiny-v6/model.safetensors");
    let ck = rwkv_lens::model::load::load(&path).unwrap();
    let opts = |limit| rwkv_lens::gpu::GpuOptions {
        max_binding_bytes: Some(limit),
        ..Default::default()
    };
    let err = rwkv_lens::gpu::GpuEngine::new(&ck, opts(1024))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "GPU: {}: the packed per-channel vectors (25600 bytes) exceed the storage-binding limit",
            path.display()
        )
    );
    // 32 KiB: a LoRA tensor of 80 KiB, which is not split, is refused by name
    let err = rwkv_lens::gpu::GpuEngine::new(&ck, opts(32 << 10))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "GPU: tensor `blocks.0.att.time_maa_w2` is above the storage-binding limit"
    );
    // 96 KiB: the 224 KiB projections are split into blocks, and the engine runs
    let split = rwkv_lens::gpu::GpuEngine::new(&ck, opts(96 << 10));
    assert!(split.is_ok(), "{:?}", split.err());
}
