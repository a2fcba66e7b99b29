#!/usr/bin/env python3
"""Writes assets/data-index/: where each STS12-16 and SICK-R sentence pair comes from.

The Hugging Face Hub's MTEB copies of STS12-16 (`mteb/sts12-sts` ... `mteb/sts16-sts`)
and SICK-R (`mteb/sickr-sts`) hold the pairs and scores but not the source subset
(MSRpar, OnWN, headlines, ...) nor SICK's SemEval split, which the study's domains and
splits need. This index maps a key of each pair's text to its year, split, subset and
line (STS) or its split and pair_ID (SICK), in the order of the source files, so that
`rwkv-lens data fetch` can rebuild the study's layout from the MTEB copies. Only keys
(truncated SHA-256 of the normalised text) are stored, never the text.

Key: the first 12 hex digits of sha256(norm(s1) + "\\t" + norm(s2)), where norm keeps
only the ASCII letters and digits, lower-cased, so that a copy re-tokenised, re-cased or
re-spaced (SentEval's copies are) still finds its pair (src/data/provenance.rs
`pair_key` computes the same). The gold score is kept too: it tells apart pairs whose
text repeats within one file.

Usage: python3 scripts/make_data_index.py [DATA_DIR]   (default ../shared/data)
"""
import collections
import csv
import gzip
import hashlib
import os
import sys


def norm(s):
    return "".join(c for c in s.lower() if c.isascii() and c.isalnum())


def key(s1, s2):
    return hashlib.sha256((norm(s1) + "\t" + norm(s2)).encode("utf-8")).hexdigest()[:12]


def rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def write(out, header, body):
    # mtime=0: the same input gives the same bytes.
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(("\t".join(header) + "\n").encode())
        for r in body:
            f.write(("\t".join(r) + "\n").encode())
    print(f"{out}: {len(body)} rows")


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "assets", "data-index")
    os.makedirs(out, exist_ok=True)

    sts = rows(os.path.join(data, "sts12-16", "sts12-16.tsv"))
    head, body = sts[0], sts[1:]
    assert head[:5] == ["year", "split", "subset", "line", "score"], head
    index = [[key(r[5], r[6]), r[4], r[0], r[1], r[2], r[3]] for r in body]
    report_duplicates("sts12-16", index, lambda r: (r[2], r[3]))
    write(os.path.join(out, "sts12-16.tsv.gz"),
          ["key", "score", "year", "split", "subset", "line"], index)

    index = []
    for split, name in [("test", "SICK_test_annotated.txt"), ("train", "SICK_train.txt"),
                        ("trial", "SICK_trial.txt")]:
        r = rows(os.path.join(data, "sick", "semeval2014", name))
        assert r[0][:4] == ["pair_ID", "sentence_A", "sentence_B", "relatedness_score"], r[0]
        index += [[key(x[1], x[2]), x[3], split, x[0]] for x in r[1:]]
    report_duplicates("sickr", index, lambda r: ())
    write(os.path.join(out, "sickr.tsv.gz"), ["key", "score", "split", "pair_ID"], index)


def report_duplicates(name, index, group):
    """Pairs whose text repeats within one fetched file: matched in order of occurrence."""
    seen = collections.Counter((group(r), r[0]) for r in index)
    dup = sum(n - 1 for n in seen.values() if n > 1)
    same = collections.Counter((group(r), r[0], float(r[1])) for r in index)
    tie = sum(n - 1 for n in same.values() if n > 1)
    print(f"{name}: {dup} repeated keys within a fetched file, {tie} with the same score "
          "(matched in order of occurrence)")


if __name__ == "__main__":
    main()
