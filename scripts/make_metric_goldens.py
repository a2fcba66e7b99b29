#!/usr/bin/env python3
"""Golden values for the study's metrics, computed with scipy / scikit-learn / numpy.

Writes tests/fixtures/study/metric_goldens.json, read by tests/it/study_metrics.rs and
tests/it/study_glove.rs:

- `cases`: small inputs (ties, binary labels, negative values) with scipy's average
  ranks, Spearman and Pearson, and for binary labels sklearn's ROC-AUC and the best
  accuracy / F1 over thresholds "score >= t" (t = +inf or a distinct score; among
  equal maxima the highest t), all from the libraries, not from our formulas.
- `bootstrap`: percentile CIs of Spearman from the same SplitMix64 resampling as
  src/study/bootstrap.rs (ported below), each resample materialised and passed to
  scipy.stats.spearmanr, percentiles by numpy (linear).
- `glove`: the GloVe 6B 50d baseline end to end on MRPC and STS-B, with a Python port
  of the tokenization documented in src/glove.rs and numpy for the averages.

Usage: pip install numpy scipy scikit-learn
       python3 scripts/make_metric_goldens.py [--data-dir ../shared/data]
"""

import argparse
import gzip
import json
import math
import os

import numpy as np
from scipy.stats import pearsonr, rankdata, spearmanr
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "study", "metric_goldens.json")
MASK = (1 << 64) - 1


# ---------------------------------------------------------------- small cases
def cases():
    rng = np.random.RandomState(7)
    out = [
        ("hand_ties", [0.3, 0.1, 0.3, 0.9, 0.5, 0.5, 0.2, 0.8], [1, 0, 2, 5, 3, 3, 1, 4], False),
        ("binary_ties", [0.9, 0.5, 0.5, 0.1, 0.7, 0.7, 0.2, 0.6], [1, 1, 0, 0, 1, 0, 0, 1], True),
        ("negative", [-0.2, -0.5, 0.1, 0.0, -0.5, 0.3], [0.0, 1.2, 2.0, 2.0, 3.5, 5.0], False),
    ]
    x = np.round(rng.rand(60), 2)  # rounding creates ties
    y = np.round(x * 3 + rng.randn(60), 1)
    out.append(("random_60", x.tolist(), y.tolist(), False))
    s = np.round(rng.rand(80), 2)
    lab = (s + rng.randn(80) * 0.3 > 0.5).astype(int)
    out.append(("random_binary_80", s.tolist(), lab.tolist(), True))
    return [case(*c) for c in out]


def best_threshold(scores, labels, metric):
    best = None
    for t in [math.inf] + sorted(set(scores), reverse=True):
        pred = [1 if s >= t else 0 for s in scores]
        v = metric(labels, pred)
        if best is None or v > best[0]:
            best = (v, None if t == math.inf else t)
    return {"value": best[0] * 100, "threshold": best[1]}


def case(name, x, y, binary):
    c = {
        "name": name,
        "x": x,
        "y": [float(v) for v in y],
        "binary": binary,
        "ranks_x": rankdata(x, method="average").tolist(),
        "spearman": spearmanr(x, y).correlation * 100,
        "pearson": pearsonr(x, y)[0] * 100,
    }
    if binary:
        c["roc_auc"] = roc_auc_score(y, x) * 100
        c["best_accuracy"] = best_threshold(x, y, accuracy_score)
        c["best_f1"] = best_threshold(x, y, lambda a, b: f1_score(a, b, zero_division=0))
    return c


# ------------------------------------------------------------------ bootstrap
def splitmix(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def resample(seed, r, n):
    _, state = splitmix((seed ^ ((r * 0xD1B54A32D192ED03) & MASK)) & MASK)
    idx = []
    for _ in range(n):
        state, z = splitmix(state)
        idx.append((z * n) >> 64)
    return idx


def bootstrap_case(x, y, reps, seed):
    x, y = np.array(x), np.array(y)
    stats = []
    for r in range(reps):
        i = resample(seed, r, len(x))
        rho = spearmanr(x[i], y[i]).correlation
        if not math.isnan(rho):
            stats.append(rho * 100)
    return {"x": x.tolist(), "y": y.tolist(), "reps": reps, "seed": seed,
            "ci": [float(np.percentile(stats, 2.5)), float(np.percentile(stats, 97.5))],
            "defined": len(stats)}


# ---------------------------------------------------------------------- GloVe
CLITICS = ["n't", "'s", "'re", "'ve", "'ll", "'d", "'m"]


def split_chunk(w, vec, out):
    if not w:
        return
    if w in vec:
        out.append(w)
        return
    if len(w) > 1 and not w[0].isalnum():
        out.append(w[0])
        return split_chunk(w[1:], vec, out)
    if len(w) > 1 and not w[-1].isalnum():
        split_chunk(w[:-1], vec, out)
        out.append(w[-1])
        return
    for c in CLITICS:
        if len(w) > len(c) and w.endswith(c):
            split_chunk(w[: -len(c)], vec, out)
            out.append(c)
            return
    for i, ch in enumerate(w):
        if not ch.isalnum():
            split_chunk(w[:i], vec, out)
            out.append(ch)
            return split_chunk(w[i + 1:], vec, out)
    out.append(w)


def tokenize(s, vec):
    for a, b in (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"')):
        s = s.replace(a, b)
    out = []
    for chunk in s.lower().split():
        split_chunk(chunk, vec, out)
    return out


def tsv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        lines = f.read().split("\n")
    return [l.rstrip("\r").split("\t") for l in lines[1:] if l.strip()]


def glove_scores(data_dir):
    vec = {}
    with gzip.open(os.path.join(data_dir, "glove/glove.6B.50d.txt.gz"), "rt", encoding="utf-8") as f:
        for line in f:
            w, rest = line.rstrip().split(" ", 1)
            vec[w] = np.array(rest.split(" "), dtype=np.float32)
    mrpc = lambda f: [(float(r[0]), r[3], r[4]) for r in tsv(os.path.join(data_dir, "mrpc", f))]
    tasks = {
        "mrpc:glue-validation": mrpc("glue/dev.tsv"),
        "mrpc:glue-train@1000+glue-validation": mrpc("glue/train.tsv")[:1000] + mrpc("glue/dev.tsv"),
        "mrpc:test": mrpc("msr_paraphrase_test.txt"),
        "stsb:test": [(float(r[4]), r[5], r[6]) for r in tsv(os.path.join(data_dir, "stsb/stsb-test.tsv"))],
    }
    out = {}
    for name, pairs in tasks.items():
        def emb(s):
            toks = tokenize(s, vec)
            known = [vec[t] for t in toks if t in vec]
            return np.mean(np.array(known, dtype=np.float64), axis=0), len(toks), len(known)
        sims, tokens, known = [], 0, 0
        for _, a, b in pairs:
            (va, ta, ka), (vb, tb, kb) = emb(a), emb(b)
            sims.append(float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb))))
        gold = [g for g, _, _ in pairs]
        out[name] = {"pairs": len(pairs), "spearman": spearmanr(sims, gold).correlation * 100,
                     "pearson": pearsonr(sims, gold)[0] * 100}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=os.path.join(ROOT, "..", "shared", "data"))
    args = ap.parse_args()
    goldens = {"cases": cases()}
    rng = np.random.RandomState(11)
    bx = np.round(rng.rand(40), 2)
    by = np.round(bx + rng.randn(40) * 0.4, 1)
    goldens["bootstrap"] = [bootstrap_case(bx.tolist(), by.tolist(), 300, 20250220),
                            bootstrap_case([0.1, 0.4, 0.4, 0.9, 0.3], [0, 1, 1, 3, 2], 200, 5)]
    if os.path.isdir(args.data_dir):
        goldens["glove"] = glove_scores(args.data_dir)
    else:
        print(f"no data dir at {args.data_dir}: GloVe goldens skipped")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(goldens, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
