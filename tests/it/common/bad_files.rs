//! The broken files of `tests/it/errors.rs`, one per bad-input class of `docs/errors.md`,
//! built from the fixtures into a scratch directory.

use std::path::Path;

use super::fixture;
use rwkv_lens::model::checkpoint::{read_safetensors, write_safetensors};
use rwkv_lens::model::quant::{quantize_tensor, QuantFormat};
use rwkv_lens::model::random::{random_tensors, RandomSpec};
use rwkv_lens::model::{DType, Tensor};

/// Writes every scratch file into `dir`: the good model, tokenizer and pair file, and
/// the broken ones.
pub fn write_all(dir: &Path) {
    checkpoints(dir);
    data_files(dir);
}

/// The tiny model's tensors, edited by `f`, written as safetensors bytes.
fn edited(f: impl FnOnce(&mut Vec<(String, Tensor)>)) -> Vec<u8> {
    let bytes = std::fs::read(fixture("tiny-v6/model.safetensors")).unwrap();
    let mut tensors = read_safetensors("fixture", &bytes).unwrap();
    f(&mut tensors);
    write_safetensors(&tensors).unwrap()
}

fn tensor<'a>(t: &'a mut [(String, Tensor)], name: &str) -> &'a mut Tensor {
    &mut t.iter_mut().find(|(n, _)| n == name).unwrap().1
}

fn set_f32(t: &mut Tensor, index: usize, v: f32) {
    t.bytes[index * 4..index * 4 + 4].copy_from_slice(&v.to_le_bytes());
}

/// Safetensors `bytes` with their header edited as JSON by `f`.
fn with_header(bytes: &[u8], f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    f(&mut header);
    let json = serde_json::to_vec(&header).unwrap();
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend(json);
    out.extend(&bytes[8 + n..]);
    out
}

/// The tiny model with its safetensors header edited as JSON by `f`.
fn header_edited(f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    with_header(
        &std::fs::read(fixture("tiny-v6/model.safetensors")).unwrap(),
        f,
    )
}

/// Writes scratch files by name.
fn writer(dir: &Path) -> impl Fn(&str, &[u8]) + '_ {
    move |name, bytes| std::fs::write(dir.join(name), bytes).unwrap()
}

/// Checkpoints of the wrong kind, shape or content.
fn checkpoints(dir: &Path) {
    let model = std::fs::read(fixture("tiny-v6/model.safetensors")).unwrap();
    let write = writer(dir);
    write("model.safetensors", &model);
    write("truncated.safetensors", &model[..model.len() / 2]);
    write("corrupt.safetensors", b"this is not a checkpoint at all\n");
    let no_maa_x = edited(|t| t.retain(|(n, _)| !n.contains("time_maa_x")));
    write("rwkv5.safetensors", &no_maa_x);
    let w0 = Tensor::from_f32(vec![1, 1, 128], &[0.0; 128]);
    write(
        "rwkv7.safetensors",
        &edited(|t| t.push(("blocks.0.att.w0".into(), w0))),
    );
    let other = [(
        "encoder.weight".into(),
        Tensor::from_f32(vec![2], &[1.0, 2.0]),
    )];
    write("other.safetensors", &write_safetensors(&other).unwrap());
    let reshaped = edited(|t| tensor(t, "blocks.1.ffn.key.weight").shape = vec![224, 256]);
    write("shape.safetensors", &reshaped);
    let no_key = edited(|t| t.retain(|(n, _)| n != "blocks.1.att.key.weight"));
    write("no-key.safetensors", &no_key);
    let nan = edited(|t| set_f32(tensor(t, "blocks.1.att.receptance.weight"), 10, f32::NAN));
    write("nan.safetensors", &nan);
    let inf = edited(|t| set_f32(tensor(t, "blocks.2.ln2.weight"), 3, f32::NEG_INFINITY));
    write("inf.safetensors", &inf);
    write("overflow.safetensors", &overflow());
    // shapes the GPU kernels refuse: a head size, and a matrix's inner dimension (F), not
    // a multiple of 4
    let odd = |head_size, ffn_dim| {
        let spec = RandomSpec {
            n_layer: 1,
            vocab_size: 512,
            head_size,
            ffn_dim,
            ..RandomSpec::tiny(1)
        };
        write_safetensors(&random_tensors(&spec).unwrap()).unwrap()
    };
    write("head-size-2.safetensors", &odd(2, 448));
    write("ffn-450.safetensors", &odd(64, 450));
    let index = r#"{"weight_map": {"emb.weight": "model-00001-of-00002.safetensors"}}"#;
    write("sharded.safetensors.index.json", index.as_bytes());
    for pth in [
        "truncated.pth",
        "malicious_eval.pth",
        "malicious_system.pth",
    ] {
        std::fs::copy(fixture(&format!("pth/{pth}")), dir.join(pth)).unwrap();
    }
    write("text.pth", b"not a zip archive\n");
    header_lies(dir, &model);
    encoders(dir);
    quantized_lies(dir);
}

/// Copies of the tiny BERT, GPT-2 and Llama directories, each with one thing wrong: a text
/// replaced in `config.json`, or a tensor dropped.
fn encoders(dir: &Path) {
    let drop_key = "encoder.layer.1.attention.self.key.weight";
    for (name, from, config_edit, drop) in [
        (
            "roberta",
            "tiny-bert",
            Some((r#""model_type": "bert""#, r#""model_type": "roberta""#)),
            None,
        ),
        ("bert-no-key", "tiny-bert", None, Some(drop_key)),
        (
            "gpt2-inner",
            "tiny-gpt2",
            Some((r#""n_inner": null"#, r#""n_inner": 128"#)),
            None,
        ),
        (
            "gpt2-layer-scaled",
            "tiny-gpt2",
            Some((
                r#""scale_attn_by_inverse_layer_idx": false"#,
                r#""scale_attn_by_inverse_layer_idx": true"#,
            )),
            None,
        ),
        (
            "llama-kv-heads",
            "tiny-llama",
            Some((r#""num_key_value_heads": 2"#, r#""num_key_value_heads": 3"#)),
            None,
        ),
        (
            "llama-rope-yarn",
            "tiny-llama",
            Some((r#""rope_type": "default""#, r#""rope_type": "yarn""#)),
            None,
        ),
    ] {
        let to = dir.join(name);
        std::fs::create_dir_all(&to).unwrap();
        for file in ["config.json", "model.safetensors", "tokenizer.json"] {
            std::fs::copy(fixture(&format!("{from}/{file}")), to.join(file)).unwrap();
        }
        if let Some((old, new)) = config_edit {
            let config = std::fs::read_to_string(to.join("config.json")).unwrap();
            assert!(config.contains(old), "{from}/config.json has no {old}");
            std::fs::write(to.join("config.json"), config.replace(old, new)).unwrap();
        }
        if let Some(tensor) = drop {
            let bytes = std::fs::read(to.join("model.safetensors")).unwrap();
            let mut t = read_safetensors("fixture", &bytes).unwrap();
            t.retain(|(n, _)| n != tensor);
            std::fs::write(to.join("model.safetensors"), write_safetensors(&t).unwrap()).unwrap();
        }
    }
}

/// The tiny model quantized to int8, with its scales or metadata damaged.
fn quantized_lies(dir: &Path) {
    let quantized = || {
        edited(|t| {
            for (name, w) in t.iter_mut() {
                *w = quantize_tensor(name, w, QuantFormat::Int8).unwrap();
            }
        })
    };
    let bytes = quantized();
    let key = "quant.blocks.1.att.key.weight";
    let shape = with_header(&bytes, |h| {
        h["__metadata__"][key] = r#"{"format":"int8","shape":[128,256],"group_size":64}"#.into()
    });
    writer(dir)("quant-shape.safetensors", &shape);
    let meta = with_header(&bytes, |h| {
        h["__metadata__"][key] = r#"{"format":"int3"}"#.into()
    });
    writer(dir)("quant-meta.safetensors", &meta);
    // the first scale of blocks.0.att.gate.weight (after its row's 32 code words): −1
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let gate = st
        .tensor("blocks.0.att.gate.weight")
        .unwrap()
        .data()
        .as_ptr() as usize;
    let at = gate - bytes.as_ptr() as usize + 4 * 32;
    let mut scale = bytes.clone();
    scale[at..at + 4].copy_from_slice(&(-1.0f32).to_le_bytes());
    writer(dir)("quant-scale.safetensors", &scale);
}

/// Safetensors headers that lie: dtype, a size, an offset, the header length.
fn header_lies(dir: &Path, model: &[u8]) {
    let write = writer(dir);
    let int = header_edited(|h| h["blocks.0.att.gate.weight"]["dtype"] = "I32".into());
    write("int.safetensors", &int);
    let size = header_edited(|h| {
        h["blocks.0.att.time_faaaa"]["data_offsets"][1] = 329732.into(); // 4 bytes too many
    });
    write("size-lie.safetensors", &size);
    let offset = header_edited(|h| {
        // a consistent range, but past the end of the data
        h["head.weight"]["data_offsets"] = serde_json::json!([3_794_944, 4_057_088]);
    });
    write("offset-lie.safetensors", &offset);
    let mut length = model.to_vec();
    length[..8].copy_from_slice(&(model.len() as u64).to_le_bytes());
    write("length-lie.safetensors", &length);
}

/// The tiny model with one matrix scaled by 3e38: finite weights, infinite activations.
fn overflow() -> Vec<u8> {
    edited(|t| {
        let w = tensor(t, "blocks.2.ffn.value.weight");
        assert_eq!(w.dtype, DType::F32);
        for b in w.bytes.chunks_exact_mut(4) {
            let v = f32::from_le_bytes(b.try_into().unwrap()) * 3e38;
            b.copy_from_slice(&v.to_le_bytes());
        }
    })
}

fn data_files(dir: &Path) {
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    std::fs::copy(fixture("study/tiny.tsv"), dir.join("pairs.tsv")).unwrap();
    std::fs::copy(fixture("tokenizer/tiny_bpe.json"), dir.join("tok.json")).unwrap();
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    std::fs::create_dir_all(dir.join("folder.tsv")).unwrap();
    std::fs::write(
        dir.join("latin1.tsv"),
        b"sentence1\tsentence2\tscore\ncaf\xe9\tcafe\t5\n",
    )
    .unwrap();
    write("pairs.xlsx", "PK");
    write(
        "columns.tsv",
        "sentence1\tsentence2\tscore\nthe cat\ta cat\t4\nthe dog\ta dog\n",
    );
    write(
        "columns.csv",
        "sentence1,sentence2,score\nthe cat,a cat,4,extra\nthe dog\n",
    );
    write(
        "score.tsv",
        "sentence1\tsentence2\tscore\nthe cat\ta cat\tfour\n",
    );
    write(
        "score.jsonl",
        "{\"sentence1\": \"the cat\", \"sentence2\": \"a cat\", \"score\": \"4\"}\n",
    );
    write(
        "label.csv",
        "sentence1,sentence2,label\nthe cat,a cat,1\nthe dog,a dog,yes\n",
    );
    write(
        "sentence.tsv",
        "sentence1\tsentence2\tscore\nthe cat\ta cat\t4\n \ta dog\t3\n",
    );
    write(
        "sentence.jsonl",
        "{\"sentence1\": \"the cat\", \"sentence2\": \"\", \"score\": 4}\n",
    );
    write(
        "json.jsonl",
        "{\"sentence1\": \"a\", \"sentence2\": \"b\", \"score\": 1}\n{\"sentence1\": \"a\",\n",
    );
    write(
        "quote.csv",
        "sentence1,sentence2,score\nthe cat,a cat,4\n\"the dog,a dog,3\n",
    );
    write(
        "header.tsv",
        "sentence1\tsentence2\tsimilarity\nthe cat\ta cat\t4\n",
    );
    write("empty.tsv", "");
    write("header-only.tsv", "sentence1\tsentence2\tscore\n");
    write("sentences.txt", "ab\nthe cat\n");
    write("blank-line.txt", "the cat\n\nthe dog\n");
    write("empty.txt", "");
    write(
        "a-only.json",
        r#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#,
    );
}
