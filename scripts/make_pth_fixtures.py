#!/usr/bin/env python3
"""Small `.pth` fixtures for tests/it/pth.rs, written with torch.save (torch 2.x, zip format).

Writes, under tests/fixtures/pth/:
  tensors.pth              f32/f16/bf16 tensors: a (1,1,C) one, views with storage offsets
                           (two of them sharing one storage), a 0-d scalar, an empty tensor,
                           special values (-0, inf, nan, subnormals)
  tensors_expected.safetensors  the same tensors, contiguous copies (the expected values)
  tensors_proto4.pth       the same dict saved with pickle protocol 4 (FRAME, STACK_GLOBAL, MEMOIZE)
  tensors_zip64.pth        tensors.pth re-packed with zip64 records and extra fields forced
  module_state.pth         nn.Linear(3, 2).state_dict() with known values (OrderedDict + _metadata BUILD)
  noncontiguous.pth        a transposed view (must be refused: strides)
  int64.pth                an int64 tensor (must be refused: dtype)
  legacy.pth               the pre-1.6 (non-zip) format (must be refused; its bytes differ run to run)
  malicious_system.pth     a pickle that would call os.system (posix.system) when loaded by pickle
  malicious_eval.pth       a pickle that would call builtins.eval
  truncated.pth            the first half of tensors.pth
  tiny_rwkv6.pth           a tiny RWKV-6 model (C=8, 2 heads, 2 layers, V=16) in bf16 with the
                           official names and shapes, as BlinkDL's training code saves them

Usage: python3 scripts/make_pth_fixtures.py   (needs torch and safetensors)
"""
import builtins
import collections
import os
import zipfile

import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "pth")


def state_dict():
    g = torch.Generator().manual_seed(7)
    sd = collections.OrderedDict()
    sd["emb.weight"] = torch.randn(4, 3, generator=g)
    sd["blocks.0.att.time_maa_x"] = torch.randn(1, 1, 5, generator=g).to(torch.bfloat16)
    half_base = torch.randn(12, generator=g).to(torch.float16)
    sd["shared.a"] = half_base[0:4]  # offset 0 of a 12-element storage
    sd["shared.b"] = half_base[5:9]  # offset 5 of the same storage
    grid = torch.arange(20, dtype=torch.float32).reshape(4, 5)
    sd["grid.rows"] = grid[1:3]  # (2, 5), offset 5, stride (5, 1)
    sd["column"] = torch.tensor([[1.5], [-2.0], [3.25]])  # (3, 1)
    sd["scalar"] = torch.tensor(0.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["special.f32"] = torch.tensor([-0.0, float("inf"), -float("inf"), float("nan"), 1e-45, 3.4e38])
    sd["special.f16"] = torch.tensor([-0.0, float("inf"), 6e-8, 65504.0], dtype=torch.float16)
    sd["special.bf16"] = torch.tensor([-0.0, float("-inf"), 1e-40, 3e38], dtype=torch.bfloat16)
    return sd


class Evil:
    """Pickles as a call: `pickle.load` would run it. Never load these files with pickle."""

    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return (self.func, (self.arg,))


def repack_zip64(src, dst):
    """Copies a zip with zip64 records and extra fields forced on every entry."""
    limit = zipfile.ZIP64_LIMIT
    zipfile.ZIP64_LIMIT = 1  # every size and offset now "needs" zip64
    try:
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
            for info in zin.infolist():
                fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
                zout.writestr(fixed, zin.read(info.filename))
    finally:
        zipfile.ZIP64_LIMIT = limit


def tiny_rwkv6():
    """Official RWKV-6 names and shapes (rwkv/model.py), tiny sizes; value = index / 64."""
    c, h, f, v, r, d, layers = 8, 2, 32, 16, 2, 4, 2
    shapes = {"emb.weight": (v, c), "blocks.0.ln0.weight": (c,), "blocks.0.ln0.bias": (c,)}
    for i in range(layers):
        b = f"blocks.{i}."
        for n in ["ln1.weight", "ln1.bias", "ln2.weight", "ln2.bias", "att.ln_x.weight", "att.ln_x.bias"]:
            shapes[b + n] = (c,)
        for n in "xwkvrg":
            shapes[b + f"att.time_maa_{n}"] = (1, 1, c)
        shapes[b + "att.time_maa_w1"] = (c, 5 * r)
        shapes[b + "att.time_maa_w2"] = (5, r, c)
        shapes[b + "att.time_decay"] = (1, 1, c)
        shapes[b + "att.time_decay_w1"] = (c, d)
        shapes[b + "att.time_decay_w2"] = (d, c)
        shapes[b + "att.time_faaaa"] = (h, c // h)
        for n in ["receptance", "key", "value", "gate", "output"]:
            shapes[b + f"att.{n}.weight"] = (c, c)
        shapes[b + "ffn.time_maa_k"] = (1, 1, c)
        shapes[b + "ffn.time_maa_r"] = (1, 1, c)
        shapes[b + "ffn.key.weight"] = (f, c)
        shapes[b + "ffn.receptance.weight"] = (c, c)
        shapes[b + "ffn.value.weight"] = (c, f)
    shapes["ln_out.weight"] = (c,)
    shapes["ln_out.bias"] = (c,)
    shapes["head.weight"] = (v, c)
    return {k: (torch.arange(torch.Size(s).numel()) / 64).reshape(s).to(torch.bfloat16) for k, s in shapes.items()}


def path(name):
    return os.path.join(OUT, name)


def main():
    os.makedirs(OUT, exist_ok=True)
    sd = state_dict()
    torch.save(sd, path("tensors.pth"))
    torch.save(sd, path("tensors_proto4.pth"), pickle_protocol=4)
    save_file({k: v.contiguous().clone() for k, v in sd.items()}, path("tensors_expected.safetensors"))
    repack_zip64(path("tensors.pth"), path("tensors_zip64.pth"))

    lin = torch.nn.Linear(3, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.arange(6, dtype=torch.float32).reshape(2, 3))
        lin.bias.copy_(torch.tensor([10.0, 20.0]))
    torch.save(lin.state_dict(), path("module_state.pth"))

    torch.save({"t": torch.arange(6, dtype=torch.float32).reshape(2, 3).t()}, path("noncontiguous.pth"))
    torch.save({"i": torch.arange(3)}, path("int64.pth"))
    torch.save({"x": torch.ones(2)}, path("legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save({"x": Evil(os.system, "echo pwned")}, path("malicious_system.pth"))
    torch.save({"x": Evil(builtins.eval, "__import__('os').system('echo pwned')")}, path("malicious_eval.pth"))

    torch.save(tiny_rwkv6(), path("tiny_rwkv6.pth"))

    with open(path("tensors.pth"), "rb") as f:
        data = f.read()
    with open(path("truncated.pth"), "wb") as f:
        f.write(data[: len(data) // 2])


if __name__ == "__main__":
    main()
