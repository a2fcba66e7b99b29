#!/usr/bin/env python3
"""Builds assets/demo-data/: the data `make demo` needs, so that it runs offline on a
fresh clone (no ../shared, no network).

- mrpc/glue/dev.tsv      GLUE MRPC validation (408 pairs), byte-for-byte from DATA
- stsb/stsb-test.tsv     STS-B test (1379 pairs), byte-for-byte from DATA
- glove/glove.6B.50d.txt.gz  the GloVe 6B 50d lines of every word the GloVe
  tokenizer (src/glove.rs) could look up for these sentences, in file order
- the licenses shipped with MRPC and STS-B, and SOURCE.md

Usage: python3 scripts/make_demo_data.py --data ../shared/data --out assets/demo-data
"""
import argparse, gzip, hashlib, os, shutil

CLITICS = ["n't", "'s", "'re", "'ve", "'ll", "'d", "'m"]


def normalise(s):
    s = s.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return s.lower()


def split_chunk(w, seen):
    """Mirrors split_chunk with `known` always false: every string it visits or emits."""
    if not w:
        return
    seen.add(w)
    if len(w) > 1 and not w[0].isalnum():
        seen.add(w[0])
        return split_chunk(w[1:], seen)
    if len(w) > 1 and not w[-1].isalnum():
        split_chunk(w[:-1], seen)
        seen.add(w[-1])
        return
    for c in CLITICS:
        if len(w) > len(c) and w.endswith(c):
            split_chunk(w[: -len(c)], seen)
            seen.add(c)
            return
    for i, ch in enumerate(w):
        if not ch.isalnum():
            split_chunk(w[:i], seen)
            seen.add(ch)
            return split_chunk(w[i + 1 :], seen)


def sentences(path, cols):
    with open(path, encoding="utf-8-sig") as f:
        next(f)
        for line in f:
            fields = line.rstrip("\n").split("\t")
            for c in cols:
                yield fields[c]


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    files = {
        "mrpc/glue/dev.tsv": (3, 4),
        "stsb/stsb-test.tsv": (5, 6),
        "mrpc/LICENSE-MSR-SSLA.htm": None,
        "stsb/LICENSE.txt": None,
    }
    seen = set()
    for rel, cols in files.items():
        os.makedirs(os.path.dirname(os.path.join(a.out, rel)), exist_ok=True)
        shutil.copyfile(os.path.join(a.data, rel), os.path.join(a.out, rel))
        if cols:
            for s in sentences(os.path.join(a.data, rel), cols):
                for chunk in normalise(s).split():
                    split_chunk(chunk, seen)
    glove_out = os.path.join(a.out, "glove/glove.6B.50d.txt.gz")
    os.makedirs(os.path.dirname(glove_out), exist_ok=True)
    kept = 0
    with gzip.open(os.path.join(a.data, "glove/glove.6B.50d.txt.gz"), "rt", encoding="utf-8") as src, \
            gzip.GzipFile(glove_out, "wb", mtime=0) as raw:
        for line in src:
            if line.split(" ", 1)[0] in seen:
                raw.write(line.encode("utf-8"))
                kept += 1
    print(f"glove: kept {kept} of 400000 words; candidates {len(seen)}")
    for rel in list(files) + ["glove/glove.6B.50d.txt.gz"]:
        print(f"{sha256(os.path.join(a.out, rel))}  {rel}")


if __name__ == "__main__":
    main()
