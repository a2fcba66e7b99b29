# GPU engine extras (included by the Makefile).

.PHONY: gpu-bench wasm-check-gpu

## 1.6B-shaped random model: per-kernel profile on the default adapter (lavapipe here),
## GPU vs CPU-reference tokens/s and per-layer errors (several minutes, ~10 GB RAM)
gpu-bench:
	$(CARGO) test --workspace --release --test alone -- --ignored --nocapture gpu_big::finch_1b6_measurements

## The engine's async core builds for the browser
wasm-check-gpu:
	$(CARGO) check --target wasm32-unknown-unknown --no-default-features --lib
