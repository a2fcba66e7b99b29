//! Reading the data files: tab-separated tables with quoting disabled (the STS and
//! MRPC files contain unbalanced `"`), RFC 4180 CSV for user pair files, and JSON
//! lines. Every row keeps its 1-based line number for error messages.

use std::path::Path;

use super::hash::{xxh64, FileId};
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
    let id = FileId {
        path: shown.clone(),
        xxh64: format!("{:016x}", xxh64(&bytes, 0)),
        bytes: bytes.len() as u64,
    };
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

/// One record: 1-based line number and its fields.
pub type Record<'a> = (usize, Vec<&'a str>);

/// Tab-separated records, no quoting, `\r\n` or `\n`; blank lines are skipped.
pub fn tsv_records(text: &str) -> Vec<Record<'_>> {
    text.split('\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line.strip_suffix('\r').unwrap_or(line)))
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| (n, line.split('\t').collect()))
        .collect()
}

/// RFC 4180 CSV: fields in `"..."` may hold commas, newlines and `""` (a quote).
pub fn csv_records(path: &str, text: &str) -> Result<Vec<(usize, Vec<String>)>> {
    let mut records = Vec::new();
    let (mut fields, mut field) = (Vec::new(), String::new());
    let (mut line, mut start_line) = (1, 1);
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                fields.push(std::mem::take(&mut field));
                push_record(&mut records, start_line, std::mem::take(&mut fields));
                line += 1;
                start_line = line;
            }
            (_, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
        }
    }
    if quoted {
        return Err(Error::row(
            path,
            start_line,
            "unterminated quoted CSV field",
        ));
    }
    fields.push(field);
    push_record(&mut records, start_line, fields);
    Ok(records)
}

fn push_record(records: &mut Vec<(usize, Vec<String>)>, line: usize, fields: Vec<String>) {
    if !(fields.len() == 1 && fields[0].trim().is_empty()) {
        records.push((line, fields));
    }
}

/// "1 field", "3 fields".
pub fn fields_count(n: usize) -> String {
    format!("{n} field{}", if n == 1 { "" } else { "s" })
}

/// Field `i` of a record, or a one-line error naming the file, line and column.
pub fn field<'a>(
    path: &str,
    line: usize,
    fields: &[&'a str],
    i: usize,
    name: &str,
) -> Result<&'a str> {
    fields.get(i).copied().ok_or_else(|| {
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

    #[test]
    fn tsv_keeps_quotes_and_line_numbers() {
        let r = tsv_records("a\tb\r\n\n\"x\tc\"\n");
        assert_eq!(r, vec![(1, vec!["a", "b"]), (3, vec!["\"x", "c\""])]);
    }

    #[test]
    fn csv_quotes_commas_newlines() {
        let r = csv_records("f", "s1,s2\n\"a, b\",\"say \"\"hi\"\"\nthere\"\nx,y").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(
            r[1],
            (2, vec!["a, b".to_string(), "say \"hi\"\nthere".to_string()])
        );
        assert_eq!(r[2].0, 4);
        assert!(csv_records("f", "\"open")
            .unwrap_err()
            .to_string()
            .contains("f:1"));
    }
}
