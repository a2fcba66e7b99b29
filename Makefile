# rwkv-lens — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
export XDG_RUNTIME_DIR ?= /tmp
DATA ?= $(abspath ../shared/data)
CARGO ?= cargo

.PHONY: demo test setup build test-native lint fmt clippy

DEMO_MODEL := assets/demo-model/rwkv6-demo.safetensors
# MRPC GLUE validation, STS-B test and their GloVe words, shipped: the demo needs no network
DEMO_DATA := assets/demo-data
LENS := ./target/release/rwkv-lens

## Set up, then run the study on the offline default (bundled model + data + GloVe) → runs/demo,
## and, when the full data is there ($(DATA)), the source study's exact protocol on a
## 12-layer random checkpoint → runs/source-study
demo: setup
	$(CARGO) build --release
	$(LENS) inspect $(DEMO_MODEL)
	$(LENS) study --model $(DEMO_MODEL) --preset demo --data-dir $(DEMO_DATA) --out runs/demo
	@if [ -d "$(DATA)/mrpc/glue" ]; then \
	  set -x; \
	  $(LENS) random-model --layers 12 --embd 64 --seed 1 -o runs/random-12x64.safetensors && \
	  $(LENS) study --model runs/random-12x64.safetensors --preset source-study --data-dir $(DATA) --out runs/source-study; \
	else \
	  echo "source-study run skipped: it needs MRPC GLUE train, not in $(DATA) (rwkv-lens data fetch, or DATA=DIR)"; \
	fi
	@echo "reports: runs/demo/results.md (and runs/source-study/results.md), SVG plots beside them"

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
