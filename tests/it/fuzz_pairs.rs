//! Fuzzing the data-file parser (`data::pairs::parse_pairs`: TSV, CSV, JSON lines)
//! with proptest: 2000 cases per property, or `PROPTEST_CASES` (the long run,
//! `make fuzz-long`, uses 10,000+).
//!
//! Properties: arbitrary text never panics, and an accepted file only holds pairs
//! with non-blank sentences and finite gold values (0/1 when binary), while a refused
//! one gets a single line naming the file; well-formed files round-trip exactly; one
//! corrupted row is refused with its own line number and the expected message.

use crate::common::fuzz::config;
use proptest::prelude::*;
use rwkv_lens::data::pairs::parse_pairs;
use rwkv_lens::data::Pair;

const EXTS: [&str; 3] = ["tsv", "csv", "jsonl"];

/// Text dense in the characters the three formats care about, after an optional header.
fn hostile_text() -> impl Strategy<Value = String> {
    let header = prop_oneof![
        Just(String::new()),
        Just("sentence1\tsentence2\tscore\tdomain\n".to_string()),
        Just("sentence1\tsentence2\tlabel\n".to_string()),
        Just("sentence1,sentence2,score,subset\n".to_string()),
        Just("sentence1,sentence2,label\r\n".to_string()),
    ];
    let body = prop_oneof![
        "[\t,\"\n\r a-c0-9{}:.eE+\\-\\[\\]]{0,160}",
        any::<String>(),
        r#"(\{"sentence1": ?"[a-z ]{0,4}", ?"sentence2": ?"[a-z]{0,3}", ?"(score|label)": ?(-?[0-9.e]{1,5}|true|null|"x")\}\n){0,4}"#,
    ];
    (header, body).prop_map(|(h, b)| h + &b)
}

/// A well-formed pair: sentences without tabs or line breaks, a finite score.
fn pair() -> impl Strategy<Value = Pair> {
    let text = "[a-zA-Z0-9 ,.\"'!?é中-]{0,20}[a-z]";
    let gold = prop_oneof![-1e6f64..1e6, Just(0.0), Just(5.0), any::<f64>()]
        .prop_filter("finite", |g| g.is_finite());
    (text, text, gold, "[a-z]{1,6}", "[a-z]{1,6}").prop_map(|(s1, s2, gold, subset, domain)| Pair {
        s1,
        s2,
        gold,
        subset,
        domain,
    })
}

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// One file of `ext` holding `pairs` (header row for TSV and CSV).
fn render(ext: &str, pairs: &[Pair]) -> String {
    let mut out = match ext {
        "tsv" => "sentence1\tsentence2\tscore\tsubset\tdomain\n".to_string(),
        "csv" => "sentence1,sentence2,score,subset,domain\r\n".to_string(),
        _ => String::new(),
    };
    for p in pairs {
        let line = match ext {
            "tsv" => format!(
                "{}\t{}\t{}\t{}\t{}\n",
                p.s1, p.s2, p.gold, p.subset, p.domain
            ),
            "csv" => format!(
                "{},{},{},{},{}\r\n",
                csv_field(&p.s1),
                csv_field(&p.s2),
                p.gold,
                p.subset,
                p.domain
            ),
            _ => {
                serde_json::json!({
                    "sentence1": p.s1, "sentence2": p.s2, "score": p.gold,
                    "subset": p.subset, "domain": p.domain,
                })
                .to_string()
                    + "\n"
            }
        };
        out.push_str(&line);
    }
    out
}

/// How one row is broken, and the message that must name it.
#[derive(Debug, Clone, Copy)]
enum Damage {
    DropScore,
    NonNumericScore,
    EmptySentence,
}

fn damage(ext: &str, line: &str, how: Damage) -> (String, &'static str) {
    match (ext, how) {
        ("jsonl", Damage::DropScore) => {
            let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
            v.as_object_mut().unwrap().remove("score");
            (v.to_string(), "needs exactly one of `score` or `label`")
        }
        ("jsonl", Damage::NonNumericScore) => {
            let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
            v["score"] = "n/a".into();
            (v.to_string(), "`score` = \"n/a\" is not a number")
        }
        ("jsonl", Damage::EmptySentence) => {
            let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
            v["sentence2"] = " ".into();
            (v.to_string(), "empty sentence in `sentence2`")
        }
        (_, Damage::DropScore) => {
            let sep = if ext == "tsv" { "\t" } else { "," };
            let fields: Vec<&str> = line.split(sep).collect();
            // keeps sentence1 and sentence2 only (CSV fields here hold no separator)
            (
                fields[..2].join(sep),
                "missing column `score/label` (row has 2 fields)",
            )
        }
        (_, Damage::NonNumericScore) => {
            let sep = if ext == "tsv" { "\t" } else { "," };
            let mut fields: Vec<String> = line.split(sep).map(String::from).collect();
            fields[2] = "n/a".into();
            (fields.join(sep), "`score` = `n/a` is not a number")
        }
        (_, Damage::EmptySentence) => {
            let sep = if ext == "tsv" { "\t" } else { "," };
            let mut fields: Vec<String> = line.split(sep).map(String::from).collect();
            fields[0] = "  ".into();
            (fields.join(sep), "empty sentence in `sentence1`")
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_never_panics_and_accepts_only_clean_pairs(text in hostile_text(), e in 0usize..3) {
        let ext = EXTS[e];
        let name = format!("fuzz.{ext}");
        match parse_pairs(&name, ext, &text) {
            Ok((pairs, binary)) => {
                for p in &pairs {
                    prop_assert!(!p.s1.trim().is_empty() && !p.s2.trim().is_empty());
                    prop_assert!(p.gold.is_finite());
                    prop_assert!(!binary || p.gold == 0.0 || p.gold == 1.0);
                }
            }
            Err(err) => {
                let msg = err.to_string();
                prop_assert!(msg.starts_with(&name), "{}", msg);
                prop_assert!(!msg.contains('\n'), "{}", msg);
            }
        }
    }

    #[test]
    fn well_formed_files_round_trip(pairs in prop::collection::vec(pair(), 1..12), e in 0usize..3) {
        let ext = EXTS[e];
        let (back, binary) = parse_pairs("ok", ext, &render(ext, &pairs)).unwrap();
        prop_assert!(!binary);
        prop_assert_eq!(back, pairs);
    }

    #[test]
    fn one_bad_row_is_named(
        pairs in prop::collection::vec(pair(), 1..12),
        which in any::<prop::sample::Index>(),
        how in prop_oneof![Just(Damage::DropScore), Just(Damage::NonNumericScore), Just(Damage::EmptySentence)],
        e in 0usize..3,
    ) {
        let ext = EXTS[e];
        // CSV fields without commas or quotes, so that splitting the line is exact
        let pairs: Vec<Pair> = pairs.into_iter().map(|mut p| {
            if ext == "csv" {
                p.s1 = p.s1.replace([',', '"'], ";");
                p.s2 = p.s2.replace([',', '"'], ";");
            }
            p
        }).collect();
        let mut text = render(ext, &pairs).replace("\r\n", "\n");
        if ext == "csv" {
            text = text.replace('"', ""); // no field needs quoting any more
        }
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let header = usize::from(ext != "jsonl");
        let k = header + which.index(pairs.len());
        let (bad, why) = damage(ext, &lines[k], how);
        lines[k] = bad;
        let err = parse_pairs("bad", ext, &(lines.join("\n") + "\n")).unwrap_err().to_string();
        prop_assert_eq!(err, format!("bad:{}: {why}", k + 1));
    }
}

#[test]
fn damage_examples() {
    // the generators above at work on fixed rows, so a broken generator shows here
    let pairs = vec![Pair {
        s1: "a b".into(),
        s2: "c".into(),
        gold: 2.5,
        subset: "s".into(),
        domain: "d".into(),
    }];
    assert_eq!(
        render("tsv", &pairs),
        "sentence1\tsentence2\tscore\tsubset\tdomain\na b\tc\t2.5\ts\td\n"
    );
    let (line, why) = damage("tsv", "a b\tc\t2.5\ts\td", Damage::NonNumericScore);
    assert_eq!(line, "a b\tc\tn/a\ts\td");
    let err = parse_pairs(
        "f.tsv",
        "tsv",
        &format!("sentence1\tsentence2\tscore\n{line}\n"),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(err, format!("f.tsv:2: {why}"));
}
