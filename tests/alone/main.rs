//! Tests that run alone in their process (`cargo test --test alone`), each for a reason:
//! - `load_memory`: measures this process's anonymous memory while a checkpoint loads;
//!   another test's allocations in the same process would be counted.
//! - `gpu_speed`, `cpu_speed`: time kernels and the reference forward; other tests on the
//!   same cores would slow them. `make device-pack` also carries this binary to a GPU
//!   machine (`scripts/device-bench.sh` runs its `gpu_speed::` tests).
//! - `fast_memory`: the 16-bit CPU engine's peak resident set (`VmHWM`), measured in a
//!   child process of this binary; other tests' memory would be counted.
//! - `gpu_big`: a random model of the RWKV-6 1.6B shapes (about 10 GB of host memory on
//!   lavapipe) must not share memory with the other tests running in parallel.
//!
//! All but `gpu_big::finch_1b6_shape_loads_within_binding_limit_and_runs` are `#[ignore]`d
//! measurements: `cargo test --test alone -- --ignored --nocapture --test-threads 1 gpu_speed::`.

#[path = "../it/common/mod.rs"]
mod common;

mod cpu_speed;
mod fast_memory;
mod gpu_big;
mod gpu_speed;
mod load_memory;
