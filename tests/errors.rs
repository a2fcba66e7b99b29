//! Every bad-input class of `docs/errors.md`, run through the real binary.
//!
//! The scratch directory holds the tiny model, its tokenizer, a good pair file and one
//! broken file per class (built here from the fixtures). Each documented command is run
//! there (relative paths, so messages do not depend on where the directory is) and must
//! exit with status 1, print exactly the documented line on stderr and nothing that
//! looks like a panic. The table in the doc and the cases here must list the same ids.
//! `UPDATE_DOCS=1 cargo test --test errors` rewrites the message column from the binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

mod common;

use common::fixture;
use rwkv_lens::model::checkpoint::{read_safetensors, write_safetensors};
use rwkv_lens::model::quant::{quantize_tensor, QuantFormat};
use rwkv_lens::model::random::{random_tensors, RandomSpec};
use rwkv_lens::model::{DType, Tensor};

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

/// The tiny model's tensors, edited by `f`, written as safetensors bytes.
fn edited(f: impl FnOnce(&mut Vec<(String, Tensor)>)) -> Vec<u8> {
    let bytes = std::fs::read(fixture("tiny-v6/model.safetensors")).unwrap();
    let mut tensors = read_safetensors("fixture", &bytes).unwrap();
    f(&mut tensors);
    write_safetensors(&tensors).unwrap()
}

fn tensor<'a>(t: &'a mut [(String, Tensor)], name: &str) -> &'a mut Tensor {
    &mut t.iter_mut().find(|(n, _)| n == name).unwrap().1
}

fn set_f32(t: &mut Tensor, index: usize, v: f32) {
    t.bytes[index * 4..index * 4 + 4].copy_from_slice(&v.to_le_bytes());
}

/// Safetensors `bytes` with their header edited as JSON by `f`.
fn with_header(bytes: &[u8], f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    f(&mut header);
    let json = serde_json::to_vec(&header).unwrap();
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend(json);
    out.extend(&bytes[8 + n..]);
    out
}

/// The tiny model with its safetensors header edited as JSON by `f`.
fn header_edited(f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    with_header(
        &std::fs::read(fixture("tiny-v6/model.safetensors")).unwrap(),
        f,
    )
}

/// Writes scratch files by name.
fn writer(dir: &Path) -> impl Fn(&str, &[u8]) + '_ {
    move |name, bytes| std::fs::write(dir.join(name), bytes).unwrap()
}

/// Checkpoints of the wrong kind, shape or content.
fn checkpoints(dir: &Path) {
    let model = std::fs::read(fixture("tiny-v6/model.safetensors")).unwrap();
    let write = writer(dir);
    write("model.safetensors", &model);
    write("truncated.safetensors", &model[..model.len() / 2]);
    write("corrupt.safetensors", b"this is not a checkpoint at all\n");
    let no_maa_x = edited(|t| t.retain(|(n, _)| !n.contains("time_maa_x")));
    write("rwkv5.safetensors", &no_maa_x);
    let w0 = Tensor::from_f32(vec![1, 1, 128], &[0.0; 128]);
    write(
        "rwkv7.safetensors",
        &edited(|t| t.push(("blocks.0.att.w0".into(), w0))),
    );
    let other = [(
        "encoder.weight".into(),
        Tensor::from_f32(vec![2], &[1.0, 2.0]),
    )];
    write("other.safetensors", &write_safetensors(&other).unwrap());
    let reshaped = edited(|t| tensor(t, "blocks.1.ffn.key.weight").shape = vec![224, 256]);
    write("shape.safetensors", &reshaped);
    let no_key = edited(|t| t.retain(|(n, _)| n != "blocks.1.att.key.weight"));
    write("no-key.safetensors", &no_key);
    let nan = edited(|t| set_f32(tensor(t, "blocks.1.att.receptance.weight"), 10, f32::NAN));
    write("nan.safetensors", &nan);
    let inf = edited(|t| set_f32(tensor(t, "blocks.2.ln2.weight"), 3, f32::NEG_INFINITY));
    write("inf.safetensors", &inf);
    write("overflow.safetensors", &overflow());
    // shapes the GPU kernels refuse: a head size, and a matrix's inner dimension (F), not
    // a multiple of 4
    let odd = |head_size, ffn_dim| {
        let spec = RandomSpec {
            n_layer: 1,
            vocab_size: 512,
            head_size,
            ffn_dim,
            ..RandomSpec::tiny(1)
        };
        write_safetensors(&random_tensors(&spec).unwrap()).unwrap()
    };
    write("head-size-2.safetensors", &odd(2, 448));
    write("ffn-450.safetensors", &odd(64, 450));
    let index = r#"{"weight_map": {"emb.weight": "model-00001-of-00002.safetensors"}}"#;
    write("sharded.safetensors.index.json", index.as_bytes());
    for pth in [
        "truncated.pth",
        "malicious_eval.pth",
        "malicious_system.pth",
    ] {
        std::fs::copy(fixture(&format!("pth/{pth}")), dir.join(pth)).unwrap();
    }
    write("text.pth", b"not a zip archive\n");
    header_lies(dir, &model);
    encoders(dir);
    quantized_lies(dir);
}

/// Copies of the tiny BERT, GPT-2 and Llama directories, each with one thing wrong: a text
/// replaced in `config.json`, or a tensor dropped.
fn encoders(dir: &Path) {
    let drop_key = "encoder.layer.1.attention.self.key.weight";
    for (name, from, config_edit, drop) in [
        (
            "roberta",
            "tiny-bert",
            Some((r#""model_type": "bert""#, r#""model_type": "roberta""#)),
            None,
        ),
        ("bert-no-key", "tiny-bert", None, Some(drop_key)),
        (
            "gpt2-inner",
            "tiny-gpt2",
            Some((r#""n_inner": null"#, r#""n_inner": 128"#)),
            None,
        ),
        (
            "gpt2-layer-scaled",
            "tiny-gpt2",
            Some((
                r#""scale_attn_by_inverse_layer_idx": false"#,
                r#""scale_attn_by_inverse_layer_idx": true"#,
            )),
            None,
        ),
        (
            "llama-kv-heads",
            "tiny-llama",
            Some((r#""num_key_value_heads": 2"#, r#""num_key_value_heads": 3"#)),
            None,
        ),
        (
            "llama-rope-yarn",
            "tiny-llama",
            Some((r#""rope_type": "default""#, r#""rope_type": "yarn""#)),
            None,
        ),
    ] {
        let to = dir.join(name);
        std::fs::create_dir_all(&to).unwrap();
        for file in ["config.json", "model.safetensors", "tokenizer.json"] {
            std::fs::copy(fixture(&format!("{from}/{file}")), to.join(file)).unwrap();
        }
        if let Some((old, new)) = config_edit {
            let config = std::fs::read_to_string(to.join("config.json")).unwrap();
            assert!(config.contains(old), "{from}/config.json has no {old}");
            std::fs::write(to.join("config.json"), config.replace(old, new)).unwrap();
        }
        if let Some(tensor) = drop {
            let bytes = std::fs::read(to.join("model.safetensors")).unwrap();
            let mut t = read_safetensors("fixture", &bytes).unwrap();
            t.retain(|(n, _)| n != tensor);
            std::fs::write(to.join("model.safetensors"), write_safetensors(&t).unwrap()).unwrap();
        }
    }
}

/// The tiny model quantized to int8, with its scales or metadata damaged.
fn quantized_lies(dir: &Path) {
    let quantized = || {
        edited(|t| {
            for (name, w) in t.iter_mut() {
                *w = quantize_tensor(name, w, QuantFormat::Int8).unwrap();
            }
        })
    };
    let bytes = quantized();
    let key = "quant.blocks.1.att.key.weight";
    let shape = with_header(&bytes, |h| {
        h["__metadata__"][key] = r#"{"format":"int8","shape":[128,256],"group_size":64}"#.into()
    });
    writer(dir)("quant-shape.safetensors", &shape);
    let meta = with_header(&bytes, |h| {
        h["__metadata__"][key] = r#"{"format":"int3"}"#.into()
    });
    writer(dir)("quant-meta.safetensors", &meta);
    // the first scale of blocks.0.att.gate.weight (after its row's 32 code words): −1
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let gate = st
        .tensor("blocks.0.att.gate.weight")
        .unwrap()
        .data()
        .as_ptr() as usize;
    let at = gate - bytes.as_ptr() as usize + 4 * 32;
    let mut scale = bytes.clone();
    scale[at..at + 4].copy_from_slice(&(-1.0f32).to_le_bytes());
    writer(dir)("quant-scale.safetensors", &scale);
}

/// Safetensors headers that lie: dtype, a size, an offset, the header length.
fn header_lies(dir: &Path, model: &[u8]) {
    let write = writer(dir);
    let int = header_edited(|h| h["blocks.0.att.gate.weight"]["dtype"] = "I32".into());
    write("int.safetensors", &int);
    let size = header_edited(|h| {
        h["blocks.0.att.time_faaaa"]["data_offsets"][1] = 329732.into(); // 4 bytes too many
    });
    write("size-lie.safetensors", &size);
    let offset = header_edited(|h| {
        // a consistent range, but past the end of the data
        h["head.weight"]["data_offsets"] = serde_json::json!([3_794_944, 4_057_088]);
    });
    write("offset-lie.safetensors", &offset);
    let mut length = model.to_vec();
    length[..8].copy_from_slice(&(model.len() as u64).to_le_bytes());
    write("length-lie.safetensors", &length);
}

/// The tiny model with one matrix scaled by 3e38: finite weights, infinite activations.
fn overflow() -> Vec<u8> {
    edited(|t| {
        let w = tensor(t, "blocks.2.ffn.value.weight");
        assert_eq!(w.dtype, DType::F32);
        for b in w.bytes.chunks_exact_mut(4) {
            let v = f32::from_le_bytes(b.try_into().unwrap()) * 3e38;
            b.copy_from_slice(&v.to_le_bytes());
        }
    })
}

fn data_files(dir: &Path) {
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    std::fs::copy(fixture("study/tiny.tsv"), dir.join("pairs.tsv")).unwrap();
    std::fs::copy(fixture("tokenizer/tiny_bpe.json"), dir.join("tok.json")).unwrap();
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    std::fs::create_dir_all(dir.join("folder.tsv")).unwrap();
    std::fs::write(
        dir.join("latin1.tsv"),
        b"sentence1\tsentence2\tscore\ncaf\xe9\tcafe\t5\n",
    )
    .unwrap();
    write("pairs.xlsx", "PK");
    write(
        "columns.tsv",
        "sentence1\tsentence2\tscore\nthe cat\ta cat\t4\nthe dog\ta dog\n",
    );
    write(
        "columns.csv",
        "sentence1,sentence2,score\nthe cat,a cat,4,extra\nthe dog\n",
    );
    write(
        "score.tsv",
        "sentence1\tsentence2\tscore\nthe cat\ta cat\tfour\n",
    );
    write(
        "score.jsonl",
        "{\"sentence1\": \"the cat\", \"sentence2\": \"a cat\", \"score\": \"4\"}\n",
    );
    write(
        "label.csv",
        "sentence1,sentence2,label\nthe cat,a cat,1\nthe dog,a dog,yes\n",
    );
    write(
        "sentence.tsv",
        "sentence1\tsentence2\tscore\nthe cat\ta cat\t4\n \ta dog\t3\n",
    );
    write(
        "sentence.jsonl",
        "{\"sentence1\": \"the cat\", \"sentence2\": \"\", \"score\": 4}\n",
    );
    write(
        "json.jsonl",
        "{\"sentence1\": \"a\", \"sentence2\": \"b\", \"score\": 1}\n{\"sentence1\": \"a\",\n",
    );
    write(
        "quote.csv",
        "sentence1,sentence2,score\nthe cat,a cat,4\n\"the dog,a dog,3\n",
    );
    write(
        "header.tsv",
        "sentence1\tsentence2\tsimilarity\nthe cat\ta cat\t4\n",
    );
    write("empty.tsv", "");
    write("header-only.tsv", "sentence1\tsentence2\tscore\n");
    write("sentences.txt", "ab\nthe cat\n");
    write("blank-line.txt", "the cat\n\nthe dog\n");
    write("empty.txt", "");
    write(
        "a-only.json",
        r#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#,
    );
}

/// The scratch directory, built once per test process.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rwkv-lens-errors-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        checkpoints(&dir);
        data_files(&dir);
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
