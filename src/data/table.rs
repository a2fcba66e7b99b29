//! Reading the data files: tab-separated tables with quoting disabled (the STS and
//! MRPC files contain unbalanced `"`), RFC 4180 CSV for user pair files, and JSON
//! lines. Every row keeps its 1-based line number for error messages.

use std::path::Path;

use crate::kit::hash::FileId;
use crate::{Error, Result};

/// A text file read whole, with its identity.
pub struct TextFile {
    pub path: String,
    pub text: String,
    pub id: FileId,
}

/// Reads a UTF-8 file, hashes its bytes and drops a leading byte-order mark.
pub fn read_text(path: &Path) -> Result<TextFile> {
    let shown = path.display().to_string();
    let bytes =
        std::fs::read(path).map_err(|e| Error::file(&shown, format!("cannot read: {e}")))?;
    let id = FileId::of_bytes(&shown, &bytes);
    let mut text = String::from_utf8(bytes)
        .map_err(|e| Error::file(&shown, format!("not UTF-8 text: {e}")))?;
    if text.starts_with('\u{feff}') {
        text.drain(..3);
    }
    Ok(TextFile {
        path: shown,
        text,
        id,
    })
}

/// How a data file separates its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Tab-separated, quoting disabled (the STS and MRPC files hold unbalanced `"`).
    Tsv,
    /// RFC 4180 CSV: fields in `"..."` may hold commas, newlines and `""` (a quote).
    Csv,
}

/// One record: 1-based line number (of its first line) and its fields.
pub type Record = (usize, Vec<String>);

/// The records of `text` (`\r\n` or `\n`; blank lines skipped), through the `csv` crate.
pub fn records(path: &str, text: &str, dialect: Dialect) -> Result<Vec<Record>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(if dialect == Dialect::Tsv { b'\t' } else { b',' })
        .quoting(dialect == Dialect::Csv)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(text.as_bytes());
    let (mut out, mut last) = (Vec::new(), (0, 1));
    for record in reader.records() {
        let record = record.map_err(|e| Error::file(path, e))?;
        let byte = record.position().map_or(0, |p| p.byte() as usize);
        // The crate's position is taken before the blank lines it skips.
        let skipped = text[byte..].bytes().take_while(|&b| b == b'\n').count();
        let line = record.position().map_or(1, |p| p.line() as usize) + skipped;
        last = (byte, line);
        let mut fields: Vec<String> = record.iter().map(str::to_string).collect();
        if let Some(f) = fields.last_mut().filter(|f| f.ends_with('\r')) {
            f.pop();
        }
        if !fields.iter().all(|f| f.trim().is_empty()) {
            out.push((line, fields));
        }
    }
    if dialect == Dialect::Csv && ends_quoted(&text[last.0..]) {
        return Err(Error::row(path, last.1, "unterminated quoted CSV field"));
    }
    Ok(out)
}

/// Whether `raw` ends inside a quoted CSV field: the `csv` crate reads an unterminated
/// quote to the end of the file without an error.
fn ends_quoted(raw: &str) -> bool {
    let (mut quoted, mut at_start, mut closed) = (false, true, false);
    for c in raw.chars() {
        let toggles = c == '"' && (quoted || at_start || closed); // `""` reopens
        closed = toggles && quoted;
        quoted ^= toggles;
        at_start = !quoted && (c == ',' || c == '\n');
    }
    quoted
}

/// "1 field", "3 fields".
pub fn fields_count(n: usize) -> String {
    format!("{n} field{}", if n == 1 { "" } else { "s" })
}

/// Field `i` of a record, or a one-line error naming the file, line and column.
pub fn field<'a>(
    path: &str,
    line: usize,
    fields: &'a [String],
    i: usize,
    name: &str,
) -> Result<&'a str> {
    fields.get(i).map(String::as_str).ok_or_else(|| {
        Error::row(
            path,
            line,
            format!(
                "missing column {} `{name}` (row has {})",
                i + 1,
                fields_count(fields.len())
            ),
        )
    })
}

/// A field's text for a one-line message: control characters escaped (a quoted CSV
/// field may hold line breaks), at most 40 characters.
pub fn shown_field(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == 40 {
            out.push('…');
            break;
        }
        match c.is_control() {
            true => out.extend(c.escape_default()),
            false => out.push(c),
        }
    }
    out
}

/// A gold score: a finite number.
pub fn parse_score(path: &str, line: usize, s: &str, name: &str) -> Result<f64> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(Error::row(
            path,
            line,
            format!("`{name}` = `{}` is not a number", shown_field(s)),
        )),
    }
}

/// A binary label: 0/1 (also false/true).
pub fn parse_label(path: &str, line: usize, s: &str, name: &str) -> Result<f64> {
    match s.trim() {
        "0" | "false" | "False" => Ok(0.0),
        "1" | "true" | "True" => Ok(1.0),
        _ => Err(Error::row(
            path,
            line,
            format!("`{name}` = `{}` is not a 0/1 label", shown_field(s)),
        )),
    }
}

/// A sentence: must hold some non-space text.
pub fn sentence(path: &str, line: usize, s: &str, name: &str) -> Result<String> {
    if s.trim().is_empty() {
        return Err(Error::row(
            path,
            line,
            format!("empty sentence in `{name}`"),
        ));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(r: &[(usize, &[&str])]) -> Vec<Record> {
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        r.iter().map(|(n, v)| (*n, f(v))).collect()
    }

    #[test]
    fn tsv_keeps_quotes_and_line_numbers() {
        let r = records("f", "a\tb\r\n\n\"x\tc\"\n \t\n\ny", Dialect::Tsv).unwrap();
        assert_eq!(
            r,
            owned(&[(1, &["a", "b"]), (3, &["\"x", "c\""]), (6, &["y"])])
        );
    }

    #[test]
    fn csv_quotes_commas_newlines() {
        let text = "s1,s2\n\"a, b\",\"say \"\"hi\"\"\nthere\"\r\n\nx,y";
        let r = records("f", text, Dialect::Csv).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1], owned(&[(2, &["a, b", "say \"hi\"\nthere"])])[0]);
        assert_eq!(r[2].0, 5);
        for bad in ["\"open", "a,b\nc,\"d\"\"\n"] {
            let e = records("f", bad, Dialect::Csv).unwrap_err().to_string();
            assert!(e.contains("unterminated"), "{e}");
        }
        assert!(records("f", "a\n\"b\"\"c\"", Dialect::Csv).is_ok());
    }
}
