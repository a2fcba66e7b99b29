#!/usr/bin/env python3
"""The CPU engines' GEMMs (the oracle's `linear`, `x @ Wᵀ` in f32, and the fast engine's, f16
weights) against numpy's fp32 GEMM on the RWKV-6 1.6B shapes (C=2048, F=7168; M = 16, 64, 128
rows), in one run on one machine.

    python3 scripts/cpu_gemm_roof.py [--rounds 3] [--no-demo]

Builds `tests/alone/cpu_speed.rs` in release, then alternates `rounds` times between numpy and the
Rust `linear_gflops` and `fast_linear_gflops` measurements (so both see the same background load) and keeps each
point's best. Prints a markdown table (GFLOP/s, ours ÷ numpy per point, geometric mean) and,
unless --no-demo, the reference's tokens/s on the bundled demo model.

numpy runs with the machine's OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed in this process
only (they pin an old kernel that slows a current OpenBLAS; see the environment notes); the
BLAS that numpy then uses is printed when `threadpoolctl` is installed.
"""
import argparse
import math
import os
import re
import subprocess
import sys
import time

for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(var, None)  # before numpy loads OpenBLAS

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
C, F = 2048, 7168
SHAPES = [(C, C), (F, C), (C, F)]  # (N = out, K = in) of x[M][K] @ W[N][K]ᵀ
ROWS = [16, 64, 128]
TEST = ["cargo", "test", "--release", "--test", "alone", "--"]


def numpy_gflops(shapes=SHAPES, rows=ROWS):
    """{(M, N, K): GFLOP/s} of numpy's fp32 `x @ W.T` (also `bench-python-rwkv.py --gemm`)."""
    rng = np.random.default_rng(0)
    out = {}
    for n, k in shapes:
        w = rng.standard_normal((n, k), dtype=np.float32)
        for m in rows:
            x = rng.standard_normal((m, k), dtype=np.float32)
            x @ w.T  # warm-up
            reps = max(1, int(0.2 / max(1e-6, timed(lambda: x @ w.T, 1))))
            best = min(timed(lambda: x @ w.T, reps) for _ in range(5))
            out[(m, n, k)] = 2 * m * n * k / best / 1e9
    return out


def timed(f, reps):
    t = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t) / reps


def rust(test):
    cmd = TEST + ["--ignored", "--nocapture", "--exact", f"cpu_speed::{test}"]
    return subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout


def rust_gflops(test="linear_gflops", tag="linear"):
    pat = re.compile(rf"^{tag} M=(\d+) N=(\d+) K=(\d+) gflops=([\d.]+)$", re.M)
    return {tuple(map(int, g[:3])): float(g[3]) for g in pat.findall(rust(test))}


def blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "numpy BLAS: (pip install threadpoolctl to show it)"
    return "; ".join(
        f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} x{i.get('num_threads')}"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-demo", action="store_true")
    args = ap.parse_args()
    subprocess.run(TEST[:5] + ["--no-run"], cwd=ROOT, check=True)
    ours, fast, roof = {}, {}, {}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
        measured = (
            (roof, numpy_gflops()),
            (ours, rust_gflops()),
            (fast, rust_gflops("fast_linear_gflops", "fast")),
        )
        for best, got in measured:
            for key, v in got.items():
                best[key] = max(best.get(key, 0.0), v)
    print(f"{blas_info()}; rwkv-lens: reference::ops::linear (f32 oracle, matrixmultiply) and "
          f"reference::fast::gemm::linear (f16 weights); {os.cpu_count()} CPUs\n")
    print("| M | N | K | numpy fp32 GFLOP/s | oracle GFLOP/s | fast f16 GFLOP/s | oracle ÷ numpy | fast ÷ numpy |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    ratios, fast_ratios = [], []
    for key in sorted(roof, key=lambda k: (k[1], k[2], k[0])):
        ratios.append(ours[key] / roof[key])
        fast_ratios.append(fast[key] / roof[key])
        print(f"| {key[0]} | {key[1]} | {key[2]} | {roof[key]:.1f} | {ours[key]:.1f} | {fast[key]:.1f} "
              f"| {ratios[-1]:.2f} | {fast_ratios[-1]:.2f} |")
    for name, rs in (("oracle", ratios), ("fast", fast_ratios)):
        geo = math.exp(sum(map(math.log, rs)) / len(rs))
        print(f"\ngeometric mean {name} ÷ numpy: {geo:.2f} (min {min(rs):.2f})")
    if not args.no_demo:
        demo = rust("demo_model_tokens_per_s").splitlines()
        print("\n" + "\n".join(line for line in demo if line.startswith("demo ")))


if __name__ == "__main__":
    main()
