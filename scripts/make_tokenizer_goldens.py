#!/usr/bin/env python3
"""Golden token ids for the tokenizer tests (tests/it/tokenizer.rs).

Writes, under tests/fixtures/tokenizer/:
  world_goldens.json   text -> ids from the official pure-Python RWKV World tokenizer
                       (rwkv.rwkv_tokenizer.TRIE_TOKENIZER, rwkv==0.8.32), plus a few raw
                       byte strings (hex) that are not valid UTF-8 -> ids from encodeBytes.
  tiny_bpe.json        a hand-built Hugging Face tokenizer.json (BPE, whitespace split)
  tiny_bpe_goldens.json text -> ids from the Python `tokenizers` package on tiny_bpe.json

Usage: python3 scripts/make_tokenizer_goldens.py   (needs `pip install rwkv tokenizers`)
"""
import json
import os
import random

import rwkv
from rwkv.rwkv_tokenizer import TRIE_TOKENIZER

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "tokenizer")

EDGE_CASES = [
    "Hello world",
    " Hello",
    "The quick brown fox jumps over the lazy dog.",
    "👋🌍",
    "👨‍👩‍👧‍👦 family (ZWJ sequence)",
    "🏳️‍🌈 and 🇫🇷🇯🇵🇺🇸 flags",
    "👍🏻👍🏼👍🏽👍🏾👍🏿 skin tones",
    "line one\r\nline two\r\n",
    "\r\n\r\n\n\r",
    "nul\x00inside\x00\x00",
    "\x00",
    "zero\u200bwidth\u200djoiner\u200c\ufeff",
    " " * 300,
    "\t\tindented\twith\ttabs\t",
    "中文分词测试：你好，世界！",
    "日本語のテキストとカタカナ、ひらがな。",
    "한국어 문장입니다.",
    "مرحبا بالعالم، هذا نص عربي.",
    "नमस्ते दुनिया, यह देवनागरी है।",
    "Привет, мир! Съешь же ещё этих мягких французских булок.",
    "Ελληνικά γράμματα αβγδ",
    "mixed 中文 English русский عربي हिन्दी 123",
    "<|endoftext|>",
    "<s>",
    "</s><pad>[CLS]",
    "Pneumonoultramicroscopicsilicovolcanoconiosis",
    "supercalifragilisticexpialidocious" * 4,
    "0123456789",
    "3.14159265358979323846 1,000,000 -42 1e-9 0x1F",
    "2024-03-28T12:34:56Z",
    "\u00e9 vs e\u0301 (NFC vs NFD)",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕄𝕒𝕥𝕙 ∑∫∂√∞",
    "a",
    " ",
    "\n",
    "#" * 100,
    "-" * 200,
    "def f(x):\n    return x ** 2  # comment\n",
    "<html><body class=\"x\">&amp;</body></html>",
    "\U0010ffff\ufffd\u0080\u07ff\u0800",
]

# Byte strings that are not valid UTF-8 (hex), encoded with encodeBytes.
BYTE_CASES = [
    "ff",
    "80",
    "c3",
    "e4b8",
    "f09f98",
    "fffefd00",
    "48656c6c6fff776f726c64",
    "c0af",
    "eda080",
]

# Code point ranges the random strings draw from (inclusive).
SCRIPTS = [
    (0x20, 0x7E),  # ASCII
    (0x00, 0x1F),  # controls
    (0xA0, 0x24F),  # Latin-1, Latin extended
    (0x370, 0x3FF),  # Greek
    (0x400, 0x4FF),  # Cyrillic
    (0x590, 0x5FF),  # Hebrew
    (0x600, 0x6FF),  # Arabic
    (0x900, 0x97F),  # Devanagari
    (0xE00, 0xE7F),  # Thai
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x4E00, 0x9FFF),  # CJK
    (0xAC00, 0xD7A3),  # Hangul
    (0x1F300, 0x1FAFF),  # emoji
    (0x2000, 0x206F),  # punctuation incl. ZWJ, ZWNJ
]
WORDS = ["the", " the", "and", " of", "ing", "tion", " 12", "  ", "\n", "。", "的", " это", "ال"]


def random_text(rng):
    parts = []
    for _ in range(rng.randint(1, 12)):
        if rng.random() < 0.3:
            parts.append(rng.choice(WORDS))
            continue
        lo, hi = rng.choice(SCRIPTS)
        parts.append("".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 8))))
    return "".join(parts)


def world_goldens():
    vocab = os.path.join(os.path.dirname(rwkv.__file__), "rwkv_vocab_v20230424.txt")
    tok = TRIE_TOKENIZER(vocab)
    rng = random.Random(20240424)
    texts = EDGE_CASES + [random_text(rng) for _ in range(300)]
    cases = []
    for text in texts:
        ids = tok.encode(text)
        assert tok.decodeBytes(ids) == text.encode("utf-8")
        cases.append({"text": text, "ids": ids})
    for hexs in BYTE_CASES:
        cases.append({"bytes_hex": hexs, "ids": tok.encodeBytes(bytes.fromhex(hexs))})
    return {"source": "rwkv==0.8.32 rwkv_tokenizer.TRIE_TOKENIZER", "cases": cases}


def tiny_bpe():
    """A BPE over a small alphabet with a handful of merges; unknown chars -> [UNK]."""
    alphabet = list("abcdefghijklmnopqrstuvwxyz.,!?")
    merges = [("t", "h"), ("th", "e"), ("i", "n"), ("in", "g"), ("e", "r"), ("o", "n"), ("a", "n"), ("an", "d")]
    vocab = {"[UNK]": 0}
    for sym in alphabet + ["".join(m) for m in merges]:
        vocab.setdefault(sym, len(vocab))
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": 0, "content": "[UNK]", "single_word": False, "lstrip": False,
             "rstrip": False, "normalized": False, "special": True}
        ],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None,
        "decoder": None,
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": "[UNK]",
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": [f"{a} {b}" for a, b in merges],
        },
    }


def bpe_goldens(path):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(path)
    texts = ["the thing", "And then the ring!", "Hello, World?", "inner thunder", "x1 ∑ é", "  spaced   out  "]
    cases = [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in texts]
    return {"source": "tokenizers (Python) on tiny_bpe.json", "cases": cases}


def write_cases(path, doc):
    """One case per line, so that diffs stay readable."""
    lines = [json.dumps(c, ensure_ascii=False) for c in doc["cases"]]
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"source": %s, "cases": [\n' % json.dumps(doc["source"]))
        f.write(",\n".join(lines))
        f.write("\n]}\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    write_cases(os.path.join(OUT, "world_goldens.json"), world_goldens())
    bpe_path = os.path.join(OUT, "tiny_bpe.json")
    with open(bpe_path, "w", encoding="utf-8") as f:
        json.dump(tiny_bpe(), f, ensure_ascii=False, indent=1)
    write_cases(os.path.join(OUT, "tiny_bpe_goldens.json"), bpe_goldens(bpe_path))


if __name__ == "__main__":
    main()
