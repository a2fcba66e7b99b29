#!/usr/bin/env python3
"""Golden values for the study's model comparison (src/study/compare.rs), computed
independently with numpy and scipy.

Writes tests/fixtures/study/compare_goldens.json, read by tests/it/study_compare.rs.

Two models ("rwkv", family RWKV; "attn", family attention), two layers each, three
domains over two tasks (t1: news + captions, t2: news + forums). For every task x domain
group: gold scores, each model's cosines per layer, and B explicit bootstrap resamples
(index lists drawn here by numpy; the Rust test reads the same lists, so the check is
exact and does not depend on either side's random generator). One resample per group
is shared by both models and both layers: the bootstrap is paired.

Computed here, from the definitions in docs/study.md ("Comparing models"):
- each group's Spearman x100 (scipy.stats.spearmanr) and per resample (on the
  materialised resample);
- domain score = pair-weighted mean of the groups' scores, replicate by replicate;
- chosen layer = best layer on news (ties: the lower);
- degradation deg(d) = score(news) - score(d) at that layer; D(d) = deg_rwkv - deg_attn;
  D-bar = mean of D over captions and forums; CIs = numpy's linear percentiles (95%).

Usage: pip install numpy scipy ; python3 scripts/make_compare_goldens.py
"""

import json
import os

import numpy as np
from scipy.stats import spearmanr

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "study", "compare_goldens.json")
B = 120
LEVEL = 0.95
MODELS = ["rwkv", "attn"]
LAYERS = {"rwkv": [0, 3], "attn": [0, 2]}
GROUPS = [("t1", "news", 40), ("t1", "captions", 30), ("t2", "news", 25), ("t2", "forums", 35)]
# how strongly each model x layer tracks the gold score in each domain
SIGNAL = {
    ("rwkv", 0): {"news": 0.5, "captions": 0.4, "forums": 0.3},
    ("rwkv", 3): {"news": 0.9, "captions": 0.5, "forums": 0.6},
    ("attn", 0): {"news": 0.6, "captions": 0.5, "forums": 0.5},
    ("attn", 2): {"news": 1.2, "captions": 0.9, "forums": 0.4},
}


def rho(x, y):
    r = spearmanr(x, y).correlation
    return None if np.isnan(r) else r * 100


def ci(values):
    v = np.array([x for x in values if x is not None])
    tail = (1 - LEVEL) / 2 * 100
    return [float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))]


def main():
    rng = np.random.RandomState(14)
    groups = []
    for task, domain, n in GROUPS:
        gold = np.round(rng.rand(n) * 10) / 2  # 0..5 in halves: ties
        noise = rng.randn(n)
        sims = {}
        for m in MODELS:
            for layer in LAYERS[m]:
                s = SIGNAL[(m, layer)][domain] * (gold - 2.5) / 2.5 + noise + rng.randn(n) * 0.7
                sims[f"{m}/{layer}"] = np.round(np.tanh(s / 3), 2).tolist()  # ties too
        resamples = [rng.randint(0, n, size=n).tolist() for _ in range(B)]
        groups.append({"task": task, "domain": domain, "gold": gold.tolist(), "sims": sims,
                       "resamples": resamples})
    # per group, series: point and replicates
    for g in groups:
        y = np.array(g["gold"])
        g["spearman"], g["replicates"] = {}, {}
        for key, x in g["sims"].items():
            x = np.array(x)
            g["spearman"][key] = rho(x, y)
            g["replicates"][key] = [rho(x[idx], y[idx]) for idx in map(np.array, g["resamples"])]

    def domain_score(key, domain):
        mine = [g for g in groups if g["domain"] == domain]
        n = sum(len(g["gold"]) for g in mine)
        point = sum(len(g["gold"]) * g["spearman"][key] for g in mine) / n
        reps = [sum(len(g["gold"]) * g["replicates"][key][r] for g in mine) / n for r in range(B)]
        return point, np.array(reps)

    chosen, degradation = {}, {}
    for m in MODELS:
        news = [(domain_score(f"{m}/{l}", "news")[0], -l) for l in LAYERS[m]]
        layer = -max(news)[1]  # highest score; ties: the lower layer
        chosen[m] = layer
        ref, ref_reps = domain_score(f"{m}/{layer}", "news")
        for d in ["captions", "forums"]:
            s, reps = domain_score(f"{m}/{layer}", d)
            degradation[(m, d)] = (s, ref - s, ref_reps - reps)
    differences = []
    for d in ["captions", "forums"]:
        (_, dr, rr), (_, da, ra) = degradation[("rwkv", d)], degradation[("attn", d)]
        differences.append({"domain": d, "rwkv": dr, "attn": da, "difference": dr - da,
                            "ci": ci(rr - ra)})
    mean_reps = np.mean([degradation[("rwkv", d)][2] - degradation[("attn", d)][2]
                         for d in ["captions", "forums"]], axis=0)
    differences.append({
        "domain": None,
        "rwkv": np.mean([degradation[("rwkv", d)][1] for d in ["captions", "forums"]]),
        "attn": np.mean([degradation[("attn", d)][1] for d in ["captions", "forums"]]),
        "difference": float(np.mean([x["difference"] for x in differences])),
        "ci": ci(mean_reps),
    })
    out = {
        "generator": "scripts/make_compare_goldens.py",
        "confidence": LEVEL,
        "layers": LAYERS,
        "groups": [{k: g[k] for k in ["task", "domain", "gold", "sims", "resamples"]} for g in groups],
        "chosen_layer": chosen,
        "degradations": [{"model": m, "domain": d, "spearman": v[0], "degradation": v[1],
                          "ci": ci(v[2])} for (m, d), v in degradation.items()],
        "differences": [{k: (float(v) if isinstance(v, np.floating) else v) for k, v in x.items()}
                        for x in differences],
    }
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: chosen layers {chosen}")
    for x in differences:
        print(x["domain"] or "mean", round(x["difference"], 3), [round(c, 3) for c in x["ci"]])


if __name__ == "__main__":
    main()
