# Streaming load (docs/quantization.md, docs/web.md). Included by the root Makefile.
.PHONY: test-load-memory

## Native streaming load: host memory beyond the device buffers stays under a bound set by
## the largest tensor, for two checkpoint sizes (tests/alone/load_memory.rs, about 20 s)
test-load-memory:
	$(CARGO) test --workspace --test alone -- load_memory:: --ignored --nocapture

test: test-load-memory
