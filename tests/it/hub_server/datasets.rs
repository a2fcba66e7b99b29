//! Files in the hub's dataset schemas for the loopback hub: MTEB-style gzipped JSON lines,
//! GLUE-style parquet, and MTEB-style copies of the shared source files.

use std::io::Write;
use std::path::Path;

pub fn gz_jsonl(rows: usize, f: impl Fn(usize) -> serde_json::Value) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for i in 0..rows {
        writeln!(gz, "{}", f(i)).unwrap();
    }
    gz.finish().unwrap()
}

pub fn stsb_rows(rows: usize) -> Vec<u8> {
    gz_jsonl(rows, |i| {
        serde_json::json!({"split": "test", "genre": "main-news", "dataset": "headlines",
            "year": "2015", "sid": format!("{i:04}"), "score": (i % 6) as f64 * 0.5,
            "sentence1": format!("the cat {i}"), "sentence2": "a cat"})
    })
}

/// A GLUE-style MRPC parquet file (snappy, like the hub's): sentence1, sentence2, label, idx.
pub fn glue_parquet(rows: usize) -> Vec<u8> {
    use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    let schema = "message schema { required binary sentence1 (UTF8); required binary sentence2 (UTF8); required int64 label; required int32 idx; }";
    let schema = std::sync::Arc::new(parquet::schema::parser::parse_message_type(schema).unwrap());
    let props = WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let mut buf = Vec::new();
    let mut writer =
        SerializedFileWriter::new(&mut buf, schema, std::sync::Arc::new(props)).unwrap();
    let mut group = writer.next_row_group().unwrap();
    let text = |f: &dyn Fn(usize) -> String| -> Vec<ByteArray> {
        (0..rows).map(|i| ByteArray::from(f(i).as_str())).collect()
    };
    for column in [text(&|i| format!("the dog {i}")), text(&|_| "a dog".into())] {
        let mut c = group.next_column().unwrap().unwrap();
        c.typed::<ByteArrayType>()
            .write_batch(&column, None, None)
            .unwrap();
        c.close().unwrap();
    }
    let labels: Vec<i64> = (0..rows).map(|i| (i % 2) as i64).collect();
    let mut c = group.next_column().unwrap().unwrap();
    c.typed::<Int64Type>()
        .write_batch(&labels, None, None)
        .unwrap();
    c.close().unwrap();
    let idx: Vec<i32> = (0..rows as i32).collect();
    let mut c = group.next_column().unwrap().unwrap();
    c.typed::<Int32Type>()
        .write_batch(&idx, None, None)
        .unwrap();
    c.close().unwrap();
    group.close().unwrap();
    writer.close().unwrap();
    buf
}

/// The rows of a shared-data TSV (header dropped), split on tabs.
pub fn tsv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let split = |l: &str| l.split('\t').map(str::to_string).collect();
    text.lines().skip(1).map(split).collect()
}

/// An MTEB-style copy of `rows` (`s1`, `s2`, `score` columns): reversed, and the first
/// pair re-cased and re-spaced, as a re-tokenised copy would be.
pub fn mteb_copy(rows: &[&Vec<String>], (s1, s2, score): (usize, usize, usize)) -> Vec<u8> {
    let rows: Vec<_> = rows.iter().rev().collect();
    gz_jsonl(rows.len(), |i| {
        let r = rows[i];
        let first = if i + 1 == rows.len() {
            format!("  {} ", r[s1].to_uppercase().replace(' ', "   "))
        } else {
            r[s1].clone()
        };
        let score: f64 = r[score].parse().unwrap();
        serde_json::json!({"sentence1": first, "sentence2": r[s2], "score": score})
    })
}
