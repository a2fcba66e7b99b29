# Reliability extras (included by the Makefile): fuzzing, the error table, kill-and-resume.
# See docs/errors.md.

FUZZ_CASES ?= 20000
# the modules of tests/it that hold proptest properties
FUZZ_TESTS := pth:: tokenizer:: fuzz_pairs:: fuzz_messages::

.PHONY: fuzz-smoke fuzz-long errors-doc resume-test

## Fuzz smoke run: every proptest property at 2,000 cases (also part of `make test`)
fuzz-smoke:
	$(CARGO) test --workspace --test it -- $(FUZZ_TESTS)

## Long fuzzing: every property of the safetensors/.pth loaders, the tokenizer and the
## data-file parser at FUZZ_CASES cases each (default 20,000; minutes)
fuzz-long:
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --workspace --test it -- $(FUZZ_TESTS) --nocapture

## Rewrite the message column of docs/errors.md from the binary (review the diff after)
errors-doc:
	UPDATE_DOCS=1 $(CARGO) test --workspace --test it -- errors::

## Bad inputs through the binary, and kill-and-resume of the study
resume-test:
	$(CARGO) test --workspace --test it -- errors:: resume:: --nocapture
