#!/usr/bin/env python3
"""Golden fixtures for rwkv-lens's RWKV-7 (x070) forward: the official package's outputs on seeded random models.

    pip install torch rwkv==0.8.32 numpy safetensors
    cargo build                                     # the models come from `rwkv-lens random-model --arch rwkv7`
    python3 scripts/make_goldens_v7.py              # (re)writes tests/fixtures/tiny-v7/
    python3 scripts/make_goldens_v7.py --bin PATH   # another rwkv-lens binary

What it does (docs/goldens.md describes the v6 files, whose layout these follow):
  1. draws two random RWKV-7 checkpoints with `rwkv-lens random-model --arch rwkv7` (official `.pth` names and
     shapes; block 0 carries v0/v1/v2 as BlinkDL's files do):
       * "wide":  C=256 (4 heads of 64), 2 layers, F=1024, vocab 128, LoRA ranks 32/32/16/64, f32. Not committed:
                  the test regenerates it from the same seed (`RandomSpec`), and golden-wide.safetensors keeps
                  the first, middle and last value of every tensor (`check.*`) so that a changed generator fails
                  loudly instead of comparing against the wrong model;
       * "small": C=64 (1 head of 64), 2 layers, F=256, vocab 64, ranks 16/16/8/16, f16, committed three times:
                  model.safetensors (official names), model-fla.safetensors (fla-hub names: fla's
                  `utils/convert_from_rwkv7.py translate_into_fla`, LoRA factors transposed, k_k/k_a/ffn.x_k and
                  the LoRA biases squeezed, block 0's v0/v1/v2 dropped) and model-hf.safetensors (transformers'
                  `Rwkv7ForCausalLM`: `rwkv7.` before every name but `head.weight`);
  2. loads the f32 values with the official package (`RWKV_V7_ON=1` before importing `rwkv`; `rwkv.model.RWKV`
     is then `RWKV_x070`, strategy 'cpu fp32', which folds ln0 into the embedding and never rescales);
  3. runs a harness that mirrors `RWKV_x070.forward_seq` / `forward_one`, recording x after every block, and
     ASSERTS that its logits and final state equal `model.forward(tokens, None, full_output=True)` bit for bit;
  4. writes golden-wide.safetensors and golden.safetensors (every position of lengths 1, 7, 23, 40) and
     golden-long.safetensors (the small model on 1100 tokens, summarised as the v6 long fixture: per layer the
     mean over positions and the rows at every 97th and the last 8 positions), and meta.json.
State layout: wkv is [layer][head][value][key], the package's own (the RWKV-6 goldens are [key][value]).
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile

os.environ["RWKV_V7_ON"] = "1"  # the package reads these at import time
os.environ["RWKV_JIT_ON"] = "1"
os.environ["RWKV_CUDA_ON"] = "0"

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402

import rwkv.model as official  # noqa: E402

RWKV_VERSION = "0.8.32"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEQ_LENS = [1, 7, 23, 40]
LONG_LENS = [1100]
SAMPLE_EVERY, SAMPLE_LAST = 97, 8
MODELS = {
    # name: random-model arguments
    "wide": dict(layers=2, embd=256, ffn=1024, vocab=128, ranks="32,32,16,64", seed=7070, dtype="f32"),
    "small": dict(layers=2, embd=64, ffn=256, vocab=64, ranks="16,16,8,16", seed=7170, dtype="f16"),
}
TOKEN_SEEDS = {"wide": 7071, "small": 7171, "long": 7271}
STATE_PARTS = ["att_shift", "wkv", "ffn_shift"]


# ----------------------------------------------------------------------------------------------------------------
# 1. Models from rwkv-lens random-model
# ----------------------------------------------------------------------------------------------------------------

def random_model(binary, name, out_path):
    """`rwkv-lens random-model --arch rwkv7` with MODELS[name] -> {official name: float32 array}."""
    m = MODELS[name]
    cmd = [binary, "random-model", "--arch", "rwkv7", "--layers", str(m["layers"]), "--embd", str(m["embd"]),
           "--ffn", str(m["ffn"]), "--vocab", str(m["vocab"]), "--ranks", m["ranks"], "--seed", str(m["seed"]),
           "--dtype", m["dtype"], "-o", out_path]
    subprocess.run(cmd, check=True)
    return {k: v.astype(np.float32) for k, v in load_file(out_path).items()}


def with_head(weights, seed):
    """The package needs an LM head; random-model writes none. A seeded one, (V, C), added to the weights."""
    v, c = weights["emb.weight"].shape
    rng = np.random.default_rng(seed)
    out = dict(weights)
    out["head.weight"] = rng.normal(0.0, c ** -0.5, (v, c)).astype(np.float32)
    return out


def fla_names(weights):
    """The same tensors in fla's layout (`translate_into_fla` of fla's utils/convert_from_rwkv7.py)."""
    out = {}
    top = {"emb.weight": "model.embeddings.weight", "ln_out.weight": "model.norm.weight",
           "ln_out.bias": "model.norm.bias", "head.weight": "lm_head.weight"}
    proj = {"receptance": "r_proj", "key": "k_proj", "value": "v_proj", "ln_x": "g_norm", "output": "o_proj"}
    part = {"att": "attn", "ffn": "ffn", "ln0": "pre_norm", "ln1": "attn_norm", "ln2": "ffn_norm"}
    for name, w in weights.items():
        if name in ("blocks.0.att.v0", "blocks.0.att.v1", "blocks.0.att.v2"):
            continue  # never used; fla drops them
        if name in top:
            out[top[name]] = w
            continue
        _, layer, p, *rest = name.split(".")
        rest = ".".join(rest)
        if p == "att" and len(rest) == 2 and rest[0] in "wavg" and rest[1] in "012":
            typ, num = rest
            rest = f"{typ}_lora.lora." + {"0": "2.bias", "1": "0.weight", "2": "2.weight"}[num]
            w = w.T if num in "12" else w
        elif p == "att" and rest.split(".")[0] in proj:
            head, *tail = rest.split(".")
            rest = ".".join([proj[head], *tail])
        if w.shape == (1, 1, w.size) and not (p == "att" and rest.startswith("x_")):
            w = w.reshape(-1)  # fla squeezes k_k, k_a, ffn.x_k and the biases; x_r..x_g stay (1, 1, C)
        out[f"model.layers.{layer}.{part[p]}.{rest}"] = np.ascontiguousarray(w)
    return out


def hf_names(weights):
    """transformers' `Rwkv7ForCausalLM` names (`_convert_native`): `rwkv7.` before all but head.weight."""
    return {(k if k == "head.weight" else "rwkv7." + k): v for k, v in weights.items()}


# ----------------------------------------------------------------------------------------------------------------
# 2. The official package, mirrored to expose every layer
# ----------------------------------------------------------------------------------------------------------------

def load_official(weights, tmp_dir, tag):
    """rwkv.model.RWKV (= RWKV_x070) on an f32 `.pth` of `weights`; the package appends '.pth' itself."""
    base = os.path.join(tmp_dir, f"model-{tag}")
    torch.save({k: torch.from_numpy(v.copy()) for k, v in weights.items()}, base + ".pth")
    model = official.RWKV(model=base, strategy="cpu fp32")
    assert type(model).__name__ == "RWKV_x070", type(model)
    return model


def official_layers(model, tokens):
    """Mirror of `RWKV_x070.forward_seq` (T > 1) / `forward_one` (T = 1), rwkv 0.8.32, cpu fp32, no CUDA, no
    DeepEmbed, recording x after every block. Returns (hidden [L+1][T,C], logits [T,V], state list)."""
    z, L, H, N, C = model.z, model.n_layer, model.n_head, model.head_size, model.n_embd
    state = model.generate_zero_state()
    seq = len(tokens) > 1
    TMix = official.RWKV_x070_TMix_seq if seq else official.RWKV_x070_TMix_one
    CMix = official.RWKV_x070_CMix_seq if seq else official.RWKV_x070_CMix_one
    x = z["emb.weight"][tokens if seq else tokens[0]]  # ln0 already folded into emb by the loader
    v_first = torch.empty_like(x)
    hidden = [x.clone()]
    for i in range(L):
        b, a, f = f"blocks.{i}.", f"blocks.{i}.att.", f"blocks.{i}.ffn."
        xx = F.layer_norm(x, (C,), weight=z[b + "ln1.weight"], bias=z[b + "ln1.bias"])
        xx, state[i * 3], state[i * 3 + 1], v_first = TMix(
            i, H, N, xx, state[i * 3], v_first, state[i * 3 + 1],
            *[z[a + f"x_{m}"] for m in "rwkvag"],
            *[z[a + n] for n in ["w0", "w1", "w2", "a0", "a1", "a2", "v0", "v1", "v2", "g1", "g2", "k_k", "k_a",
                                 "r_k", "receptance.weight", "key.weight", "value.weight", "output.weight",
                                 "ln_x.weight", "ln_x.bias"]])
        x = x + xx
        xx = F.layer_norm(x, (C,), weight=z[b + "ln2.weight"], bias=z[b + "ln2.bias"])
        xx, state[i * 3 + 2] = CMix(xx, state[i * 3 + 2], z[f + "x_k"], z[f + "key.weight"], z[f + "value.weight"])
        x = x + xx
        hidden.append(x.clone())
    out = F.layer_norm(x, (C,), weight=z["ln_out.weight"], bias=z["ln_out.bias"])
    return hidden, out @ z["head.weight"], state


def golden_for_sequence(model, tokens):
    """Golden tensors of one sequence, after asserting the harness equals model.forward bit for bit."""
    hidden, logits, state = official_layers(model, tokens)
    ref_logits, ref_state = model.forward(list(tokens), None, full_output=True)
    assert torch.equal(logits, ref_logits), f"harness logits differ: {(logits - ref_logits).abs().max()}"
    assert all(torch.equal(a, b) for a, b in zip(state, ref_state)), "harness state differs from forward"
    T, L, C = len(tokens), model.n_layer, model.n_embd
    return {
        "tokens": np.asarray(tokens, dtype=np.int32),
        "hidden": torch.stack([h.reshape(T, C) for h in hidden]).numpy(),
        "logits": logits.reshape(T, -1).numpy(),
        "att_shift": torch.stack([state[3 * i] for i in range(L)]).numpy(),
        "wkv": torch.stack([state[3 * i + 1] for i in range(L)]).numpy(),
        "ffn_shift": torch.stack([state[3 * i + 2] for i in range(L)]).numpy(),
    }


def sampled_positions(T):
    return sorted(set(range(0, T, SAMPLE_EVERY)) | set(range(max(0, T - SAMPLE_LAST), T)))


def summarize(g):
    """Long inputs: per layer the mean over positions (float64 accumulation) and the sampled rows; no logits."""
    hidden = np.asarray(g["hidden"])
    pos = sampled_positions(hidden.shape[1])
    out = {"tokens": g["tokens"], "positions": np.asarray(pos, dtype=np.int32),
           "hidden_mean": hidden.astype(np.float64).mean(axis=1).astype(np.float32),
           "hidden_sampled": hidden[:, pos]}
    out.update({part: g[part] for part in STATE_PARTS})
    return out


def file_name(kind, s):
    return f"state.{s}.{kind}" if kind in STATE_PARTS else f"{kind}.{s}"


def write_golden(model, seqs, path, summary=False, extra=None):
    goldens = [golden_for_sequence(model, t) for t in seqs]
    if summary:
        goldens = [summarize(g) for g in goldens]
    tensors = {file_name(k, s): np.ascontiguousarray(v) for s, g in enumerate(goldens) for k, v in g.items()}
    tensors.update(extra or {})
    meta = {"producer": "scripts/make_goldens_v7.py", "wkv_layout": "[layer][head][value][key]"}
    save_file(tensors, path, metadata=meta)
    return os.path.getsize(path)


def weight_checks(weights):
    """check.{name} = the first, middle and last value of every tensor (regenerated models are compared)."""
    out = {}
    for k, v in weights.items():
        flat = v.reshape(-1)
        out[f"check.{k}"] = np.asarray([flat[0], flat[flat.size // 2], flat[-1]], dtype=np.float32)
    return out


def make_sequences(seed, lens, vocab):
    rng = np.random.default_rng(seed)
    seqs = [rng.integers(0, vocab, n).tolist() for n in lens]
    if len(seqs) > 2:
        seqs[2][11], seqs[2][5] = 0, vocab - 1
    seqs[-1][0] = 0
    return seqs


# ----------------------------------------------------------------------------------------------------------------
# 3. Driver
# ----------------------------------------------------------------------------------------------------------------

def default_binary():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "debug", "rwkv-lens")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "tiny-v7"))
    ap.add_argument("--bin", default=default_binary(), help="the rwkv-lens binary that draws the models")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        wide = random_model(args.bin, "wide", os.path.join(tmp, "wide.safetensors"))
        model = load_official(with_head(wide, 7072), tmp, "wide")
        seqs = make_sequences(TOKEN_SEEDS["wide"], SEQ_LENS, MODELS["wide"]["vocab"])
        sizes["golden-wide.safetensors"] = write_golden(
            model, seqs, os.path.join(args.out, "golden-wide.safetensors"), extra=weight_checks(wide))

        small = with_head(random_model(args.bin, "small", os.path.join(tmp, "small.safetensors")), 7172)
        f16 = {k: np.ascontiguousarray(v.astype(np.float16)) for k, v in small.items()}
        small = {k: v.astype(np.float32) for k, v in f16.items()}  # the head rounded like the rest
        for file, tensors in [("model.safetensors", f16), ("model-fla.safetensors", fla_names(f16)),
                              ("model-hf.safetensors", hf_names(f16))]:
            save_file(tensors, os.path.join(args.out, file))
            sizes[file] = os.path.getsize(os.path.join(args.out, file))
        model = load_official(small, tmp, "small")
        seqs = make_sequences(TOKEN_SEEDS["small"], SEQ_LENS, MODELS["small"]["vocab"])
        sizes["golden.safetensors"] = write_golden(model, seqs, os.path.join(args.out, "golden.safetensors"))
        long_seqs = make_sequences(TOKEN_SEEDS["long"], LONG_LENS, MODELS["small"]["vocab"])
        sizes["golden-long.safetensors"] = write_golden(
            model, long_seqs, os.path.join(args.out, "golden-long.safetensors"), summary=True)
    from importlib.metadata import version
    meta = {
        "fixture": "tiny-v7", "arch": "rwkv7 (x070)", "models": MODELS, "token_seeds": TOKEN_SEEDS,
        "head_seeds": {"wide": 7072, "small": 7172}, "sequence_lengths": SEQ_LENS, "long_lengths": LONG_LENS,
        "long_form": f"summary: mean + positions 0, {SAMPLE_EVERY}, 2*{SAMPLE_EVERY}, ... and the last {SAMPLE_LAST}",
        "files": sizes, "strategy": "cpu fp32", "env": "RWKV_V7_ON=1 RWKV_JIT_ON=1 RWKV_CUDA_ON=0",
        "rwkv": version("rwkv"), "torch": torch.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "date": datetime.date.today().isoformat(),
        "command": "python3 scripts/make_goldens_v7.py",
    }
    if meta["rwkv"] != RWKV_VERSION:
        print(f"warning: rwkv {meta['rwkv']} installed, goldens were specified against {RWKV_VERSION}",
              file=sys.stderr)
    with open(os.path.join(args.out, "meta.json"), "w") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")
    print(f"tiny-v7: {sizes}; harness == model.forward bit-exactly")


if __name__ == "__main__":
    main()
