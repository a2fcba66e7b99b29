# rwkv-lens — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
export XDG_RUNTIME_DIR ?= /tmp
DATA ?= $(abspath ../shared/data)
CARGO ?= cargo

.PHONY: demo test setup build test-native lint fmt clippy

## Set up, then run the study on the offline default (bundled model + GloVe) → runs/demo
demo: setup
	$(CARGO) build --release
	./target/release/rwkv-lens inspect tests/fixtures/tiny-v6/model.safetensors

## Set up, then pass every test (native, GPU on lavapipe, browser end to end)
test: setup lint test-native

setup:
	@./scripts/setup.sh

build:
	$(CARGO) build

test-native:
	RWKV_LENS_DATA=$(DATA) $(CARGO) test --workspace --all-targets

lint: fmt clippy

fmt:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

-include mk/*.mk
