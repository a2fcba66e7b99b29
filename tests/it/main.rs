//! The integration tests: one crate, one binary, one link (`cargo test --test it`).
//!
//! Each file beside this one is the tests of one topic, a module here; a filter picks
//! topics, e.g. `cargo test --test it -- gpu_forward:: study_` (libtest runs every test
//! whose path contains one of the filters). `common` (fixtures, goldens, the CI rule
//! for tests that cannot run here) and `hub_server` (a local hub on loopback) are
//! compiled once for all of them: a topic imports `crate::common::…`.
//!
//! A new topic: a file `tests/it/<topic>.rs` and its line below. Tests that must run
//! alone in their process (memory and time measurements, the 1.6B shape) live in the
//! second crate, `tests/alone/`.

mod common;
mod hub_server;

mod attention_golden;
mod attention_gpu;
mod attention_map;
mod bench_report;
mod bf16_golden;
mod chunked;
mod demo_data;
mod demo_model;
mod duo_expected;
mod errors;
mod fast_engine;
mod fuzz_messages;
mod fuzz_pairs;
mod gpu_forward;
mod gpu_long;
mod hub;
mod hub_hostile;
mod long_golden;
mod minilm_sts;
mod pth;
mod quant;
mod recurrence_doc;
mod reference_golden;
mod resume;
mod rwkv7_golden;
mod smollm;
mod stream_model;
mod study_compare;
mod study_cost;
mod study_glove;
mod study_loaders;
mod study_metrics;
mod study_run;
mod tokenizer;
mod trace;
mod trace_format;
