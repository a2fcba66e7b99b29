#!/usr/bin/env python3
"""Golden fixture for the Llama decoder: a tiny random `LlamaForCausalLM` in the real Hugging Face layout (as the
hub ships HuggingFaceTB/SmolLM2-135M) + the `transformers` package's hidden states of every layer.

    pip install torch transformers numpy safetensors tokenizers
    python3 scripts/make_llama_goldens.py                # (re)writes tests/fixtures/tiny-llama/
    python3 scripts/make_llama_goldens.py --self-check   # re-reads it, compares with a float64 numpy forward

What it writes (see docs/goldens.md, "The decoder fixtures"):
  config.json, model.safetensors        `LlamaConfig(...)` + `LlamaForCausalLM.save_pretrained` (`model.` prefix,
                                        tied embeddings so no lm_head), random weights (numpy PCG64, seed 9090):
                                        grouped-query attention (4 heads, 2 KV heads), RoPE θ = 10000, SwiGLU,
                                        RMSNorm eps 1e-5, no biases
  tokenizer.json                        make_decoder_goldens.py's byte-level BPE (vocabulary 512)
  golden.safetensors                    tokens.{s} I32 [T]; hidden.{s} F32 [L+1, T, C] (0 = embed_tokens, i < L = the
                                        output of block i, L = norm(output of block L), as `output_hidden_states`
                                        gives them) from the sequence alone (eager attention, fp32, one thread);
                                        mean.{s} F32 [L+1, C], the attention-mask mean inside one right-padded batch
  meta.json                             dimensions, texts, versions
"""
import argparse
import datetime
import json
import os
import platform
import sys

import numpy as np
import torch
import transformers
from safetensors.numpy import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_attention_goldens import ROOT, run  # noqa: E402
from make_decoder_goldens import TEXTS, make_tokenizer  # noqa: E402

OUT = os.path.join(ROOT, "tests", "fixtures", "tiny-llama")
DIMS = dict(hidden=64, heads=4, kv_heads=2, layers=3, intermediate=192, vocab=512, positions=64)
THETA, EPS = 10000.0, 1e-5
SEED = 9090
SEQ_LENS = [1, 7, 29, 64]


def make_config():
    d = DIMS
    return transformers.LlamaConfig(
        vocab_size=d["vocab"], hidden_size=d["hidden"], intermediate_size=d["intermediate"],
        num_hidden_layers=d["layers"], num_attention_heads=d["heads"], num_key_value_heads=d["kv_heads"],
        max_position_embeddings=d["positions"], rms_norm_eps=EPS, rope_theta=THETA, hidden_act="silu",
        tie_word_embeddings=True, attention_bias=False, mlp_bias=False, bos_token_id=None,
        eos_token_id=d["vocab"] - 1, pad_token_id=None, attn_implementation="eager")


def make_weights(model):
    """Overwrites every parameter: embed_tokens N(0,1), matrices [out][in] N(0, 1.5/√in), RMSNorm weights 1+N(0,0.1)."""
    rng = np.random.default_rng(SEED)
    state = {}
    for name, p in model.state_dict().items():
        shape = tuple(p.shape)
        if name == "lm_head.weight":
            continue  # tied to embed_tokens
        if name.endswith("embed_tokens.weight"):
            v = rng.normal(0, 1, shape)
        elif name.endswith("norm.weight"):
            v = 1 + rng.normal(0, 0.1, shape)
        elif name.endswith(".weight"):
            v = rng.normal(0, 1.5 / np.sqrt(shape[1]), shape)
        else:
            continue  # buffers
        state[name] = torch.tensor(v.astype(np.float32))
    model.load_state_dict(state, strict=False)
    assert torch.equal(model.lm_head.weight, model.model.embed_tokens.weight)


def sequences(tok):
    rng = np.random.default_rng(SEED + 1)
    seqs = [rng.integers(0, DIMS["vocab"], n).tolist() for n in SEQ_LENS]
    seqs += [tok.encode(t).ids for t in TEXTS]
    return seqs


def write():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    model = transformers.LlamaForCausalLM(make_config()).eval()
    assert model.config._attn_implementation == "eager", model.config._attn_implementation
    make_weights(model)
    model.save_pretrained(OUT, safe_serialization=True)
    tok = make_tokenizer()
    tok.save(os.path.join(OUT, "tokenizer.json"))
    seqs = sequences(tok)
    save_file(run(model, seqs), os.path.join(OUT, "golden.safetensors"))
    json.dump({
        "generator": "scripts/make_llama_goldens.py", "date": datetime.date.today().isoformat(),
        "torch": torch.__version__, "transformers": transformers.__version__, "python": sys.version.split()[0],
        "machine": platform.machine(), "dims": DIMS, "rope_theta": THETA, "rms_norm_eps": EPS, "seed": SEED,
        "lengths": [len(s) for s in seqs], "texts": {str(len(SEQ_LENS) + i): t for i, t in enumerate(TEXTS)}},
        open(os.path.join(OUT, "meta.json"), "w"), indent=2)
    print(f"wrote {OUT}: lengths {[len(s) for s in seqs]}")


def numpy_forward(w, ids):
    """Independent float64 forward from the maths (pre-RMSNorm, RoPE rotate_half, GQA, causal, SwiGLU)."""
    g = lambda n: w["model." + n].astype(np.float64)
    rms = lambda x, p: x / np.sqrt((x * x).mean(-1, keepdims=True) + EPS) * g(p + ".weight")
    lin = lambda x, p: x @ g(p + ".weight").T
    t, c = len(ids), DIMS["hidden"]
    h, kvh = DIMS["heads"], DIMS["kv_heads"]
    d = c // h
    inv = 1.0 / THETA ** (np.arange(0, d, 2) / d)
    ang = np.arange(t)[:, None] * inv[None, :]
    cos, sin = np.cos(np.concatenate([ang, ang], -1)), np.sin(np.concatenate([ang, ang], -1))
    rot = lambda x: x * cos + np.concatenate([-x[..., d // 2:], x[..., :d // 2]], -1) * sin
    silu = lambda v: v / (1 + np.exp(-v))
    x = g("embed_tokens.weight")[ids]
    out = [x]
    future = np.triu(np.ones((t, t), dtype=bool), 1)
    for i in range(DIMS["layers"]):
        p = f"layers.{i}."
        a = rms(x, p + "input_layernorm")
        q = rot(lin(a, p + "self_attn.q_proj").reshape(t, h, d).transpose(1, 0, 2))
        k = rot(lin(a, p + "self_attn.k_proj").reshape(t, kvh, d).transpose(1, 0, 2))
        v = lin(a, p + "self_attn.v_proj").reshape(t, kvh, d).transpose(1, 0, 2)
        k, v = np.repeat(k, h // kvh, 0), np.repeat(v, h // kvh, 0)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(d)
        s[:, future] = -np.inf
        pr = np.exp(s - s.max(-1, keepdims=True))
        pr /= pr.sum(-1, keepdims=True)
        x = x + lin((pr @ v).transpose(1, 0, 2).reshape(t, c), p + "self_attn.o_proj")
        a = rms(x, p + "post_attention_layernorm")
        x = x + lin(silu(lin(a, p + "mlp.gate_proj")) * lin(a, p + "mlp.up_proj"), p + "mlp.down_proj")
        out.append(x)
    out[-1] = rms(out[-1], "norm")
    return np.stack(out)


def self_check():
    w = load_file(os.path.join(OUT, "model.safetensors"))
    golden = load_file(os.path.join(OUT, "golden.safetensors"))
    worst = 0.0
    for s in range(sum(k.startswith("tokens.") for k in golden)):
        want = numpy_forward(w, golden[f"tokens.{s}"])
        got = golden[f"hidden.{s}"]
        err = np.abs(got - want).max() / max(1.0, np.abs(want).max())
        mean_err = np.abs(golden[f"mean.{s}"] - want.mean(1)).max() / max(1.0, np.abs(want).max())
        print(f"seq {s}: T={got.shape[1]} max |golden - float64| scaled {err:.2e}, mean pooling {mean_err:.2e}")
        worst = max(worst, err, mean_err)
    print(f"worst {worst:.2e}")
    sys.exit(0 if worst < 1e-5 else 1)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--self-check", action="store_true")
    (self_check if ap.parse_args().self_check else write)()
