#!/usr/bin/env python3
"""Golden fixture for the causal decoder: a tiny random `GPT2Model` in the real Hugging Face layout (as the hub
ships openai-community/gpt2) + the `transformers` package's hidden states of every layer.

    pip install torch transformers numpy safetensors tokenizers
    python3 scripts/make_decoder_goldens.py                # (re)writes tests/fixtures/tiny-gpt2/
    python3 scripts/make_decoder_goldens.py --self-check   # re-reads it, compares with a float64 numpy forward

What it writes (see docs/goldens.md, "The decoder fixture"):
  config.json, model.safetensors        `GPT2Config(...)` + `GPT2Model.save_pretrained`, random weights (numpy
                                        PCG64, seed 8080) at scales that make attention far from uniform; Conv1D
                                        weights stored [in][out], c_attn fused [C][3C], as in the real file
  tokenizer.json                        a byte-level BPE (GPT-2's pre-tokeniser, decoder and post-processor, no
                                        special tokens added) trained on a few sentences, vocabulary 512
  golden.safetensors                    tokens.{s} I32 [T]; hidden.{s} F32 [L+1, T, C] (0 = wte + wpe, i < L = the
                                        output of block i, L = ln_f(output of block L), as `output_hidden_states`
                                        gives them) from the sequence alone (eager attention, fp32, one thread);
                                        mean.{s} F32 [L+1, C], the attention-mask mean of the same sequence inside
                                        one right-padded batch of all sequences
  meta.json                             dimensions, texts, versions
The batch/alone check and the golden layout are make_attention_goldens.py's (`run`).
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
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_attention_goldens import ROOT, run  # noqa: E402

OUT = os.path.join(ROOT, "tests", "fixtures", "tiny-gpt2")
DIMS = dict(hidden=64, heads=4, layers=3, intermediate=256, vocab=512, positions=64)
SEED = 8080
SEQ_LENS = [1, 7, 29, 64]
TEXTS = [
    "The cat sat on the mat.",
    "A man is playing a guitar!",
    "the quick brown fox jumps over the lazy dog and the dog sleeps while the cat watches",
]
EOS = "<|endoftext|>"


def make_tokenizer():
    """Byte-level BPE with GPT-2's pieces (ByteLevel pre-tokeniser without prefix space, ByteLevel decoder and
    post-processor), trained to DIMS['vocab'] entries; `<|endoftext|>` is the last id, as in GPT-2."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=DIMS["vocab"] - 1, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    rng = np.random.default_rng(SEED + 2)  # plus random letter words, enough pairs for every merge
    letters = np.array(list("etaoinshrdlucmfwypvbgkjqxz"))
    corpus = TEXTS + [" ".join("".join(rng.choice(letters, rng.integers(2, 8))) for _ in range(12))
                      for _ in range(200)]
    tok.train_from_iterator(corpus, trainer)
    tok.add_special_tokens([EOS])
    assert tok.get_vocab_size() == DIMS["vocab"], tok.get_vocab_size()
    return tok


def make_config():
    d = DIMS
    return transformers.GPT2Config(
        vocab_size=d["vocab"], n_positions=d["positions"], n_embd=d["hidden"], n_layer=d["layers"],
        n_head=d["heads"], n_inner=None, activation_function="gelu_new", layer_norm_epsilon=1e-5,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=d["vocab"] - 1, eos_token_id=d["vocab"] - 1,
        attn_implementation="eager")


def make_weights(model):
    """Overwrites every parameter: wte, wpe N(0,1), Conv1D matrices [in][out] N(0, 2/√in), biases N(0, 0.1),
    LayerNorm weights 1+N(0,0.1)."""
    rng = np.random.default_rng(SEED)
    state = {}
    for name, p in model.state_dict().items():
        shape = tuple(p.shape)
        if name in ("wte.weight", "wpe.weight"):
            v = rng.normal(0, 1, shape)
        elif ".ln_" in name and name.endswith(".weight") or name == "ln_f.weight":
            v = 1 + rng.normal(0, 0.1, shape)
        elif name.endswith(".weight"):
            v = rng.normal(0, 2 / np.sqrt(shape[0]), shape)
        elif name.endswith(".bias") and p.dtype.is_floating_point and p.dim() == 1:
            v = rng.normal(0, 0.1, shape)
        else:
            continue  # buffers
        state[name] = torch.tensor(v.astype(np.float32))
    missing = [n for n in model.state_dict() if n not in state]
    assert not missing, missing
    model.load_state_dict(state)


def sequences(tok):
    rng = np.random.default_rng(SEED + 1)
    seqs = [rng.integers(0, DIMS["vocab"], n).tolist() for n in SEQ_LENS]
    seqs += [tok.encode(t).ids for t in TEXTS]
    return seqs


def write():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    model = transformers.GPT2Model(make_config()).eval()
    assert model.config._attn_implementation == "eager", model.config._attn_implementation
    make_weights(model)
    model.save_pretrained(OUT, safe_serialization=True)
    tok = make_tokenizer()
    tok.save(os.path.join(OUT, "tokenizer.json"))
    seqs = sequences(tok)
    save_file(run(model, seqs), os.path.join(OUT, "golden.safetensors"))
    json.dump({
        "generator": "scripts/make_decoder_goldens.py", "date": datetime.date.today().isoformat(),
        "torch": torch.__version__, "transformers": transformers.__version__, "python": sys.version.split()[0],
        "machine": platform.machine(), "dims": DIMS, "seed": SEED,
        "lengths": [len(s) for s in seqs], "texts": {str(len(SEQ_LENS) + i): t for i, t in enumerate(TEXTS)}},
        open(os.path.join(OUT, "meta.json"), "w"), indent=2)
    print(f"wrote {OUT}: lengths {[len(s) for s in seqs]}")


def numpy_forward(w, ids):
    """Independent float64 forward from the maths (pre-LN GPT-2, causal, gelu_new), on the raw file's tensors."""
    g = lambda n: w[n].astype(np.float64)
    ln = lambda x, p: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5) * g(
        p + ".weight") + g(p + ".bias")
    conv = lambda x, p: x @ g(p + ".weight") + g(p + ".bias")  # Conv1D: weight [in][out]
    gelu_new = lambda v: 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v ** 3)))
    t, c = len(ids), DIMS["hidden"]
    h, d = DIMS["heads"], c // DIMS["heads"]
    x = g("wte.weight")[ids] + g("wpe.weight")[:t]
    out = [x]
    future = np.triu(np.ones((t, t), dtype=bool), 1)
    for i in range(DIMS["layers"]):
        p = f"h.{i}."
        qkv = conv(ln(x, p + "ln_1"), p + "attn.c_attn")
        q, k, v = (qkv[:, j * c:(j + 1) * c].reshape(t, h, d).transpose(1, 0, 2) for j in range(3))
        s = q @ k.transpose(0, 2, 1) / np.sqrt(d)
        s[:, future] = -np.inf
        a = np.exp(s - s.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        x = x + conv((a @ v).transpose(1, 0, 2).reshape(t, c), p + "attn.c_proj")
        x = x + conv(gelu_new(conv(ln(x, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
        out.append(x)
    out[-1] = ln(out[-1], "ln_f")
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
