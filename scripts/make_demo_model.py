#!/usr/bin/env python3
"""Builds the bundled demo model: a tiny RWKV-6 checkpoint whose weights are CONSTRUCTED
(written down by hand below), not trained and not random, plus a trimmed GloVe table for
the browser's reference line.

    python3 scripts/make_demo_model.py \
        --glove /path/to/glove.6B.50d.txt.gz \
        --vocab src/tokenizer/rwkv_vocab_v20230424.txt \
        --out assets/demo-model

Outputs (all deterministic; rerunning gives identical bytes):
    rwkv6-demo.safetensors   f16, official tensor names, C=128, H=2, N=64, L=4, V=65536
    glove-6B-50d-20k.bin     the 20,000 most frequent GloVe 6B 50d words, 8-bit per row
    README.md                how every weight is made, and the half-life table

The construction (C = 128 channels; head 0 = channels 0..63, head 1 = 64..127):

* Content subspace. GloVe vectors are 50-d. Channel 127 is reserved ("bias channel"),
  channels 63..126 stay zero in the residual stream. A 50-d vector g is written into
  channels 0..62 as  P·g  with P the 63×50 DCT-II basis (columns k = 1..50:
  P[n,k] = sqrt(2/63)·cos(π·k·(n+½)/63)). P has orthonormal columns, so cosines between
  embeddings equal cosines between GloVe vectors, and every column sums to zero, so
  LayerNorm (mean subtraction) only rescales: LN(x) = sqrt(128)·x/|x| on content.
* emb.weight[token] = P·glove(word) for tokens that are a GloVe word (after dropping one
  leading space and lower-casing: " Cat" → "cat"); every other token's row is zero.
  ln0 = identity (weight 1, bias 0).
* ln1/ln2: weight 1, bias 0, except channel 127: weight 0, bias 1, so LN's output carries
  a constant 1 in channel 127; projections read it as a bias.
* Time-mix (per layer l, head h): token shift off (all time_maa_* and LoRAs 0).
  k = 1 in every key channel (key.weight[:,127] = 1). Value = content: head 0's value
  channels 0..62 and head 1's value channels 64..126 both copy content channels 0..62.
  Decay: constant per key channel i (decay LoRA = 0): half-life h_i = 2^(i/8) tokens
  (1 … 234), time_decay = ln(ln 2 / h_i) so w_i = exp(-exp(time_decay)) = 2^(-1/h_i).
  Bonus u_i = 1/w_i, so the current token weighs 1 and the token s steps back w_i^s:
  key row i of the state holds an exponential moving sum of the values with half-life h_i.
  Receptance reads ONE key channel per head (receptance.weight[i_read,127] = 1), so head h
  of layer l outputs the moving average with half-life READ_HALF_LIVES[l][h].
  GroupNorm (ln_x = 1, 0) removes the sum's scale: y = 8·unit(EMA). Gate = silu(γ)=1.
  output.weight adds both heads' averages back into content channels 0..62.
* Channel-mix: exactly "x ← x + LN2(x)" on content: pairs of hidden units
  relu(a ± z_j)² with a = 12 > |z| give (relu(a+z)² − relu(a−z)²)/(4a) = z exactly;
  receptance sigmoid(0) = ½ and value.weight = ±2/(4a). It changes the norm of the
  residual, never its direction (so it leaves cosines unchanged).
"""

import argparse
import ast
import gzip
import json
import math
import os
import struct

import numpy as np

C, H, N, L, V = 128, 2, 64, 4, 65536
F = 128  # channel-mix width: two hidden units per content channel
R_MIX, D_DECAY = 32, 64  # LoRA ranks, as in the released models (all zeros here)
CONTENT = 63  # content channels 0..62
BIAS_CH = 127  # LN1/LN2 output is constantly 1 here
GLOVE_DIM = 50
KEY_HALF_LIVES = [2.0 ** (i / 8) for i in range(N)]  # per key channel, every head, every layer
READ_CHANNELS = [(0, 8), (16, 24), (32, 40), (48, 56)]  # key channel read by (head 0, head 1) in layer l
READ_HALF_LIVES = [(KEY_HALF_LIVES[a], KEY_HALF_LIVES[b]) for a, b in READ_CHANNELS]
FFN_OFFSET = 12.0  # a in relu(a ± z)²: must exceed |LN2(x)| = sqrt(128) ≈ 11.3
GATE_PRE = None  # γ with silu(γ) = 1, computed below
WEB_GLOVE_WORDS = 20000


def silu_inverse_of_one():
    """Newton on silu(x) - 1 = x·sigmoid(x) - 1."""
    x = 1.0
    for _ in range(50):
        s = 1 / (1 + math.exp(-x))
        f = x * s - 1
        df = s + x * s * (1 - s)
        x -= f / df
    return x


def dct_basis():
    """P: 63×50, orthonormal columns orthogonal to the all-ones vector."""
    n = np.arange(CONTENT)[:, None] + 0.5
    k = np.arange(1, GLOVE_DIM + 1)[None, :]
    return np.sqrt(2.0 / CONTENT) * np.cos(np.pi * k * n / CONTENT)


def read_vocab(path):
    """World vocab: `id repr len` per line → {id: bytes}."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            idx = int(line[: line.index(" ")])
            lit = ast.literal_eval(line[line.index(" ") : line.rindex(" ")])
            out[idx] = lit.encode("utf-8") if isinstance(lit, str) else lit
    return out


def read_glove(path):
    words, vecs = [], []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ")
            words.append(parts[0])
            vecs.append(np.array(parts[1:], dtype=np.float32))
    return words, np.stack(vecs)


def token_word(raw):
    """The GloVe word a token stands for, or None."""
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if s.startswith(" "):
        s = s[1:]
    if not s or any(ch.isspace() or ord(ch) < 32 for ch in s):
        return None
    return s.lower()


def embedding(vocab, glove_index, glove_vecs):
    P = dct_basis()
    emb = np.zeros((V, C), dtype=np.float32)
    mapped = 0
    for idx, raw in vocab.items():
        word = token_word(raw)
        if word is not None and word in glove_index:
            emb[idx, :CONTENT] = P @ glove_vecs[glove_index[word]]
            mapped += 1
    return emb, mapped


def block(l):
    z = lambda *shape: np.zeros(shape, dtype=np.float32)
    t = {}
    ln = np.ones(C, dtype=np.float32)
    ln[BIAS_CH] = 0.0
    bias = z(C)
    bias[BIAS_CH] = 1.0
    for name in ("ln1", "ln2"):
        t[f"{name}.weight"], t[f"{name}.bias"] = ln.copy(), bias.copy()
    # Time-mix: no token shift, no data-dependent mixing or decay.
    for m in "xwkvrg":
        t[f"att.time_maa_{m}"] = z(1, 1, C)
    t["att.time_maa_w1"] = z(C, 5 * R_MIX)
    t["att.time_maa_w2"] = z(5, R_MIX, C)
    t["att.time_decay_w1"] = z(C, D_DECAY)
    t["att.time_decay_w2"] = z(D_DECAY, C)
    h = np.array(KEY_HALF_LIVES * H, dtype=np.float64)  # [C]: channel c = head·64 + i
    t["att.time_decay"] = np.log(np.log(2.0) / h).reshape(1, 1, C).astype(np.float32)
    t["att.time_faaaa"] = (2.0 ** (1.0 / h)).reshape(H, N).astype(np.float32)  # u = 1/w
    key = z(C, C)
    key[:, BIAS_CH] = 1.0  # k = 1 everywhere
    receptance = z(C, C)
    for head, i in enumerate(READ_CHANNELS[l]):
        receptance[head * N + i, BIAS_CH] = 1.0  # read one key channel per head
    value = z(C, C)
    output = z(C, C)
    for j in range(CONTENT):
        for head in range(H):
            value[head * N + j, j] = 1.0  # each head's values = the content channels
            output[j, head * N + j] = 1.0  # both heads' averages back into content
    gate = z(C, C)
    gate[:, BIAS_CH] = GATE_PRE  # g = silu(γ) = 1
    t["att.receptance.weight"], t["att.key.weight"] = receptance, key
    t["att.value.weight"], t["att.gate.weight"], t["att.output.weight"] = value, gate, output
    t["att.ln_x.weight"], t["att.ln_x.bias"] = np.ones(C, dtype=np.float32), z(C)
    # Channel-mix: ffn(x) = LN2(x) on content, exactly.
    t["ffn.time_maa_k"], t["ffn.time_maa_r"] = z(1, 1, C), z(1, 1, C)
    fk, fv = z(F, C), z(C, F)
    for j in range(F // 2):
        fk[2 * j, j], fk[2 * j, BIAS_CH] = 1.0, FFN_OFFSET
        fk[2 * j + 1, j], fk[2 * j + 1, BIAS_CH] = -1.0, FFN_OFFSET
        if j < CONTENT:
            fv[j, 2 * j], fv[j, 2 * j + 1] = 2 / (4 * FFN_OFFSET), -2 / (4 * FFN_OFFSET)
    t["ffn.key.weight"], t["ffn.value.weight"] = fk, fv
    t["ffn.receptance.weight"] = z(C, C)  # sigmoid(0) = 1/2
    return {f"blocks.{l}.{k}": v for k, v in t.items()}


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset, blobs = 0, []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name].astype("<f2"))
        header[name] = {"dtype": "F16", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        blobs.append(a.tobytes())
        offset += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_web_glove(path, words, vecs):
    """`RLG1`, u32 n, u32 dim, u32 bytes of words; words '\\n'-joined; f32 scale[n];
    i8 values[n][dim] (value = scale·q, scale = max|v|/127)."""
    words, vecs = words[:WEB_GLOVE_WORDS], vecs[:WEB_GLOVE_WORDS]
    scale = np.abs(vecs).max(axis=1) / 127.0
    q = np.round(vecs / scale[:, None]).astype(np.int8)
    text = "\n".join(words).encode("utf-8")
    with open(path, "wb") as f:
        f.write(b"RLG1" + struct.pack("<III", len(words), vecs.shape[1], len(text)))
        f.write(text)
        f.write(scale.astype("<f4").tobytes())
        f.write(q.tobytes())


def effective_half_life(time_decay_f16):
    w = np.exp(-np.exp(np.float64(time_decay_f16)))
    return -np.log(2.0) / np.log(w)


def readme(path, tensors, mapped, n_glove, size_bytes):
    td = tensors["blocks.0.att.time_decay"].astype(np.float16).reshape(-1)
    rows = []
    for i in range(N):
        eff = effective_half_life(td[i])
        rows.append(f"| {i} | {KEY_HALF_LIVES[i]:.4f} | {float(td[i]):.6f} | {eff:.4f} |")
    reads = "\n".join(
        f"| {l + 1} | {a} → {KEY_HALF_LIVES[a]:g} | {b} → {KEY_HALF_LIVES[b]:g} |"
        for l, (a, b) in enumerate(READ_CHANNELS)
    )
    template = open(os.path.join(os.path.dirname(__file__), "demo_model_readme.md.in")).read()
    text = template.format(
        mapped=mapped, n_glove=n_glove, web_words=WEB_GLOVE_WORDS, gate=GATE_PRE, offset=FFN_OFFSET,
        reads=reads, half_lives="\n".join(rows), size_mb=size_bytes / 1e6,
    )
    open(path, "w").write(text)


def main():
    global GATE_PRE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--glove", required=True)
    ap.add_argument("--vocab", default="src/tokenizer/rwkv_vocab_v20230424.txt")
    ap.add_argument("--out", default="assets/demo-model")
    args = ap.parse_args()
    GATE_PRE = silu_inverse_of_one()
    words, vecs = read_glove(args.glove)
    index = {w: i for i, w in enumerate(words)}
    emb, mapped = embedding(read_vocab(args.vocab), index, vecs)
    tensors = {"emb.weight": emb}
    tensors["blocks.0.ln0.weight"] = np.ones(C, dtype=np.float32)
    tensors["blocks.0.ln0.bias"] = np.zeros(C, dtype=np.float32)
    for l in range(L):
        tensors.update(block(l))
    tensors["ln_out.weight"] = np.ones(C, dtype=np.float32)
    tensors["ln_out.bias"] = np.zeros(C, dtype=np.float32)
    meta = {
        "rwkv_lens_model": "constructed demo model, not trained",
        "key_half_lives": json.dumps([round(h, 6) for h in KEY_HALF_LIVES]),
        "read_channels": json.dumps(READ_CHANNELS),
        "generator": "scripts/make_demo_model.py",
        "rwkv_lens_description": (
            "Layer 0 holds each token's GloVe 6B 50d vector (DCT-projected; 0 for non-words). "
            "Block l adds exponential moving averages of the text so far, with half-lives "
            + ", ".join(f"{a:g} & {b:g}" for a, b in READ_HALF_LIVES)
            + " tokens for blocks 1.." + str(L)
            + "; the channel-mix only rescales. Deeper layers remember longer, so last-token"
            " pooling mixes in more and more of the sentence. Not a language model."
        ),
    }
    os.makedirs(args.out, exist_ok=True)
    write_safetensors(os.path.join(args.out, "rwkv6-demo.safetensors"), tensors, meta)
    write_web_glove(os.path.join(args.out, "glove-6B-50d-20k.bin"), words, vecs)
    size = os.path.getsize(os.path.join(args.out, "rwkv6-demo.safetensors"))
    readme(os.path.join(args.out, "README.md"), tensors, mapped, len(words), size)
    print(f"{mapped} of {V} token rows set from GloVe; wrote {args.out}")


if __name__ == "__main__":
    main()
