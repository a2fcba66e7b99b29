#!/usr/bin/env python3
"""Golden fixtures for rwkv-lens: tiny random RWKV-6 (x060) checkpoints + the official package's outputs.

    pip install torch rwkv==0.8.32 numpy safetensors
    python3 scripts/make_goldens.py                # (re)writes tests/fixtures/tiny-v6{,-f16,-long}/
    python3 scripts/make_goldens.py --self-check   # re-reads the committed goldens, compares them
                                                   # with an independent float64 numpy forward

What it does, per fixture (see docs/goldens.md for every tensor and layout):
  1. draws random weights in BlinkDL's official `.pth` layout (names and shapes exactly as `rwkv/model.py` expects)
     with realistic ranges (log-decay -exp(time_decay + lora) from about -25 to about -0.001);
  2. writes them as `model.safetensors` (and, for tiny-v6, a bf16 `model.pth`);
  3. loads the f32 values with the official package `rwkv.model.RWKV(path, 'cpu fp32')` (RWKV_JIT_ON=0,
     RWKV_CUDA_ON=0) and runs a harness that mirrors `RWKV.forward` exactly, recording the residual stream
     after every block; it ASSERTS that the harness logits and final state equal `model.forward(tokens, None,
     full_output=True)` bit for bit;
  4. writes `golden.safetensors` (every position; for tiny-v6-long, whose sequences run to 5000 tokens, a summary:
     per layer the mean over positions and the rows at every 97th and the last 8 positions) and `meta.json`;
  5. for tiny-v6, also runs the package on the bf16 `model.pth` as it is -> `golden-bf16.safetensors` (the loader
     folds ln0 into the embedding in bf16 there; docs/goldens.md, "bf16 checkpoints").
Weights are bit-identical on every machine (numpy PCG64 with fixed seeds); golden activations come from torch's
CPU kernels and may differ in the last ulp on a CPU with other SIMD paths.
"""
import argparse
import datetime
import json
import os
import platform
import sys
import tempfile

# The package reads these at import time.
os.environ["RWKV_JIT_ON"] = "0"
os.environ["RWKV_CUDA_ON"] = "0"

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402

from rwkv.model import RWKV  # noqa: E402

RWKV_VERSION = "0.8.32"
DIMS = dict(n_embd=128, n_head=2, head_size=64, n_layer=3, ffn_dim=448, mix_lora=32, decay_lora=64, vocab=512)
SEQ_LENS = [1, 7, 23, 40]
# Long inputs (issue 17): one 64-wide head, 2 layers, a small vocabulary, so the fixture stays under 1 MB.
LONG_DIMS = dict(n_embd=64, n_head=1, head_size=64, n_layer=2, ffn_dim=224, mix_lora=16, decay_lora=32, vocab=256)
LONG_SEQ_LENS = [1025, 4097, 5000]
SAMPLE_EVERY, SAMPLE_LAST = 97, 8  # long goldens keep positions 0, 97, 194, ... and the last 8
FIXTURES = {
    # name: (weight seed, token seed, storage dtype of model.safetensors, write a bf16 model.pth?, dims,
    #        sequence lengths, golden form: "full" = every position, "summary" = mean + sampled positions)
    "tiny-v6": (6060, 6061, "f32", True, DIMS, SEQ_LENS, "full"),
    "tiny-v6-f16": (6160, 6161, "f16", False, DIMS, SEQ_LENS, "full"),
    "tiny-v6-long": (6260, 6261, "f32", False, LONG_DIMS, LONG_SEQ_LENS, "summary"),
}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ----------------------------------------------------------------------------------------------------------------
# 1. Random weights, official names and shapes
# ----------------------------------------------------------------------------------------------------------------

def make_weights(seed, d):
    """{official name: float32 array} for dims `d`. Shapes follow BlinkDL's x060 checkpoints (rwkv-notes.md §1.3)."""
    C, H, N, F_, R, D, V = (d["n_embd"], d["n_head"], d["head_size"], d["ffn_dim"],
                            d["mix_lora"], d["decay_lora"], d["vocab"])
    rng = np.random.default_rng(seed)
    normal = lambda shape, std: rng.normal(0.0, std, shape)  # noqa: E731
    uniform = lambda shape, lo, hi: rng.uniform(lo, hi, shape)  # noqa: E731
    norm_w = lambda: 1.0 + normal((C,), 0.1)  # noqa: E731  LayerNorm / GroupNorm weight ~ 1
    norm_b = lambda: normal((C,), 0.05)  # noqa: E731        small bias
    w = {"emb.weight": normal((V, C), 1.0),
         "blocks.0.ln0.weight": norm_w(), "blocks.0.ln0.bias": norm_b()}
    for i in range(d["n_layer"]):
        p = f"blocks.{i}."
        w[p + "ln1.weight"], w[p + "ln1.bias"] = norm_w(), norm_b()
        w[p + "ln2.weight"], w[p + "ln2.bias"] = norm_w(), norm_b()
        a = p + "att."
        for m in "xwkvrg":
            w[a + f"time_maa_{m}"] = uniform((1, 1, C), 0.0, 1.0)
        w[a + "time_maa_w1"] = normal((C, 5 * R), 0.1)        # (C, 5R), used as x @ w1
        w[a + "time_maa_w2"] = normal((5, R, C), 0.1)         # slices in order w, k, v, r, g
        # log-decay -exp(td + lora): about -25 at worst (exp stays a normal f32), about -0.001 at best
        w[a + "time_decay"] = uniform((1, 1, C), -6.0, 2.5)
        w[a + "time_decay_w1"] = normal((C, D), 0.1)
        w[a + "time_decay_w2"] = normal((D, C), 0.05)
        w[a + "time_faaaa"] = uniform((H, N), -1.0, 1.0)      # bonus u, raw
        for m in ["receptance", "key", "value", "gate", "output"]:
            w[a + f"{m}.weight"] = normal((C, C), C ** -0.5)  # nn.Linear layout (out, in)
        w[a + "ln_x.weight"], w[a + "ln_x.bias"] = norm_w(), norm_b()
        f = p + "ffn."
        w[f + "time_maa_k"] = uniform((1, 1, C), 0.0, 1.0)
        w[f + "time_maa_r"] = uniform((1, 1, C), 0.0, 1.0)
        w[f + "key.weight"] = normal((F_, C), C ** -0.5)
        w[f + "receptance.weight"] = normal((C, C), C ** -0.5)
        w[f + "value.weight"] = normal((C, F_), F_ ** -0.5)
    w["ln_out.weight"], w["ln_out.bias"] = norm_w(), norm_b()
    w["head.weight"] = normal((V, C), C ** -0.5)
    return {k: v.astype(np.float32) for k, v in w.items()}


def make_sequences(seed, lens, vocab):
    """Token id lists of lengths `lens` (at least 3 of them, the third longer than 11); one starts with token 0
    (BOS) and one holds 0 and V-1 inside."""
    rng = np.random.default_rng(seed)
    seqs = [rng.integers(0, vocab, n).tolist() for n in lens]
    seqs[2][11] = 0
    seqs[2][5] = vocab - 1
    seqs[-1][0] = 0
    return seqs


def write_checkpoints(out_dir, weights, dtype, with_pth):
    """model.safetensors in `dtype`; optional model.pth = torch.save({name: bf16 tensor}) of the same weights."""
    np_dtype = {"f32": np.float32, "f16": np.float16}[dtype]
    save_file({k: np.ascontiguousarray(v.astype(np_dtype)) for k, v in weights.items()},
              os.path.join(out_dir, "model.safetensors"))
    if with_pth:
        pth = {k: torch.from_numpy(v.copy()).to(torch.bfloat16).contiguous() for k, v in weights.items()}
        for k, v in pth.items():  # document (and guarantee) the rounding: bf16 = round-to-nearest-even of f32
            assert torch.equal(v.view(torch.int16), bf16_rne_bits(weights[k]).view(torch.int16)), k
        torch.save(pth, os.path.join(out_dir, "model.pth"))


def bf16_rne_bits(a):
    """f32 -> bf16 by round-to-nearest-even on the bit pattern (what `half::bf16::from_f32` does; no NaNs here)."""
    u = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return torch.from_numpy(rounded.astype(np.uint16).view(np.int16).copy())


# ----------------------------------------------------------------------------------------------------------------
# 2. The official package, mirrored to expose every layer
# ----------------------------------------------------------------------------------------------------------------

def load_official(weights_f32, tmp_dir):
    """rwkv.model.RWKV on an f32 `.pth` of `weights_f32` (the package only reads .pth)."""
    path = os.path.join(tmp_dir, "model.pth")
    torch.save({k: torch.from_numpy(v.copy()) for k, v in weights_f32.items()}, path)
    return load_pth(path)


def load_pth(path):
    """rwkv.model.RWKV(path, 'cpu fp32') as it is. For a bf16 `.pth` the loader folds ln0 into `emb.weight`
    in bf16 (`F.layer_norm` on the bf16 table, rwkv/model.py, `RWKV.__init__`) before casting it to fp32."""
    model = RWKV(model=path, strategy="cpu fp32")
    assert model.version == 6.0 and model.RESCALE_LAYER == 0, (model.version, model.RESCALE_LAYER)
    return model


def official_layers(model, tokens):
    """Mirror of `RWKV.forward` (rwkv 0.8.32, v6, cpu fp32, no JIT/CUDA) that records x after every block.

    Returns (hidden [L+1][T,C], logits [T,V], state list [att_xx, wkv (H,N,N) [key][value], ffn_xx] * L)."""
    w, args = model.w, model.args
    L, C, H = args.n_layer, args.n_embd, args.n_head
    N = C // H
    state = []
    for _ in range(L):
        state += [torch.zeros(C), torch.zeros((H, N, N)), torch.zeros(C)]
    seq_mode = len(tokens) > 1  # one token: the package takes its "one" code path
    x = w["emb.weight"][tokens if seq_mode else tokens[0]]  # ln0 already folded into emb by the loader
    ATT = model.att_seq_v6_0 if seq_mode else model.att_one_v6_0
    FFN = model.ffn_seq_v6 if seq_mode else model.ffn_one_v6
    hidden = [x.clone()]
    for i in range(L):
        b, a, f = f"blocks.{i}.", f"blocks.{i}.att.", f"blocks.{i}.ffn."
        x, state[3 * i], state[3 * i + 1] = ATT(
            x, state[3 * i], state[3 * i + 1], w[b + "ln1.weight"], w[b + "ln1.bias"],
            w[a + "ln_x.weight"], w[a + "ln_x.bias"],
            *[w[a + f"time_maa_{m}"] for m in "xwkvrg"],
            w[a + "time_maa_w1"], w[a + "time_maa_w2"], w[a + "time_decay_w1"], w[a + "time_decay_w2"],
            w[a + "time_decay"], w[a + "time_first"],
            *[w[a + f"{m}.weight"] for m in ["key", "value", "receptance", "gate", "output"]],
            *[x] * 20)  # int8 scale placeholders (mx, rx, my, ry for k, v, r, g, o), unused in fp32
        x, state[3 * i + 2] = FFN(
            x, state[3 * i + 2], w[b + "ln2.weight"], w[b + "ln2.bias"],
            w[f + "time_maa_k"], w[f + "time_maa_r"],
            w[f + "key.weight"], w[f + "value.weight"], w[f + "receptance.weight"],
            *[x] * 12)
        hidden.append(x.clone())  # RESCALE_LAYER == 0: true scale
    out = F.layer_norm(x, (C,), weight=w["ln_out.weight"], bias=w["ln_out.bias"])
    logits = (out @ w["head.weight"]).float()
    return hidden, logits, state


def golden_for_sequence(model, tokens):
    """Golden tensors of one sequence, after asserting the harness equals model.forward bit for bit."""
    hidden, logits, state = official_layers(model, tokens)
    ref_logits, ref_state = model.forward(list(tokens), None, full_output=True)
    assert torch.equal(logits, ref_logits), f"harness logits differ: {(logits - ref_logits).abs().max()}"
    assert all(torch.equal(a, b) for a, b in zip(state, ref_state)), "harness state differs from forward"
    T, L = len(tokens), model.args.n_layer
    C = model.args.n_embd
    return {
        "tokens": np.asarray(tokens, dtype=np.int32),
        "hidden": torch.stack([h.reshape(T, C) for h in hidden]).numpy(),
        "logits": logits.reshape(T, -1).numpy(),
        "att_shift": torch.stack([state[3 * i] for i in range(L)]).numpy(),
        "wkv": torch.stack([state[3 * i + 1] for i in range(L)]).numpy(),
        "ffn_shift": torch.stack([state[3 * i + 2] for i in range(L)]).numpy(),
    }


STATE_PARTS = ["att_shift", "wkv", "ffn_shift"]


def sampled_positions(T):
    """The positions a summary golden keeps: 0, SAMPLE_EVERY, 2·SAMPLE_EVERY, ... and the last SAMPLE_LAST."""
    return sorted(set(range(0, T, SAMPLE_EVERY)) | set(range(max(0, T - SAMPLE_LAST), T)))


def summarize(g):
    """The summary form of one sequence's golden (long inputs): per layer the mean over all positions
    (accumulated in float64) and the rows at `sampled_positions`, plus the final state; no logits."""
    hidden = np.asarray(g["hidden"])
    pos = sampled_positions(hidden.shape[1])
    out = {"tokens": g["tokens"], "positions": np.asarray(pos, dtype=np.int32),
           "hidden_mean": hidden.astype(np.float64).mean(axis=1).astype(np.float32),
           "hidden_sampled": hidden[:, pos]}
    out.update({part: g[part] for part in STATE_PARTS})
    return out


def golden_file_tensors(goldens):
    """Flatten per-sequence dicts into the file's names: tokens.{s}, hidden.{s}, ..., state.{s}.wkv."""
    out = {}
    for s, g in enumerate(goldens):
        for kind, value in g.items():
            out[file_name(kind, s)] = value
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def file_name(kind, s):
    """The golden file's name for tensor `kind` of sequence `s`."""
    return f"state.{s}.{kind}" if kind in STATE_PARTS else f"{kind}.{s}"


# ----------------------------------------------------------------------------------------------------------------
# 3. An independent float64 numpy forward (for --self-check and the log-decay range in meta.json)
# ----------------------------------------------------------------------------------------------------------------

def np_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def np_shift(xx):
    """Token shift: row t holds xx[t-1], row 0 holds zeros (fresh state)."""
    return np.concatenate([np.zeros_like(xx[:1]), xx[:-1]])


def np_time_mix(x, p, H, N):
    """x: (T,C) residual. Returns (att (T,C), last LN1 row (C), wkv state (H,K,V), log-decay (T,C))."""
    T, C = x.shape
    sq = lambda name: p[name].reshape(-1)  # noqa: E731  (1,1,C) -> (C)
    xx = np_layer_norm(x, p["ln1.weight"], p["ln1.bias"])
    d = np_shift(xx) - xx                                          # sx - xx
    lora = np.tanh((xx + d * sq("att.time_maa_x")) @ p["att.time_maa_w1"]).reshape(T, 5, -1)
    m = np.einsum("tjr,jrc->jtc", lora, p["att.time_maa_w2"])     # (5,T,C): w, k, v, r, g
    mixed = {n: xx + d * (sq(f"att.time_maa_{n}") + m[j]) for j, n in enumerate("wkvrg")}
    r = mixed["r"] @ p["att.receptance.weight"].T                  # nn.Linear: y = x W^T
    k = mixed["k"] @ p["att.key.weight"].T
    v = mixed["v"] @ p["att.value.weight"].T
    g = mixed["g"] @ p["att.gate.weight"].T
    g = g / (1.0 + np.exp(-g))                                     # silu
    logw = -np.exp(sq("att.time_decay") + np.tanh(mixed["w"] @ p["att.time_decay_w1"]) @ p["att.time_decay_w2"])
    u = p["att.time_faaaa"]                                        # (H,N)
    S = np.zeros((H, N, N))                                        # [head][key][value]
    o = np.zeros((T, H, N))
    for t in range(T):
        rt, kt, vt = r[t].reshape(H, N), k[t].reshape(H, N), v[t].reshape(H, N)
        kv = kt[:, :, None] * vt[:, None, :]                       # k_t v_t^T
        o[t] = np.einsum("hk,hkv->hv", rt, S + u[:, :, None] * kv)
        S = np.exp(logw[t]).reshape(H, N)[:, :, None] * S + kv
    mu = o.mean(-1, keepdims=True)                                 # GroupNorm(H groups), eps 64e-5
    var = ((o - mu) ** 2).mean(-1, keepdims=True)
    y = ((o - mu) / np.sqrt(var + 64e-5)).reshape(T, C) * p["att.ln_x.weight"] + p["att.ln_x.bias"]
    return (y * g) @ p["att.output.weight"].T, xx[-1], S, logw


def np_channel_mix(x, p):
    """x: (T,C). Returns (ffn (T,C), last LN2 row (C))."""
    xx = np_layer_norm(x, p["ln2.weight"], p["ln2.bias"])
    d = np_shift(xx) - xx
    kx = xx + d * p["ffn.time_maa_k"].reshape(-1)
    rx = xx + d * p["ffn.time_maa_r"].reshape(-1)
    k = np.maximum(kx @ p["ffn.key.weight"].T, 0.0) ** 2
    r = 1.0 / (1.0 + np.exp(-(rx @ p["ffn.receptance.weight"].T)))
    return r * (k @ p["ffn.value.weight"].T), xx[-1]


def np_forward(weights, tokens, folded_emb=None):
    """float64 forward from the raw official-name weights (ln0 applied here, not folded), or, given
    `folded_emb`, starting from those rows instead of ln0(emb) (to emulate a loader's folded table)."""
    W = {k: v.astype(np.float64) for k, v in weights.items()}
    H, N = W["blocks.0.att.time_faaaa"].shape
    if folded_emb is None:
        x = np_layer_norm(W["emb.weight"][tokens], W["blocks.0.ln0.weight"], W["blocks.0.ln0.bias"])
    else:
        x = folded_emb.astype(np.float64)[tokens]
    g = {"hidden": [x], "att_shift": [], "wkv": [], "ffn_shift": [], "logw": []}
    n_layer = len({k.split(".")[1] for k in W if k.startswith("blocks.")})
    for i in range(n_layer):
        p = {k[len(f"blocks.{i}."):]: v for k, v in W.items() if k.startswith(f"blocks.{i}.")}
        att, att_last, S, logw = np_time_mix(x, p, H, N)
        x = x + att
        ffn, ffn_last = np_channel_mix(x, p)
        x = x + ffn
        for key, val in [("hidden", x), ("att_shift", att_last), ("wkv", S), ("ffn_shift", ffn_last),
                         ("logw", logw)]:
            g[key].append(val)
    g["logits"] = np_layer_norm(x, W["ln_out.weight"], W["ln_out.bias"]) @ W["head.weight"].T
    return {k: np.stack(v) if isinstance(v, list) else v for k, v in g.items()}


def compare(golden_tensors, weights, n_seq, form, folded_emb=None):
    """Max abs diff (and max |ref|) per tensor kind, goldens (of `form`) vs the float64 numpy forward."""
    worst = {}
    for s in range(n_seq):
        ref = np_forward(weights, golden_tensors[f"tokens.{s}"].astype(np.int64), folded_emb)
        ref = {"tokens": None, **{k: ref[k] for k in ["hidden", "logits", *STATE_PARTS]}}
        if form == "summary":
            ref = summarize(ref)
        for kind in [k for k in ref if k not in ("tokens", "positions")]:
            got, want = golden_tensors[file_name(kind, s)].astype(np.float64), ref[kind]
            assert got.shape == want.shape, (kind, s, got.shape, want.shape)
            diff = float(np.abs(got - want).max())
            prev = worst.get(kind, (0.0, 0.0))
            worst[kind] = (max(prev[0], diff), max(prev[1], float(np.abs(want).max())))
    return worst


# ----------------------------------------------------------------------------------------------------------------
# 4. Driver
# ----------------------------------------------------------------------------------------------------------------

def log_decay_range(weights, seqs):
    """(min, max) of the per-step log-decay -exp(time_decay + lora) over all layers and positions."""
    lw = np.concatenate([np_forward(weights, np.asarray(t))["logw"].reshape(-1) for t in seqs])
    return float(lw.min()), float(lw.max())


def make_fixture(name, out_root, tmp_dir):
    seed_w, seed_t, dtype, with_pth, dims, lens, form = FIXTURES[name]
    out_dir = os.path.join(out_root, name)
    os.makedirs(out_dir, exist_ok=True)
    weights = make_weights(seed_w, dims)
    if dtype == "f16":  # the golden is computed from exactly the values stored (f16 -> f32 is exact)
        weights = {k: v.astype(np.float16).astype(np.float32) for k, v in weights.items()}
    write_checkpoints(out_dir, weights, dtype, with_pth)
    seqs = make_sequences(seed_t, lens, dims["vocab"])
    write_golden(load_official(weights, tmp_dir), seqs, form, os.path.join(out_dir, "golden.safetensors"))
    if with_pth:  # the bf16 checkpoint through the package as it is (ln0 folded in bf16)
        write_golden(load_pth(os.path.join(out_dir, "model.pth")), seqs, form,
                     os.path.join(out_dir, "golden-bf16.safetensors"))
    lo, hi = log_decay_range(weights, seqs)
    meta = {
        "fixture": name, "arch": "rwkv6 (x060)", "dims": dims, "weight_seed": seed_w, "token_seed": seed_t,
        "model_safetensors_dtype": dtype, "model_pth": "bf16 (round-to-nearest-even of the f32 weights)"
        if with_pth else None, "golden_bf16": "golden-bf16.safetensors: model.pth through the package as it is"
        if with_pth else None, "sequence_lengths": lens, "n_sequences": len(seqs), "golden_form": form,
        "sampled_positions": f"0, {SAMPLE_EVERY}, 2*{SAMPLE_EVERY}, ... and the last {SAMPLE_LAST}"
        if form == "summary" else "all",
        "log_decay_range": [lo, hi], "strategy": "cpu fp32", "env": "RWKV_JIT_ON=0 RWKV_CUDA_ON=0",
        "rwkv": rwkv_version(), "torch": torch.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "date": datetime.date.today().isoformat(),
        "command": "python3 scripts/make_goldens.py",
    }
    with open(os.path.join(out_dir, "meta.json"), "w") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")
    print(f"{name}: {len(seqs)} sequences {lens}, log-decay in [{lo:.3f}, {hi:.5f}], "
          f"harness == model.forward bit-exactly")


def write_golden(model, seqs, form, path):
    """The package's outputs on `seqs`, in `form` ("full" or "summary"), to `path`."""
    goldens = [golden_for_sequence(model, t) for t in seqs]
    if form == "summary":
        goldens = [summarize(g) for g in goldens]
    meta = {"producer": "scripts/make_goldens.py", "wkv_layout": "[layer][head][key][value]"}
    if form == "summary":
        meta["form"] = f"summary: hidden_mean, hidden_sampled at positions (every {SAMPLE_EVERY}th, last {SAMPLE_LAST})"
    save_file(golden_file_tensors(goldens), path, metadata=meta)


def rwkv_version():
    from importlib.metadata import version
    v = version("rwkv")
    if v != RWKV_VERSION:
        print(f"warning: rwkv {v} installed, goldens were specified against {RWKV_VERSION}", file=sys.stderr)
    return v


def self_check(out_root, tol):
    """Re-read the written files and compare with the float64 numpy forward; exit 1 above `tol` (relative)."""
    ok = True
    for name, (*_, with_pth, _dims, _lens, form) in FIXTURES.items():
        d = os.path.join(out_root, name)
        weights = {k: v.astype(np.float32) for k, v in load_file(os.path.join(d, "model.safetensors")).items()}
        ok &= report(name, load_file(os.path.join(d, "golden.safetensors")), weights, form, tol)
        if with_pth:
            ok &= self_check_bf16(name, d, form, tol)
    return ok


def self_check_bf16(name, d, form, tol):
    """golden-bf16 vs float64 numpy on the bf16 weights: (a) ln0 applied in float64, as rwkv-lens does (reported,
    not checked: it differs by the bf16 rounding of ln0(emb)); (b) starting from the package's folded table,
    i.e. bf16(ln0(emb)) upcast (checked: the rounding of that table is the only difference)."""
    pth = torch.load(os.path.join(d, "model.pth"), map_location="cpu")
    weights = {k: v.float().numpy() for k, v in pth.items()}
    tensors = load_file(os.path.join(d, "golden-bf16.safetensors"))
    report(f"{name} bf16 (a) ln0 in f64, not checked", tensors, weights, form, float("inf"))
    folded = load_pth(os.path.join(d, "model.pth")).w["emb.weight"].numpy()
    return report(f"{name} bf16 (b) package's folded emb", tensors, weights, form, tol, folded)


def report(label, tensors, weights, form, tol, folded_emb=None):
    """Prints max|golden - float64 numpy| per tensor kind; False if any ratio to max|value| is above `tol`."""
    ok = True
    n_seq = len([k for k in tensors if k.startswith("tokens.")])
    for kind, (diff, scale) in compare(tensors, weights, n_seq, form, folded_emb).items():
        rel = diff / max(scale, 1e-30)
        ok &= rel <= tol
        print(f"{label:12s} {kind:14s} max|golden - float64 numpy| = {diff:.3e}  (max|value| {scale:.3e},"
              f" ratio {rel:.2e})")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures"), help="fixtures root")
    ap.add_argument("--self-check", action="store_true", help="only compare existing goldens with numpy")
    ap.add_argument("--tol", type=float, default=1e-5, help="self-check limit: max abs diff / max |value|")
    ap.add_argument("--only", choices=list(FIXTURES), action="append", help="(re)write only these fixtures")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.self_check:
        sys.exit(0 if self_check(args.out, args.tol) else 1)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or FIXTURES:
            make_fixture(name, args.out, tmp)


if __name__ == "__main__":
    main()
