//! Models and data by name, against a local hub on loopback (`tests/it/hub_server`).
//!
//! Every case runs the real binary with `HF_ENDPOINT` at the server and `HF_HOME`,
//! `XDG_CACHE_HOME` in a scratch directory: fetch by id and by `repo:file`, the second
//! run making no request, `@revision`, `HF_HUB_OFFLINE` with and without a cache, 404,
//! 401, a short download, a wrong hash, a dropped connection then resume, the HF layout
//! (sharded, `config.json` checked), a repo's `tokenizer.json`, `data fetch`; and the
//! embeddings from an id equal those from the same local file, bit for bit; STS12–16 and
//! SICK-R rebuilt from MTEB-style copies of the shared source files (shuffled, re-spaced)
//! through the provenance index, equal to the source files.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::hub_server::datasets::{glue_parquet, gz_jsonl, mteb_copy, stsb_rows, tsv_rows};
use crate::hub_server::{File, HubServer, Mode, Repo};
use rwkv_lens::model::checkpoint::{read_safetensors, write_safetensors};
use rwkv_lens::model::layout::hf_name;

use crate::common::fixture;

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap()
}

/// The tiny model in the Hugging Face layout (HF tensor names), as safetensors bytes.
fn hf_layout() -> Vec<u8> {
    let tensors = read_safetensors("f", &read("tiny-v6/model.safetensors")).unwrap();
    let renamed: Vec<_> = tensors.into_iter().map(|(n, t)| (hf_name(&n), t)).collect();
    write_safetensors(&renamed).unwrap()
}

/// The HF-layout tiny model split in two shards plus its index.
fn sharded() -> Vec<File> {
    let tensors = read_safetensors("f", &hf_layout()).unwrap();
    let (a, b) = tensors.split_at(tensors.len() / 2);
    let names = [
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
    ];
    let mut map = serde_json::Map::new();
    for (part, name) in [a, b].iter().zip(names) {
        for (n, _) in part.iter() {
            map.insert(n.clone(), name.into());
        }
    }
    let index = serde_json::json!({ "metadata": {}, "weight_map": map });
    vec![
        File::new(
            "model.safetensors.index.json",
            index.to_string().into_bytes(),
        ),
        File::new(names[0], write_safetensors(a).unwrap()),
        File::new(names[1], write_safetensors(b).unwrap()),
    ]
}

fn config(hidden: usize) -> File {
    let json = serde_json::json!({
        "architectures": ["Rwkv6ForCausalLM"], "hidden_size": hidden,
        "num_hidden_layers": 3, "vocab_size": 512, "head_size": 64,
    });
    File::new("config.json", json.to_string().into_bytes())
}

fn repos() -> Vec<Repo> {
    let st = || File::new("model.safetensors", read("tiny-v6/model.safetensors"));
    let tok = || File::new("tokenizer.json", read("tokenizer/tiny_bpe.json"));
    vec![
        Repo::model(
            "test/tiny",
            vec![st(), File::new("README.md", b"tiny".to_vec())],
        )
        .with_revision(
            "f16",
            vec![File::new(
                "model.safetensors",
                read("tiny-v6-f16/model.safetensors"),
            )],
        ),
        Repo::model(
            "test/pth",
            vec![
                File::new("model.pth", read("tiny-v6/model.pth")),
                File::new("other.pth", read("tiny-v6/model.pth")),
            ],
        ),
        Repo::model(
            "test/bin",
            vec![
                File::new("pytorch_model.bin", read("tiny-v6/model.pth")),
                config(128),
            ],
        ),
        Repo::model("test/hf", [sharded(), vec![config(128)]].concat()),
        Repo::model(
            "test/bad-config",
            vec![File::new("model.safetensors", hf_layout()), config(256)],
        ),
        Repo::model("test/bpe", vec![st(), tok()]),
        Repo::model(
            "test/llama",
            ["config.json", "model.safetensors", "tokenizer.json"]
                .map(|f| File::new(f, read(&format!("tiny-llama/{f}"))))
                .to_vec(),
        ),
        Repo::model("test/private", vec![st()]).private(),
        Repo::model("test/corrupt", vec![st().with(Mode::WrongHash)]),
        Repo::model("test/short", vec![st().with(Mode::Short)]),
        Repo::model("test/drop", vec![st().with(Mode::DropOnce)]),
        Repo::dataset(
            "mteb/stsbenchmark-sts",
            vec![
                File::new("test.jsonl.gz", stsb_rows(1379)),
                File::new("validation.jsonl.gz", stsb_rows(1500)),
                File::new("train.jsonl.gz", stsb_rows(5749)),
            ],
        ),
        Repo::dataset(
            "nyu-mll/glue",
            vec![
                File::new("mrpc/train-00000-of-00001.parquet", glue_parquet(3668)),
                File::new("mrpc/validation-00000-of-00001.parquet", glue_parquet(408)),
                File::new("mrpc/test-00000-of-00001.parquet", glue_parquet(5)),
            ],
        ),
        Repo::dataset(
            "mteb/biosses-sts",
            vec![File::new(
                "test.jsonl.gz",
                gz_jsonl(
                    99,
                    |i| serde_json::json!({"sentence1": format!("p{i}"), "sentence2": "q", "score": 2.0}),
                ),
            )],
        ),
    ]
}

/// A scratch home (hub cache, rwkv-lens cache) and the server.
struct Env {
    dir: PathBuf,
    server: HubServer,
}

impl Env {
    fn new(name: &str) -> Env {
        Env::serving(name, repos())
    }

    fn serving(name: &str, repos: Vec<Repo>) -> Env {
        let dir = std::env::temp_dir().join(format!("rwkv-lens-hub-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("sentences.txt"), "the cat sat\nab\n").unwrap();
        std::fs::copy(fixture("tokenizer/tiny_bpe.json"), dir.join("tok.json")).unwrap();
        Env {
            dir,
            server: HubServer::start(repos),
        }
    }

    /// (success, stdout, stderr) of `rwkv-lens ARGS` (extra env: `(name, value)`).
    fn run(&self, args: &str, env: &[(&str, &str)]) -> (bool, String, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rwkv-lens"));
        cmd.args(args.split_whitespace())
            .current_dir(&self.dir)
            .env("HF_ENDPOINT", &self.server.url)
            .env("HF_HOME", self.dir.join("hf"))
            .env("XDG_CACHE_HOME", self.dir.join("cache"))
            .env_remove("HF_HUB_OFFLINE")
            .env_remove("HF_TOKEN")
            .env_remove("HF_HUB_CACHE")
            .env_remove("RWKV_LENS_DATA");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    }

    fn ok(&self, args: &str) -> String {
        let (ok, stdout, stderr) = self.run(args, &[]);
        assert!(ok, "`{args}` failed: {stderr}");
        stdout
    }

    /// The one `error:` line of a failing run.
    fn fails(&self, args: &str, env: &[(&str, &str)]) -> String {
        let (ok, _, stderr) = self.run(args, env);
        assert!(!ok, "`{args}` succeeded");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(lines.len(), 1, "{stderr}");
        lines[0].to_string()
    }

    /// The embeddings of `sentences.txt` by `model` on the CPU reference.
    fn embed(&self, model: &str, extra: &str, out: &str) -> Vec<u8> {
        self.ok(&format!(
            "embed --device cpu --model {model} {extra} -o {out} sentences.txt"
        ));
        std::fs::read(self.dir.join(out)).unwrap()
    }

    /// Every file in the hub cache's blobs and snapshots (resolved), with sizes.
    fn cache_files(&self) -> Vec<PathBuf> {
        fn walk(d: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out)
                } else {
                    out.push(p)
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.dir.join("hf/hub"), &mut out);
        out
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[test]
fn by_id_once_then_from_the_cache_and_equal_to_the_local_file() {
    let env = Env::new("id");
    let local = fixture("tiny-v6/model.safetensors");
    let from_local = env.embed(local.to_str().unwrap(), "--tokenizer tok.json", "a.npy");
    let from_id = env.embed("test/tiny", "--tokenizer tok.json", "b.npy");
    assert_eq!(
        from_local, from_id,
        "embeddings from the id differ from the local file"
    );
    let before = env.server.request_count();
    assert!(before > 0);
    assert!(env.ok("inspect test/tiny").contains("layers      3"));
    assert_eq!(
        env.server.request_count(),
        before,
        "the second run made requests"
    );
    // offline with the cache: works, still no request
    let (ok, out, err) = env.run("inspect test/tiny", &[("HF_HUB_OFFLINE", "1")]);
    assert!(ok && out.contains("layers      3"), "{err}");
    assert_eq!(env.server.request_count(), before);
    // a revision: other files, its own snapshot
    assert!(env.ok("inspect test/tiny@f16").contains("dtype       f16"));
    assert!(env.ok("inspect test/tiny").contains("dtype       f32"));
}

#[test]
fn a_pth_or_bin_file_is_converted_once_and_equals_the_local_pth() {
    let env = Env::new("pth");
    let e = env.fails("inspect test/pth", &[]);
    assert!(
        e.contains("holds 2 checkpoints") && e.contains("test/pth:FILE"),
        "{e}"
    );
    let local = fixture("tiny-v6/model.pth");
    let from_local = env.embed(local.to_str().unwrap(), "--tokenizer tok.json", "a.npy");
    let from_id = env.embed("test/pth:model.pth", "--tokenizer tok.json", "b.npy");
    assert_eq!(from_local, from_id);
    let converted = std::fs::read_dir(env.dir.join("cache/rwkv-lens/converted"))
        .unwrap()
        .count();
    assert_eq!(converted, 1);
    let (ok, _, err) = env.run("inspect test/pth:model.pth", &[]);
    assert!(ok && !err.contains("converting"), "converted twice: {err}");
    // pytorch_model.bin (the same torch zip): picked from the listing, converted too
    assert_eq!(
        env.embed("test/bin", "--tokenizer tok.json", "c.npy"),
        from_local
    );
}

#[test]
fn hf_layout_sharded_with_config_and_a_repo_tokenizer() {
    let env = Env::new("hf");
    let out = env.ok("inspect test/hf");
    assert!(
        out.contains("layout      HuggingFace") || out.contains("layout"),
        "{out}"
    );
    let local = fixture("tiny-v6/model.safetensors");
    let a = env.embed(local.to_str().unwrap(), "--tokenizer tok.json", "a.npy");
    assert_eq!(env.embed("test/hf", "--tokenizer tok.json", "b.npy"), a);
    // no tokenizer.json in the repo: the World tokenizer, refused for a 512-row embedding
    assert_eq!(
        env.fails("embed --device cpu --model test/hf -o x.npy sentences.txt", &[]),
        "error: tokenizer `world` has 65536 ids but model `test/hf` embeds 512 (pass the model's own tokenizer with --tokenizer FILE|ID)"
    );
    let e = env.fails("inspect test/bad-config", &[]);
    assert_eq!(e, "error: test/bad-config: config.json: `hidden_size` = 256 but the checkpoint's shapes give 128");
    // the repo's tokenizer.json is used, as the same file given locally
    let local_bpe = a;
    assert_eq!(env.embed("test/bpe", "", "d.npy"), local_bpe);
    // --tokenizer ID takes that repo's tokenizer.json
    assert_eq!(
        env.embed(local.to_str().unwrap(), "--tokenizer test/bpe", "e.npy"),
        local_bpe
    );
}

#[test]
fn failures_are_one_line_and_leave_no_bad_file_in_the_cache() {
    let env = Env::new("fail");
    let url = &env.server.url;
    assert_eq!(
        env.fails("inspect test/tiny:nope.safetensors", &[]),
        "error: test/tiny: has no file `nope.safetensors` (it holds README.md, model.safetensors)"
    );
    assert_eq!(
        env.fails("inspect test/tiny@v9", &[]),
        format!("error: test/tiny@v9: not found on the hub at {url} (404): check the id, the file name and the revision")
    );
    assert!(env.fails("inspect test/private", &[]).starts_with(
        "error: test/private: the hub refused access (401): a gated or private repo needs a token"
    ));
    let e = env.fails("inspect test/corrupt", &[]);
    assert!(
        e.starts_with(
            "error: test/corrupt: file `model.safetensors`: content hash mismatch: expected "
        ),
        "{e}"
    );
    let e = env.fails("inspect test/short", &[]);
    assert!(
        e.contains("content hash mismatch") && e.contains("the 1901572 bytes received"),
        "{e}"
    );
    for f in env.cache_files() {
        let name = f.to_string_lossy();
        let bad_repo = name.contains("--corrupt") || name.contains("--short");
        let harmless = name.ends_with(".lock") || name.contains("/refs/");
        assert!(!bad_repo || harmless, "left in the cache: {name}");
    }
    let e = env.fails("inspect test/tiny", &[("HF_HUB_OFFLINE", "1")]);
    assert_eq!(e, "error: test/tiny: not in the local hub cache and HF_HUB_OFFLINE is set (run once online, or unset HF_HUB_OFFLINE)");
}

#[test]
fn a_dropped_connection_is_resumed_by_the_next_run() {
    let env = Env::new("drop");
    let e = env.fails("inspect test/drop", &[]);
    assert!(
        e.starts_with("error: test/drop: file `model.safetensors`: download interrupted: "),
        "{e}"
    );
    assert!(
        e.ends_with("(run the command again: the part already downloaded is resumed)"),
        "{e}"
    );
    let a = env.embed("test/drop", "--tokenizer tok.json", "a.npy");
    let resumed = env
        .server
        .ranges()
        .iter()
        .any(|r| r.starts_with("bytes=") && !r.starts_with("bytes=0-"));
    assert!(
        resumed,
        "no range request resumed the part: {:?}",
        env.server.ranges()
    );
    let local = fixture("tiny-v6/model.safetensors");
    assert_eq!(
        env.embed(local.to_str().unwrap(), "--tokenizer tok.json", "b.npy"),
        a
    );
}

#[test]
fn data_fetch_converts_checks_counts_and_feeds_the_study() {
    let env = Env::new("data");
    let out = env.ok("data fetch --tasks stsb --data-dir data");
    assert!(out.contains("stsb/stsb-test.tsv"), "{out}");
    let test = std::fs::read_to_string(env.dir.join("data/stsb/stsb-test.tsv")).unwrap();
    assert_eq!(test.lines().count(), 1380);
    assert!(test.starts_with("genre\tsource\tyear\tsid\tscore\tsentence1\tsentence2\nmain-news\theadlines\t2015\t0000\t0.0\tthe cat 0\ta cat\n"));
    let md = std::fs::read_to_string(env.dir.join("data/stsb/SOURCE.md")).unwrap();
    assert!(
        md.contains("mteb/stsbenchmark-sts") && md.contains("| `test.jsonl.gz` | 1379 |"),
        "{md}"
    );
    env.ok("data fetch --tasks mrpc --data-dir data");
    let dev = std::fs::read_to_string(env.dir.join("data/mrpc/glue/dev.tsv")).unwrap();
    assert_eq!(dev.lines().count(), 409);
    assert!(dev.starts_with("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n0\t0\t0\tthe dog 0\ta dog\n1\t1\t1\tthe dog 1\ta dog\n"), "{dev}");
    let study = "study --device cpu --baseline none --model test/tiny --tokenizer tok.json --task stsb:test@5,mrpc:glue-train@5+glue-validation@5 --bootstrap 0 --out run";
    let (ok, _, err) = env.run(
        study,
        &[("RWKV_LENS_DATA", env.dir.join("data").to_str().unwrap())],
    );
    assert!(ok, "{err}");
    assert_eq!(
        env.fails("data fetch --tasks biosses --data-dir data", &[]),
        "error: datasets/mteb/biosses-sts: test.jsonl.gz: 99 rows, expected 100"
    );
    assert!(!env.dir.join("data/biosses").exists());
    let e = env.fails("study --device cpu --baseline none --model test/tiny --tokenizer tok.json --task biosses --data-dir data --out run2", &[]);
    assert!(
        e.ends_with("(`rwkv-lens data fetch --tasks biosses` fetches it)"),
        "{e}"
    );
}

#[test]
fn sts_and_sick_are_rebuilt_in_the_source_layout_from_mteb_copies() {
    let Some(data) = common::data_dir("sts12-16/sts12-16.tsv") else {
        return;
    };
    let sts = tsv_rows(&data.join("sts12-16/sts12-16.tsv"));
    let of = |year: &str, split: &str| {
        let rows: Vec<_> = sts
            .iter()
            .filter(|r| r[0] == year && r[1] == split)
            .collect();
        mteb_copy(&rows, (5, 6, 4))
    };
    let mut served = repos();
    served.push(Repo::dataset(
        "mteb/sts12-sts",
        vec![
            File::new("test.jsonl.gz", of("2012", "test")),
            File::new("train.jsonl.gz", of("2012", "train")),
        ],
    ));
    for year in ["2013", "2014", "2015", "2016"] {
        let name = format!("mteb/sts{}-sts", &year[2..]);
        served.push(Repo::dataset(
            &name,
            vec![File::new("test.jsonl.gz", of(year, "test"))],
        ));
    }
    let sick_files = [
        "SICK_test_annotated.txt",
        "SICK_train.txt",
        "SICK_trial.txt",
    ];
    let sick: Vec<Vec<Vec<String>>> = sick_files
        .iter()
        .map(|f| tsv_rows(&data.join("sick/semeval2014").join(f)))
        .collect();
    let all: Vec<_> = sick.iter().flatten().collect();
    served.push(Repo::dataset(
        "mteb/sickr-sts",
        vec![File::new("test.jsonl.gz", mteb_copy(&all, (1, 2, 3)))],
    ));
    let env = Env::serving("sts", served);
    env.ok("data fetch --tasks sts14,sickr,sts12 --data-dir data");

    let got = tsv_rows(&env.dir.join("data/sts12-16/sts12-16.tsv"));
    assert_eq!(got.len(), 14778);
    let same = |a: &[String], b: &[String], text: &[usize], score: usize| {
        // As the index keys pairs: a repeated pair's copies may trade places.
        let norm = |s: &str| {
            s.to_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "")
        };
        let num = |s: &str| s.parse::<f64>().unwrap();
        text.iter().all(|&i| norm(&a[i]) == norm(&b[i])) && num(&a[score]) == num(&b[score])
    };
    for (g, want) in got.iter().zip(&sts) {
        assert_eq!(g[..4], want[..4], "year, split, subset, line");
        assert!(same(g, want, &[5, 6], 4), "{g:?} vs {want:?}");
    }
    for (file, want) in sick_files.iter().zip(&sick) {
        let got = tsv_rows(&env.dir.join("data/sick/semeval2014").join(file));
        assert_eq!(got.len(), want.len(), "{file}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g[0], w[0], "{file}: pair_ID");
            assert!(same(g, w, &[1, 2], 3), "{g:?} vs {w:?}");
        }
    }
    let md = std::fs::read_to_string(env.dir.join("data/sts12-16/SOURCE.md")).unwrap();
    assert!(
        md.contains("| `mteb/sts16-sts` | `test.jsonl.gz` | 1186 | 0 |"),
        "{md}"
    );
    let study = "study --device cpu --baseline none --model test/tiny --tokenizer tok.json --task sickr:test@5,sts12:test@5 --bootstrap 0 --out run";
    let data_dir = env.dir.join("data");
    let (ok, _, err) = env.run(study, &[("RWKV_LENS_DATA", data_dir.to_str().unwrap())]);
    assert!(ok, "{err}");
    let results = std::fs::read_to_string(env.dir.join("run/results.md")).unwrap();
    assert!(
        results.contains("MSRpar") || results.contains("captions"),
        "{results}"
    );
}

/// `bench --model ID`: a model by id is measured like a random shape (both engines at
/// every point, agreeing), under its own name, vocabulary and precision.
#[test]
fn bench_measures_a_model_by_id() {
    if !common::adapter() {
        return;
    }
    let env = Env::new("bench");
    env.ok("bench --model test/tiny@f16 --tokenizer tok.json --quick --no-peer --no-roofline --no-profile --no-embedding --json bench.json");
    let text = std::fs::read_to_string(env.dir.join("bench.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rows = json["prefill"].as_array().unwrap();
    for engine in ["rwkv-lens gpu", "cpu reference"] {
        let of: Vec<_> = rows.iter().filter(|r| r["engine"] == engine).collect();
        assert_eq!(of.len(), 4, "{engine}: {rows:?}");
        for r in of {
            assert_eq!(
                (&r["shape"], &r["precision"], &r["vocab"], &r["status"]),
                (&"tiny".into(), &"f16".into(), &512.into(), &"ok".into()),
                "{r}"
            );
        }
    }
    let agreement = json["agreement"].as_array().unwrap();
    assert!(!agreement.is_empty() && agreement.iter().all(|a| a["pass"] == true));
    assert!(json["notes"].to_string().contains("model test/tiny@f16"));
}

/// `quantize` takes a MODEL by id like every other command.
#[test]
fn quantize_reads_a_model_by_id() {
    let env = Env::new("quantize");
    let out = env.ok("quantize test/tiny q.safetensors --format int8");
    assert!(out.starts_with("wrote q.safetensors"), "{out}");
    let bytes = std::fs::read(env.dir.join("q.safetensors")).unwrap();
    assert!(read_safetensors("q", &bytes).is_ok());
}

/// A Llama decoder by hub id (as `HuggingFaceTB/SmolLM2-135M-Instruct`): its config.json
/// makes it an attention model, its files come from the cache and embed like the local folder.
#[test]
fn a_llama_repo_by_id_embeds_like_the_local_directory() {
    let env = Env::new("llama");
    let by_id = env.embed("test/llama", "--layers all", "id.safetensors");
    let local = fixture("tiny-llama").display().to_string();
    let from_dir = env.embed(&local, "--layers all", "dir.safetensors");
    let values = |bytes: &[u8]| -> Vec<(String, Vec<f32>)> {
        let t = read_safetensors("embed", bytes).unwrap();
        t.into_iter().map(|(n, t)| (n, t.to_f32())).collect()
    };
    let got = values(&by_id);
    assert_eq!(got.len(), 4, "layers 0..=3");
    assert_eq!(got, values(&from_dir));
}
