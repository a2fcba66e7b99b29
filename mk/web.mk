# The browser demo (web/, docs/web.md). Included by the root Makefile.
#   make web       build web/dist with trunk (wasm32, +simd128 for the CPU fallback)
#   make serve     serve web/dist on http://127.0.0.1:8080/
#   make test-web  build, serve on loopback, drive headless Chromium (WebGPU and CPU
#                  fallback) and compare the page's numbers with the native reference
.PHONY: web web-tools serve test-web

WEB_PORT ?= 8080
WEB_ENV := PATH="$$HOME/.cargo/bin:$$PATH" \
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"

web-tools:
	@./scripts/install-web-tools.sh

web: web-tools
	cd web && $(WEB_ENV) trunk build --release --offline
	@ls -l web/dist/*.wasm | awk '{printf "wasm: %s (%.2f MB)\n", $$NF, $$5/1e6}'

serve: web
	node tests/e2e/serve.mjs web/dist $(WEB_PORT)

test-web: web
	node tests/e2e/e2e.mjs

# `make test` runs the browser test too.
test: test-web
