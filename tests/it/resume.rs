//! Interrupted studies resume: the embedding cache and the incremental results.
//!
//! - The real binary on the tiny model, killed (SIGKILL) after random delays five
//!   times, then run to the end: results.json and results.md equal, byte for byte, an
//!   uninterrupted run's (set `RESUME_SEED` to replay a failure; the seed is printed).
//! - With a fake engine (vectors known in closed form): a device lost mid-run names the
//!   batch, keeps the finished model × task units and the partial results, and the rerun
//!   recomputes only the rest; out-of-memory batches are retried in halves; a damaged
//!   cache file is recomputed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::common::{fake_model, fixture, scratch, Calls, Fault};
use rand_xoshiro::rand_core::{RngCore, SeedableRng};
use rand_xoshiro::SplitMix64;
use rwkv_lens::study::run::{run_with, RunOptions};
use rwkv_lens::study::{StudyArgs, StudyModel};
use rwkv_lens::Result;

/// SplitMix64: the test's only randomness, seeded and printed.
struct Rng(SplitMix64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0.next_u64() % n
    }
    fn sentence(&mut self) -> String {
        let words: Vec<String> = (0..1 + self.below(4))
            .map(|_| {
                (0..1 + self.below(4))
                    .map(|_| (b'a' + self.below(26) as u8) as char)
                    .collect()
            })
            .collect();
        words.join(" ")
    }
}

/// `tasks` pair files of `pairs` random letter-word pairs (the tiny BPE knows every letter).
fn write_tasks(dir: &Path, tasks: usize, pairs: usize, rng: &mut Rng) -> String {
    let mut specs = Vec::new();
    for t in 0..tasks {
        let mut text = String::from("sentence1\tsentence2\tscore\n");
        for _ in 0..pairs {
            let (a, b, score) = (rng.sentence(), rng.sentence(), rng.below(501));
            text.push_str(&format!("{a}\t{b}\t{}.{:02}\n", score / 100, score % 100));
        }
        let name = format!("task{t}.tsv");
        std::fs::write(dir.join(&name), text).unwrap();
        specs.push(format!("pairs:{name}"));
    }
    specs.join(",")
}

fn study(dir: &Path, tasks: &str, out: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rwkv-lens"));
    c.current_dir(dir)
        .args(["study", "--device", "cpu", "--baseline", "none"])
        .args(["--model", "model.safetensors", "--tokenizer", "tok.json"])
        .args(["--task", tasks, "--bootstrap", "200", "--batch-size", "8"])
        .args(["--out", out])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Starts the study into `run` five times and SIGKILLs it after a random delay under
/// a fifth of the whole run; returns how many were still running when killed.
fn kill_five_times(dir: &Path, tasks: &str, full: std::time::Duration, rng: &mut Rng) -> usize {
    let mut killed = 0;
    for _ in 0..5 {
        let delay = full.mul_f64((2 + rng.below(18)) as f64 / 100.0);
        let mut child = study(dir, tasks, "run").spawn().unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        child.kill().ok(); // SIGKILL: no chance to clean up
        child.wait().unwrap();
        if let Ok(partial) = std::fs::read_to_string(dir.join("run/results.json")) {
            let json: serde_json::Value = serde_json::from_str(&partial).unwrap();
            assert_eq!(
                json["schema_version"], 2,
                "results.json is never half-written"
            );
        }
    }
    killed
}

#[test]
fn killed_five_times_then_resumed_equals_an_uninterrupted_run() {
    let seed = std::env::var("RESUME_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            now.as_nanos() as u64 ^ std::process::id() as u64
        });
    println!("RESUME_SEED={seed}");
    let dir = scratch("kill");
    std::fs::copy(
        fixture("tiny-v6/model.safetensors"),
        dir.join("model.safetensors"),
    )
    .unwrap();
    std::fs::copy(fixture("tokenizer/tiny_bpe.json"), dir.join("tok.json")).unwrap();
    let tasks = write_tasks(&dir, 6, 30, &mut Rng(SplitMix64::seed_from_u64(7)));
    let start = Instant::now();
    assert!(study(&dir, &tasks, "ref").status().unwrap().success());
    let full = start.elapsed();
    let killed = kill_five_times(
        &dir,
        &tasks,
        full,
        &mut Rng(SplitMix64::seed_from_u64(seed)),
    );
    println!("{killed} of 5 runs killed mid-way (whole run {full:?})");
    assert!(killed >= 1, "no run was interrupted");
    assert!(study(&dir, &tasks, "run").status().unwrap().success());
    for name in ["results.json", "results.md"] {
        assert!(
            read(dir.join("ref").join(name)) == read(dir.join("run").join(name)),
            "{name} differs after resuming (RESUME_SEED={seed})"
        );
    }
    // a finished run reruns from the cache alone, with the same bytes
    assert!(study(&dir, &tasks, "ref").status().unwrap().success());
    let profile: serde_json::Value =
        serde_json::from_str(&read(dir.join("ref/profile.json"))).unwrap();
    let cached: Vec<bool> = (profile["profile"].as_array().unwrap().iter())
        .map(|p| p["cached"].as_bool().unwrap())
        .collect();
    assert_eq!(cached, [true; 6]);
    assert_eq!(
        read(dir.join("ref/results.json")),
        read(dir.join("run/results.json"))
    );
    std::fs::remove_dir_all(&dir).ok();
}

// ---- a fake engine: letter counts plus the layer number ----

/// Two tasks of 12 pairs over the letters a–c, a fake checkpoint, the run options.
fn fake_setup(name: &str) -> (PathBuf, StudyArgs, RunOptions) {
    let dir = scratch(name);
    std::fs::write(dir.join("fake.ckpt"), b"fake weights").unwrap();
    let mut rng = Rng(SplitMix64::seed_from_u64(11));
    let mut tasks = Vec::new();
    for t in 0..2 {
        let mut text = String::from("sentence1\tsentence2\tscore\n");
        for i in 0..12 {
            let s = |r: &mut Rng| {
                (0..1 + r.below(5))
                    .map(|_| (b'a' + r.below(3) as u8) as char)
                    .collect::<String>()
            };
            // digits make every sentence unique (the fake engine ignores them): 24 per task
            let (a, b) = (s(&mut rng), s(&mut rng));
            text.push_str(&format!("{a}1{i}\t{b}2{i}\t{}\n", rng.below(6)));
        }
        let path = dir.join(format!("t{t}.tsv"));
        std::fs::write(&path, text).unwrap();
        tasks.push(format!("pairs:{}", path.display()));
    }
    let args = StudyArgs {
        tasks,
        baselines: vec!["none".into()],
        batch_size: 5,
        bootstrap: 50,
        out: dir.join("out"),
        ..Default::default()
    };
    let opts = RunOptions {
        progress: false,
        cache_dir: Some(dir.join("out/cache")),
        incremental: true,
    };
    (dir, args, opts)
}

fn results_json(args: &StudyArgs, models: &mut [StudyModel], opts: &RunOptions) -> Result<String> {
    run_with(args, models, opts)?.to_json()
}

#[test]
fn device_lost_names_the_batch_and_the_rerun_does_only_the_rest() {
    let (dir, args, opts) = fake_setup("lost");
    let ckpt = dir.join("fake.ckpt");
    let calls = Calls::default();
    // task 0: 24 sentences in batches of 5 → 5 calls; the device is lost on task 1's second batch
    let err = results_json(
        &args,
        &mut [fake_model(&calls, 2, Some(ckpt.clone()), Fault::LostAt(7))],
        &opts,
    )
    .unwrap_err()
    .to_string();
    let task1 = &args.tasks[1];
    assert_eq!(
        err,
        format!("GPU: fake on task {task1}, batch 2 of 5: device lost (Unknown): the test pulled it (finished model × task units stay cached: rerun to resume)")
    );
    let partial: serde_json::Value =
        serde_json::from_str(&read(dir.join("out/results.json"))).unwrap();
    assert_eq!(partial["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(
        partial["notes"][0],
        "partial results: 1 of 2 tasks done; run the same command again to resume"
    );
    // the rerun embeds task 1 only, and ends where an uninterrupted run ends
    calls.borrow_mut().clear();
    let resumed = results_json(
        &args,
        &mut [fake_model(&calls, 2, Some(ckpt.clone()), Fault::None)],
        &opts,
    )
    .unwrap();
    assert_eq!(calls.borrow().len(), 5, "task 0 came from the cache");
    let fresh_opts = RunOptions {
        cache_dir: None,
        incremental: false,
        ..opts
    };
    let fresh = results_json(
        &args,
        &mut [fake_model(&calls, 2, Some(ckpt.clone()), Fault::None)],
        &fresh_opts,
    )
    .unwrap();
    assert_eq!(resumed, fresh);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn out_of_memory_retries_in_halves_then_reports() {
    let (dir, args, _) = fake_setup("oom");
    let ckpt = dir.join("fake.ckpt");
    let opts = RunOptions::default();
    let calls = Calls::default();
    let plain = results_json(
        &args,
        &mut [fake_model(&calls, 2, Some(ckpt.clone()), Fault::None)],
        &opts,
    )
    .unwrap();
    calls.borrow_mut().clear();
    let small = results_json(
        &args,
        &mut [fake_model(
            &calls,
            2,
            Some(ckpt.clone()),
            Fault::MemoryFor(2),
        )],
        &opts,
    )
    .unwrap();
    assert_eq!(small, plain, "halving changes no score");
    // a batch of 5 fails, then 2 + 3, the 3 fails, then 1 + 2
    let sizes: Vec<usize> = calls.borrow().iter().map(|(b, _)| b.len()).collect();
    assert_eq!(&sizes[..6], &[5, 2, 3, 1, 2, 5]);
    let err = results_json(
        &args,
        &mut [fake_model(
            &calls,
            2,
            Some(ckpt.clone()),
            Fault::MemoryFor(0),
        )],
        &opts,
    )
    .unwrap_err()
    .to_string();
    let task0 = &args.tasks[0];
    assert!(
        err.starts_with(&format!(
            "GPU: fake on task {task0}, batch 1 of 5: out of memory: even the single sentence `"
        )),
        "{err}"
    );
    assert!(err.ends_with("` does not fit the device (try --precision f16, a smaller model or another adapter) (finished model × task units stay cached: rerun to resume)"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_damaged_cache_file_is_recomputed() {
    let (dir, args, opts) = fake_setup("damaged");
    let ckpt = dir.join("fake.ckpt");
    let calls = Calls::default();
    let first = results_json(
        &args,
        &mut [fake_model(&calls, 2, Some(ckpt.clone()), Fault::None)],
        &opts,
    )
    .unwrap();
    let files: Vec<PathBuf> = std::fs::read_dir(dir.join("out/cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "one file per model × task");
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40; // one flipped bit in the vectors
    std::fs::write(&files[0], bytes).unwrap();
    calls.borrow_mut().clear();
    let again = results_json(
        &args,
        &mut [fake_model(&calls, 2, Some(ckpt.clone()), Fault::None)],
        &opts,
    )
    .unwrap();
    assert_eq!(
        calls.borrow().len(),
        5,
        "only the damaged unit is recomputed"
    );
    assert_eq!(again, first);
    // a different checkpoint (another hash) shares nothing with the cache
    std::fs::write(&ckpt, b"other weights").unwrap();
    calls.borrow_mut().clear();
    results_json(
        &args,
        &mut [fake_model(&calls, 2, Some(ckpt.clone()), Fault::None)],
        &opts,
    )
    .unwrap();
    assert_eq!(calls.borrow().len(), 10);
    std::fs::remove_dir_all(&dir).ok();
}
