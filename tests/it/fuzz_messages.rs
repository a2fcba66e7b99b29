//! Fuzzing the error messages of the loaders (proptest; 2000 cases per property, or
//! `PROPTEST_CASES`): whatever a damaged checkpoint (safetensors or `.pth`) or
//! tokenizer.json holds, loading it either succeeds or fails with ONE line that starts
//! with the file's name. (`tests/it/pth.rs` and `tests/it/tokenizer.rs` fuzz the same loaders
//! for panics and invariants; this file checks what the user reads.)

use crate::common::fuzz::{config, mutate, mutation, tiny_checkpoint};
use proptest::prelude::*;
use proptest::sample::Index;
use rwkv_lens::model::pth::checkpoint_from_pth;
use rwkv_lens::model::Checkpoint;
use rwkv_lens::tokenizer::Tokenizer;

fn fixture(rel: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read(path).unwrap()
}

fn pointers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => m.iter().for_each(|(k, x)| {
            pointers(
                x,
                format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                out,
            )
        }),
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| pointers(x, format!("{at}/{i}"), out)),
        _ => {}
    }
    out.push(at);
}

/// A JSON value of the kinds a tokenizer.json holds, some of them of the wrong type.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{json, Value};
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        "[a-zA-Z_ ]{0,12}".prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
        Just(json!({"type": "BPE"})),
        Just(json!({"type": "Sequence", "decoders": [null]})),
        Just(json!([["a", "b"], ["c"]])),
    ]
}

fn one_line_naming(result_err: Option<String>, name: &str) -> Result<(), TestCaseError> {
    if let Some(msg) = result_err {
        prop_assert!(msg.starts_with(name), "does not name the file: {}", msg);
        prop_assert!(
            !msg.contains('\n') && !msg.contains('\r'),
            "several lines: {:?}",
            msg
        );
        prop_assert!(!msg.is_empty());
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn damaged_safetensors_get_one_line(m in mutation()) {
        let bytes = mutate(tiny_checkpoint(), &m);
        let err = Checkpoint::from_safetensors_bytes("bad.safetensors", &bytes).err();
        one_line_naming(err.map(|e| e.to_string()), "bad.safetensors")?;
    }

    #[test]
    fn damaged_safetensors_headers_get_one_line(m in mutation()) {
        // edits confined to the JSON header, where names, shapes and offsets live
        let bytes = tiny_checkpoint();
        let end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let mut damaged = mutate(bytes[..end].to_vec(), &(m.0.clone(), None));
        damaged.extend(&bytes[end..]);
        let err = Checkpoint::from_safetensors_bytes("bad.safetensors", &damaged).err();
        one_line_naming(err.map(|e| e.to_string()), "bad.safetensors")?;
    }

    #[test]
    fn damaged_pth_get_one_line(m in mutation()) {
        let bytes = mutate(fixture("pth/tiny_rwkv6.pth"), &m);
        let err = checkpoint_from_pth("bad.pth", &bytes).err();
        one_line_naming(err.map(|e| e.to_string()), "bad.pth")?;
    }

    #[test]
    fn tokenizer_json_with_wrong_values_gets_one_line(
        edits in prop::collection::vec((any::<Index>(), json_value()), 1..4),
    ) {
        // valid JSON, wrong content: values replaced anywhere in the document
        let mut doc: serde_json::Value =
            serde_json::from_slice(&fixture("tokenizer/tiny_bpe.json")).unwrap();
        for (at, value) in edits {
            let mut all = Vec::new();
            pointers(&doc, String::new(), &mut all);
            let p = &all[at.index(all.len())];
            match doc.pointer_mut(p) {
                Some(slot) => *slot = value,
                None => doc = value,
            }
        }
        let path = std::env::temp_dir().join(format!("rwkv-lens-fuzz-tokv-{}.json", std::process::id()));
        std::fs::write(&path, doc.to_string()).unwrap();
        let shown = path.display().to_string();
        let err = Tokenizer::from_spec(&shown).err();
        one_line_naming(err.map(|e| e.to_string()), &shown)?;
    }

    #[test]
    fn damaged_tokenizer_json_gets_one_line(m in mutation()) {
        let bytes = mutate(fixture("tokenizer/tiny_bpe.json"), &m);
        let path = std::env::temp_dir().join(format!("rwkv-lens-fuzz-tok-{}.json", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        let shown = path.display().to_string();
        let err = Tokenizer::from_spec(&shown).err();
        one_line_naming(err.map(|e| e.to_string()), &shown)?;
    }
}
