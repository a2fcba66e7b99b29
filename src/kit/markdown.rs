//! Markdown tables, as both reports write them: `| a | b |` rows under a `|---|---:|`
//! rule.

use std::fmt::{Display, Write};

/// Writes the header row (`cols`: the names joined by ` | `) and the rule; `align` gives
/// one character per column, `r` for right-aligned (numbers), anything else (or
/// nothing) for left-aligned.
pub fn header(out: &mut String, cols: &str, align: &str) {
    let _ = writeln!(out, "| {cols} |");
    out.push('|');
    for i in 0..cols.split(" | ").count() {
        out.push_str(match align.as_bytes().get(i) {
            Some(b'r') => "---:|",
            _ => "---|",
        });
    }
    out.push('\n');
}

/// Writes one row of cells (mixed types: `&[&dyn Display]`).
pub fn row<T: Display>(out: &mut String, cells: &[T]) {
    out.push('|');
    for c in cells {
        let _ = write!(out, " {c} |");
    }
    out.push('\n');
}

/// A whole table: the header (as in [`header`]) and one row per item of `rows`.
pub fn table<T: Display>(
    out: &mut String,
    cols: &str,
    align: &str,
    rows: impl IntoIterator<Item = Vec<T>>,
) {
    header(out, cols, align);
    rows.into_iter().for_each(|r| row(out, &r));
}

/// One column of a [`columns`] table: its name, `'r'` for right-aligned (anything else:
/// left) and how an item fills its cell.
pub type Column<T> = (&'static str, char, fn(&T) -> String);

/// A whole table with one row per item, its header and cells given column by column.
pub fn columns<T>(out: &mut String, cols: &[Column<T>], items: &[T]) {
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let align: String = cols.iter().map(|c| c.1).collect();
    let rows = items
        .iter()
        .map(|x| cols.iter().map(|c| (c.2)(x)).collect());
    table(out, &names.join(" | "), &align, rows);
}

/// A row of cells of mixed types, each formatted with `Display` (the study's and bench's
/// tables: native only).
#[cfg(any(test, feature = "native"))]
macro_rules! cells {
    ($($cell:expr),* $(,)?) => { vec![$($cell.to_string()),*] };
}
#[cfg(any(test, feature = "native"))]
pub(crate) use cells;

/// `x` with `digits` decimals, `—` when there is none.
pub fn num(x: Option<f64>, digits: usize) -> String {
    x.map_or("—".into(), |v| format!("{v:.digits$}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_rows() {
        let mut s = String::new();
        header(&mut s, "name | n", "lr");
        row::<&dyn Display>(&mut s, &[&"a", &1.5]);
        assert_eq!(s, "| name | n |\n|---|---:|\n| a | 1.5 |\n");
        let mut t = String::new();
        table(
            &mut t,
            "x | y",
            "",
            [cells![1, "b"], cells![num(None, 1), num(Some(0.5), 1)]],
        );
        assert_eq!(t, "| x | y |\n|---|---|\n| 1 | b |\n| — | 0.5 |\n");
        let mut c = String::new();
        let cols: [Column<(u8, f64)>; 2] = [
            ("id", 'l', |x| x.0.to_string()),
            ("v", 'r', |x| num(Some(x.1), 2)),
        ];
        columns(&mut c, &cols, &[(7, 0.5)]);
        assert_eq!(c, "| id | v |\n|---|---:|\n| 7 | 0.50 |\n");
    }
}
