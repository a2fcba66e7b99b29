#!/usr/bin/env python3
"""Golden fixture for the BERT-family encoder: a tiny random `BertModel` in the real Hugging Face
sentence-transformers layout + the `transformers` package's hidden states of every layer.

    pip install torch transformers numpy safetensors tokenizers
    python3 scripts/make_attention_goldens.py                # (re)writes tests/fixtures/tiny-bert/
    python3 scripts/make_attention_goldens.py --self-check   # re-reads it, compares with a float64 numpy forward

What it writes (see docs/goldens.md, "The encoder fixture"):
  config.json, model.safetensors        `BertConfig(...).save_pretrained` layout, random weights (numpy PCG64, seed
                                        7070) at scales that make attention far from uniform
  tokenizer.json                        a WordPiece tokenizer (BERT normaliser and pre-tokeniser, [CLS] x [SEP]
                                        template) over a small vocabulary, truncation/padding as the hub ships them
  sentence_bert_config.json, modules.json, 1_Pooling/config.json     max_seq_length 32, mean pooling
  golden.safetensors                    tokens.{s} I32 [T]; hidden.{s} F32 [L+1, T, C] (0 = embeddings output,
                                        i = output of layer i) from `BertModel(..., output_hidden_states=True)` run
                                        on each sequence alone (eager attention, fp32, one thread); mean.{s} F32
                                        [L+1, C], the attention-mask mean of the same sequence inside one
                                        right-padded batch of all sequences (the sentence-transformers pooling)
  meta.json                             dimensions, texts, versions
The script asserts that the padded batch gives every sequence the hidden states it has alone (within 1e-5).
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
from safetensors.numpy import load_file
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "tiny-bert")
DIMS = dict(hidden=64, heads=4, layers=3, intermediate=256, vocab=512, positions=64)
MAX_SEQ_LENGTH = 32
SEED = 7070
SEQ_LENS = [1, 6, 23, 40]
TEXTS = [
    "The cat sat on the mat.",
    "A man is playing a guitar!",
    # longer than max_seq_length word pieces: truncated to 32 tokens, [SEP] kept last
    "the quick brown fox jumps over the lazy dog and the dog sleeps while the cat watches "
    "the fox run into the woods near the old river bank and the old man is playing a guitar",
]
WORDS = ("the a an is on of and to in cat dog man sat mat playing guitar quick brown fox jumps over lazy sleeps "
         "while watches run into woods near old river bank").split()


def make_tokenizer():
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list(".,!?'")
    vocab = specials + WORDS + chars + ["##" + c for c in chars]
    vocab += [f"[unused{i}]" for i in range(DIMS["vocab"] - len(vocab))]
    tok = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    # as the hub's all-MiniLM-L6-v2 file: fixed padding and a truncation the loader must override
    tok.enable_truncation(max_length=128)
    tok.enable_padding(length=128, pad_id=0, pad_token="[PAD]")
    return tok


def make_config():
    d = DIMS
    return transformers.BertConfig(
        vocab_size=d["vocab"], hidden_size=d["hidden"], num_hidden_layers=d["layers"],
        num_attention_heads=d["heads"], intermediate_size=d["intermediate"], hidden_act="gelu",
        max_position_embeddings=d["positions"], type_vocab_size=2, layer_norm_eps=1e-12,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, attn_implementation="eager")


def make_weights(model):
    """Overwrites every parameter: embeddings N(0,1), matrices N(0, 1/in), biases N(0, 0.1), LN 1+N(0,0.1)."""
    rng = np.random.default_rng(SEED)
    state = {}
    for name, p in model.state_dict().items():
        shape = tuple(p.shape)
        if "embeddings" in name and name.endswith(".weight") and "LayerNorm" not in name:
            v = rng.normal(0, 1, shape)
        elif "LayerNorm.weight" in name:
            v = 1 + rng.normal(0, 0.1, shape)
        elif name.endswith(".weight"):
            v = rng.normal(0, 2 / np.sqrt(shape[1]), shape)
        elif name.endswith(".bias"):
            v = rng.normal(0, 0.1, shape)
        else:
            continue  # integer buffers
        state[name] = torch.tensor(v.astype(np.float32))
    model.load_state_dict(state, strict=False)


def sequences(tok):
    rng = np.random.default_rng(SEED + 1)
    seqs = [rng.integers(0, DIMS["vocab"], n).tolist() for n in SEQ_LENS]
    tok.no_padding()
    tok.enable_truncation(max_length=MAX_SEQ_LENGTH)
    seqs += [tok.encode(t).ids for t in TEXTS]
    assert len(seqs[-1]) == MAX_SEQ_LENGTH and seqs[-1][-1] == 3, seqs[-1]
    return seqs


def run(model, seqs):
    golden = {}
    with torch.no_grad():
        alone = [model(torch.tensor([s]), output_hidden_states=True).hidden_states for s in seqs]
        t_max = max(map(len, seqs))
        ids = torch.tensor([s + [0] * (t_max - len(s)) for s in seqs])
        mask = torch.tensor([[1] * len(s) + [0] * (t_max - len(s)) for s in seqs])
        batch = model(ids, attention_mask=mask, output_hidden_states=True).hidden_states
    for i, s in enumerate(seqs):
        n = len(s)
        hidden = torch.stack([h[0] for h in alone[i]])  # [L+1, T, C]
        padded = torch.stack([h[i, :n] for h in batch])
        assert torch.allclose(hidden, padded, atol=1e-5), (i, (hidden - padded).abs().max())
        m = mask[i].unsqueeze(-1).float()
        mean = torch.stack([(h[i] * m).sum(0) / m.sum() for h in batch])  # sentence-transformers' mean
        golden[f"tokens.{i}"] = np.array(s, dtype=np.int32)
        golden[f"hidden.{i}"] = hidden.numpy().astype(np.float32)
        golden[f"mean.{i}"] = mean.numpy().astype(np.float32)
    return golden


def write():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(os.path.join(OUT, "1_Pooling"), exist_ok=True)
    model = transformers.BertModel(make_config(), add_pooling_layer=True).eval()
    assert model.config._attn_implementation == "eager", model.config._attn_implementation
    make_weights(model)
    model.save_pretrained(OUT, safe_serialization=True)
    tok = make_tokenizer()
    tok.save(os.path.join(OUT, "tokenizer.json"))
    dump = lambda name, obj: json.dump(obj, open(os.path.join(OUT, name), "w"), indent=2)
    dump("sentence_bert_config.json", {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False})
    dump("modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])
    dump("1_Pooling/config.json", {"word_embedding_dimension": DIMS["hidden"], "pooling_mode_cls_token": False,
                                   "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
                                   "pooling_mode_mean_sqrt_len_tokens": False})
    seqs = sequences(tok)
    from safetensors.numpy import save_file
    save_file(run(model, seqs), os.path.join(OUT, "golden.safetensors"))
    dump("meta.json", {
        "generator": "scripts/make_attention_goldens.py", "date": datetime.date.today().isoformat(),
        "torch": torch.__version__, "transformers": transformers.__version__, "python": sys.version.split()[0],
        "machine": platform.machine(), "dims": DIMS, "seed": SEED, "max_seq_length": MAX_SEQ_LENGTH,
        "lengths": [len(s) for s in seqs], "texts": {str(len(SEQ_LENS) + i): t for i, t in enumerate(TEXTS)}})
    print(f"wrote {OUT}: lengths {[len(s) for s in seqs]}")


def numpy_forward(w, ids):
    """Independent float64 forward from the maths (post-LN BERT), on the raw file's tensors."""
    from math import erf, sqrt
    g = lambda n: w[n].astype(np.float64)
    ln = lambda x, p: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-12) * g(
        p + ".weight") + g(p + ".bias")
    lin = lambda x, p: x @ g(p + ".weight").T + g(p + ".bias")
    t = len(ids)
    x = ln(g("embeddings.word_embeddings.weight")[ids] + g("embeddings.position_embeddings.weight")[:t]
           + g("embeddings.token_type_embeddings.weight")[0], "embeddings.LayerNorm")
    out = [x]
    h, d = DIMS["heads"], DIMS["hidden"] // DIMS["heads"]
    gelu = np.vectorize(lambda v: 0.5 * v * (1 + erf(v / sqrt(2))))
    for i in range(DIMS["layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (lin(x, p + f"attention.self.{n}").reshape(t, h, d).transpose(1, 0, 2)
                   for n in ("query", "key", "value"))
        s = q @ k.transpose(0, 2, 1) / np.sqrt(d)
        a = np.exp(s - s.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        ctx = (a @ v).transpose(1, 0, 2).reshape(t, h * d)
        x = ln(x + lin(ctx, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        x = ln(x + lin(gelu(lin(x, p + "intermediate.dense")), p + "output.dense"), p + "output.LayerNorm")
        out.append(x)
    return np.stack(out)


def self_check():
    w = load_file(os.path.join(OUT, "model.safetensors"))
    golden = load_file(os.path.join(OUT, "golden.safetensors"))
    worst = 0.0
    for s in range(sum(k.startswith("tokens.") for k in golden)):
        want = numpy_forward(w, golden[f"tokens.{s}"])
        got = golden[f"hidden.{s}"]
        err = np.abs(got - want).max() / max(1.0, np.abs(want).max())
        mean_err = np.abs(golden[f"mean.{s}"] - want.mean(1)).max()
        print(f"seq {s}: T={got.shape[1]} max |golden - float64| scaled {err:.2e}, mean pooling {mean_err:.2e}")
        worst = max(worst, err, mean_err)
    print(f"worst {worst:.2e}")
    sys.exit(0 if worst < 1e-5 else 1)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--self-check", action="store_true")
    (self_check if ap.parse_args().self_check else write)()
