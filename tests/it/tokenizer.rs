//! Tokenizer tests: exact ids against the official Python tokenizers, round trips and
//! robustness on arbitrary input (proptest; `PROPTEST_CASES` raises the case count).
//! Goldens come from `scripts/make_tokenizer_goldens.py`.

use proptest::prelude::*;
use rwkv_lens::tokenizer::{Tokenizer, WorldTokenizer};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tokenizer");

fn world() -> &'static WorldTokenizer {
    WorldTokenizer::shared().expect("embedded vocab parses")
}

fn cases(file: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{file}")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

fn ids(case: &serde_json::Value) -> Vec<u32> {
    let ids = case["ids"].as_array().unwrap();
    ids.iter().map(|v| v.as_u64().unwrap() as u32).collect()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Proptest cases: 2000 unless `PROPTEST_CASES` asks for another number.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    ProptestConfig::with_cases(cases)
}

#[test]
fn world_matches_official_python_ids() {
    let all = cases("world_goldens.json");
    assert!(all.len() > 300, "expected the full golden set");
    let mut checked = 0;
    for case in &all {
        let want = ids(case);
        let (got, shown) = match case["text"].as_str() {
            Some(text) => (world().encode(text), format!("{text:?}")),
            None => {
                let bytes = hex(case["bytes_hex"].as_str().unwrap());
                (world().encode_bytes(&bytes), format!("bytes {bytes:02x?}"))
            }
        };
        assert_eq!(got, want, "ids differ for {shown}");
        checked += 1;
    }
    assert_eq!(checked, all.len());
}

#[test]
fn world_known_ids_and_decode() {
    let w = world();
    // from the official tokenizer: "Hello world" -> [33155, 40213]
    assert_eq!(w.encode("Hello world"), vec![33155, 40213]);
    assert_eq!(w.decode(&[33155, 40213]), b"Hello world");
    // single bytes are ids 1..=256 (byte + 1)
    assert_eq!(w.encode_bytes(&[0x00, 0xff]), vec![1, 256]);
    assert_eq!(w.token_bytes(0), None);
    assert_eq!(w.token_bytes(65529), Some(&[b' '; 128][..]));
    assert_eq!(w.token_bytes(65530), None);
    // the text `<|endoftext|>` is plain text, never id 0
    assert!(!w.encode("<|endoftext|>").contains(&0));
    // ids without bytes decode to nothing
    assert_eq!(w.decode(&[0, 70000, 33155]), b"Hello");
    assert_eq!(w.vocab_size(), 65536);
}

#[test]
fn spec_world_and_empty_text() {
    let t = Tokenizer::from_spec("world").unwrap();
    assert_eq!(t.name(), "world");
    assert_eq!(t.encode("Hello world").unwrap(), vec![33155, 40213]);
    assert_eq!(t.decode(&[33155, 40213]).unwrap(), "Hello world");
    assert_eq!(t.encode("").unwrap_err().to_string(), "empty text");
    assert!(Tokenizer::from_spec(" World ").is_ok());
}

#[test]
fn hf_tokenizer_json_matches_python_tokenizers() {
    let path = format!("{FIXTURES}/tiny_bpe.json");
    let t = Tokenizer::from_spec(&path).unwrap();
    assert_eq!(t.name(), path);
    for case in cases("tiny_bpe_goldens.json") {
        let text = case["text"].as_str().unwrap();
        assert_eq!(
            t.encode(text).unwrap(),
            ids(&case),
            "ids differ for {text:?}"
        );
    }
    assert_eq!(t.encode("").unwrap_err().to_string(), "empty text");
    let e = t.encode("   ").unwrap_err().to_string();
    assert_eq!(e, "text produced no tokens");
}

#[test]
fn bad_tokenizer_json_is_one_line_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("rwkv-lens-tok-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, body) in [
        ("broken.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": "),
        ("wrong.json", "{\"hello\": 1}\n"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        let shown = path.display().to_string();
        let e = Tokenizer::from_spec(&shown).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{shown}: not a valid tokenizer.json")),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
    }
    let missing = dir.join("missing.json").display().to_string();
    let e = Tokenizer::from_spec(&missing).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{missing}: cannot read")), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Text made of pieces the vocab has many tokens for, to exercise long matches.
fn texty() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<char>().prop_map(String::from),
        Just(" the".to_string()),
        Just("ing".to_string()),
        Just("\r\n".to_string()),
        Just("中文".to_string()),
        Just("👨‍👩‍👧".to_string()),
        Just("    ".to_string()),
        "[a-zA-Z ]{1,12}",
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn world_round_trips_utf8(text in texty()) {
        let w = world();
        let ids = w.encode(&text);
        prop_assert_eq!(w.decode(&ids), text.as_bytes());
        prop_assert!(ids.iter().all(|&id| (1..=65529).contains(&id)));
        prop_assert!(ids.len() <= text.len());
    }

    #[test]
    fn world_round_trips_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let w = world();
        let ids = w.encode_bytes(&bytes);
        prop_assert_eq!(w.decode(&ids), bytes);
    }

    #[test]
    fn world_decode_never_panics(ids in proptest::collection::vec(any::<u32>(), 0..64)) {
        let w = world();
        let bytes = w.decode(&ids);
        let expected: usize = ids.iter().map(|&i| w.token_bytes(i).map_or(0, <[u8]>::len)).sum();
        prop_assert_eq!(bytes.len(), expected);
    }

    #[test]
    fn vocab_parser_never_panics(line in any::<String>(), literal in r#"b?['"]([ -~]|\\[xuUn][0-9a-f+]{0,4}){0,8}['"]?"#) {
        // the 256 single bytes, then one random line and one random literal
        let mut text: String = (0..=255u32).map(|b| format!("{} b'\\x{b:02x}' 1\n", b + 1)).collect();
        text.push_str(&line);
        text.push_str(&format!("\n300 {literal} 2\n"));
        if let Ok(t) = WorldTokenizer::from_vocab("fuzz", &text) {
            prop_assert_eq!(t.decode(&t.encode_bytes(b"ab\xff")), b"ab\xff");
        }
    }
}
