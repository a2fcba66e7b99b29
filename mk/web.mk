# The browser demo (web/, docs/web.md). Included by the root Makefile.
#   make web       build web/dist with trunk (wasm32, +simd128 for the CPU fallback)
#   make serve     serve web/dist on http://127.0.0.1:8080/
#   make test-web  build, serve on loopback, drive headless Chromium (WebGPU and CPU
#                  fallback) and compare the page's numbers with the native reference
#   make web-minilm  all-MiniLM-L6-v2 in f16 into web/dist/minilm/ (part of `make web`;
#                  from .cache/minilm, which `make minilm` fills first; never in git): the
#                  attention model the page adds beside the RWKV on first use
#   make measure-web-big  the page on the random 1.6B shape (2.9 GB in .cache/big; opt-in,
#                  not part of `make test`; WEIGHTS=int8,stored): load, Compare, trace times
#                  and wasm memory (tests/e2e/big.mjs, docs/web.md)
.PHONY: web web-tools serve test-web web-minilm measure-web-big

WEB_PORT ?= 8080
WEB_ENV := PATH="$$HOME/.cargo/bin:$$PATH" \
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"

web-tools:
	@./scripts/install-web-tools.sh

web: web-tools minilm
	cd web && $(WEB_ENV) trunk build --release --offline
	@ls -l web/dist/*.wasm | awk '{printf "wasm: %s (%.2f MB)\n", $$NF, $$5/1e6}'
	@$(MAKE) --no-print-directory web-minilm

WEB_MINILM := web/dist/minilm
# The native binary the page's tools and tests run, built with the workspace's features (a
# plain `cargo run` selects one package, unifies other features and rebuilds every
# dependency: minutes on a fresh machine)
WEB_LENS := $(or $(CARGO_TARGET_DIR),target)/debug/rwkv-lens

# `minilm` (mk/attention.mk) installs the model once; a second run needs no network
web-minilm: minilm
	mkdir -p $(WEB_MINILM)
	$(CARGO) build --quiet --workspace --bins
	$(WEB_LENS) convert $(MINILM) $(WEB_MINILM)/model.safetensors --dtype f16
	cp $(MINILM)/config.json $(MINILM)/tokenizer.json $(MINILM)/sentence_bert_config.json $(WEB_MINILM)/

serve: web
	node tests/e2e/serve.mjs web/dist $(WEB_PORT)

test-web: web
	LENS=$${LENS:-$(abspath $(WEB_LENS))} node tests/e2e/e2e.mjs

measure-web-big: web
	node tests/e2e/big.mjs

# `make test` runs the browser test too.
test: test-web
