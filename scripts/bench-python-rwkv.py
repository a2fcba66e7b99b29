#!/usr/bin/env python3
"""The Python peers of `rwkv-lens bench` (run when Python has `rwkv`, torch and numpy; `--no-python`
skips them): the official `rwkv` package (BlinkDL, pip `rwkv`) on the CPU in `cpu fp32`, batch
size 1 (the package runs one sequence at a time), and numpy's fp32 GEMM as the CPU's roof.

    bench-python-rwkv.py --model M.safetensors --tokens batch.json [--tokens batch2.json ...]
                         [--states-out S.safetensors] [--threads N]
    bench-python-rwkv.py --gemm M,N,K     numpy's x[M][K] @ W[N][K]ᵀ: {"gemm_gflops": ...}
    bench-python-rwkv.py --check          {"ok": true} when rwkv, torch and numpy import

M.safetensors holds the official tensor names (what `rwkv-lens bench` writes from its random
checkpoint); the package only reads `.pth`, so the weights are re-saved as an f32 `.pth` in a
temporary directory first (not timed). Each batch file `{"sequences": [[id, ...], ...]}` is one
run: every sequence goes through `model.forward(tokens, None)` from a fresh state; the run's
seconds are the sum over its sequences (after one untimed warm-up sequence).

Prints one JSON line: {"peer", "runs": [{"batch", "tokens", "seconds": [s], "tokens_per_s"}],
"peak_rss_bytes"} or {"error": ...} (exit 2). `--states-out` writes, for the first batch file,
per sequence b: seq{b}.att_shift [C], seq{b}.wkv [H][N][N] ([key][value], the package's CPU
layout), seq{b}.ffn_shift [C], seq{b}.logits [V] — f32 safetensors, the layout rwkv-lens reads.
"""
import argparse
import json
import os
import resource
import sys
import tempfile
import time

os.environ.setdefault("RWKV_JIT_ON", "1")
os.environ["RWKV_CUDA_ON"] = "0"


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model")
    p.add_argument("--tokens", action="append")
    p.add_argument("--gemm", help="M,N,K: time numpy's fp32 GEMM only")
    p.add_argument("--check", action="store_true", help="only check that the packages import")
    p.add_argument("--states-out")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    return p.parse_args()


def load_model(path, tmp):
    import torch
    from safetensors.torch import load_file
    from rwkv.model import RWKV

    weights = {k: v.float() for k, v in load_file(path).items()}
    pth = os.path.join(tmp, "model.pth")
    torch.save(weights, pth)
    del weights
    return RWKV(model=pth, strategy="cpu fp32")


def run_batch(model, sequences):
    """Returns (seconds, [(state, logits)] per sequence)."""
    import torch

    outs = []
    seconds = 0.0
    with torch.inference_mode():
        for seq in sequences:
            t0 = time.perf_counter()
            logits, state = model.forward(list(seq), None)
            seconds += time.perf_counter() - t0
            outs.append((state, logits))
    return seconds, outs


def write_states(path, outs, n_layer):
    import torch
    from safetensors.torch import save_file

    tensors = {}
    last = n_layer - 1
    for b, (state, logits) in enumerate(outs):
        tensors[f"seq{b}.att_shift"] = state[3 * last].float().contiguous()
        tensors[f"seq{b}.wkv"] = state[3 * last + 1].float().contiguous()
        tensors[f"seq{b}.ffn_shift"] = state[3 * last + 2].float().contiguous()
        tensors[f"seq{b}.logits"] = logits.float().reshape(-1).contiguous()
    save_file({k: torch.as_tensor(v) for k, v in tensors.items()}, path)


def main():
    args = parse()
    if args.gemm:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from cpu_gemm_roof import numpy_gflops  # noqa: E402 (drops the OPENBLAS pins first)

        m, n, k = map(int, args.gemm.split(","))
        print(json.dumps({"gemm_gflops": numpy_gflops([(n, k)], [m])[(m, n, k)]}))
        return
    import numpy  # noqa: F401
    import torch
    import rwkv

    if args.check:
        print(json.dumps({"ok": True}))
        return
    if not args.model or not args.tokens:
        raise ValueError("--model and --tokens are required")

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    batches = []
    for t in args.tokens:
        with open(t) as f:
            batches.append(json.load(f)["sequences"])
    with tempfile.TemporaryDirectory() as tmp:
        model = load_model(args.model, tmp)
    run_batch(model, batches[0][:1])  # warm-up (TorchScript compiles on first use), untimed
    runs = []
    for i, seqs in enumerate(batches):
        seconds, outs = run_batch(model, seqs)
        tokens = sum(len(s) for s in seqs)
        runs.append({"batch": len(seqs), "tokens": tokens, "seconds": [seconds], "tokens_per_s": tokens / seconds})
        if i == 0 and args.states_out:
            write_states(args.states_out, outs, model.args.n_layer)
    version = getattr(rwkv, "__version__", "?")
    print(json.dumps({
        "peer": f"python rwkv {version} cpu fp32",
        "threads": torch.get_num_threads(),
        "runs": runs,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one JSON line, whatever failed
        print(json.dumps({"error": f"{type(e).__name__}: {e}".replace("\n", " ")}))
        sys.exit(2)
