# Benchmarks (included by the Makefile). See docs/benchmarks.md.
#   make bench        rwkv-lens bench (release) with the defaults for this adapter → runs/bench/
#   make bench-peer   build the web-rwkv peer (peer/web-rwkv, release; a separate crate)
#   make bench-micro  criterion micro-benchmarks of the kernels (benches/kernels.rs)
#   make bench-quick  the short run the tests use (debug build is fine)
#   make device-pack  prepare a GPU machine without network: .gl/ (Vulkan loader .debs),
#                     .bench-bin/ (stripped release binaries), .bench-data/ (MRPC GLUE files)
BENCH_OUT ?= runs/bench
BENCH_ARGS ?=

.PHONY: bench bench-peer bench-micro bench-quick device-pack

bench:
	$(CARGO) build --release --bin rwkv-lens
	@mkdir -p $(BENCH_OUT)
	RWKV_LENS_DATA=$(DATA) ./target/release/rwkv-lens bench --json $(BENCH_OUT)/bench.json $(BENCH_ARGS) | tee $(BENCH_OUT)/bench.md

bench-peer:
	$(CARGO) build --release --manifest-path peer/web-rwkv/Cargo.toml

bench-micro:
	$(CARGO) bench --bench kernels

bench-quick:
	RWKV_LENS_DATA=$(DATA) $(CARGO) run --bin rwkv-lens -- bench --quick $(BENCH_ARGS)

device-pack: bench-peer
	$(CARGO) build --release --bin rwkv-lens
	mkdir -p .bench-bin .bench-data/mrpc/glue .gl /tmp/amd64/partial
	strip -o .bench-bin/rwkv-lens target/release/rwkv-lens
	strip -o .bench-bin/web-rwkv-peer peer/web-rwkv/target/release/web-rwkv-peer
	strip -o .bench-bin/gpu-speed $$($(CARGO) test --workspace --release --no-run --test alone --message-format=json \
	  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
	cp $(DATA)/mrpc/glue/train.tsv $(DATA)/mrpc/glue/dev.tsv .bench-data/mrpc/glue/
	o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'; \
	  apt-get $$o update -qq && cd .gl && apt-get $$o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2
	@du -sh .bench-bin .bench-data .gl
	@echo "device-pack: carry .gl .bench-bin .bench-data, then run: OUT=\$$OUT scripts/device-bench.sh"
