//! What a hub (or a mirror, a proxy, anything behind `HF_ENDPOINT`) may name, checked
//! before any file operation: every name below becomes part of a path in the cache.
//!
//! | field | grammar |
//! |---|---|
//! | repo id | `ORG/NAME`, each of `A-Z a-z 0-9 - _ .`, starting and ending with a letter, digit or `_`, no `--` or `..`, not ending in `.git`, at most 96 characters (`huggingface_hub`'s `validate_repo_id`) |
//! | revision | a git ref name (`check-ref-format`): `/`-separated parts, none empty or starting with `.` or ending in `.lock`; no `..`, `@{`, space, control character or any of `~^:?*[\`; at most 255 bytes |
//! | file name | a relative path of plain parts: no `..` or `.` part, no leading `/`, no `\`, no `:` (a drive prefix or a Windows stream), no control character, parts of at most 255 bytes, at most 1024 bytes |
//! | commit | 40 hex digits (SHA-1), or 64 (SHA-256) |
//! | ETag (a blob's name) | after `W/` and quotes: 1 to 128 of `A-Z a-z 0-9 - _` |
//!
//! Each check returns why a value is refused; the caller names the repo and the field.

/// A value as shown in a message: at most 80 characters (the rest elided).
pub fn shown(value: &str) -> String {
    match value.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &value[..at]),
        None => value.to_string(),
    }
}

/// `ORG/NAME` against the hub's grammar.
pub fn repo_id(id: &str) -> Result<(), String> {
    if id.len() > 96 {
        return Err(format!("longer than 96 characters ({})", id.len()));
    }
    let Some((org, name)) = id.split_once('/') else {
        return Err("not of the form ORG/NAME".into());
    };
    for part in [org, name] {
        let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if !edge(part.chars().next()) || !edge(part.chars().last()) {
            return Err(format!(
                "`{}` must start and end with a letter, a digit or `_`",
                shown(part)
            ));
        }
        if let Some(c) = part
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c)))
        {
            return Err(format!(
                "has the character {c:?} (letters, digits, `-`, `_`, `.` only)"
            ));
        }
    }
    if id.contains("--") || id.contains("..") {
        return Err("has `--` or `..`".into());
    }
    if id.ends_with(".git") {
        return Err("ends in `.git`".into());
    }
    Ok(())
}

/// A branch, tag or commit name, as git's `check-ref-format` allows it.
pub fn revision(rev: &str) -> Result<(), String> {
    if rev.is_empty() || rev.len() > 255 {
        return Err(format!("must be 1 to 255 bytes long ({})", rev.len()));
    }
    if let Some(c) = rev
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(*c))
    {
        return Err(format!("has the character {c:?}"));
    }
    if rev.contains("..") || rev.contains("@{") || rev == "@" {
        return Err("has `..` or `@{`".into());
    }
    for part in rev.split('/') {
        if part.is_empty() || part.starts_with('.') || part.ends_with(".lock") {
            return Err("has an empty part, a part starting with `.` or ending in `.lock`".into());
        }
    }
    if rev.ends_with('.') {
        return Err("ends in `.`".into());
    }
    Ok(())
}

/// A file of a repo: a relative path of plain parts.
pub fn repo_file(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 1024 {
        return Err(format!("must be 1 to 1024 bytes long ({})", name.len()));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(format!("has the control character {c:?}"));
    }
    if name.contains('\\') || name.contains(':') {
        return Err("has a `\\` or a `:` (a Windows separator, drive or stream)".into());
    }
    if name.starts_with('/') {
        return Err("is absolute (starts with `/`)".into());
    }
    for part in name.split('/') {
        match part {
            "" => return Err("has an empty part (`//` or a trailing `/`)".into()),
            "." | ".." => return Err(format!("has a `{part}` part")),
            p if p.len() > 255 => return Err("has a part longer than 255 bytes".into()),
            _ => {}
        }
    }
    Ok(())
}

/// A commit id: 40 hex digits, or 64.
pub fn commit(sha: &str) -> Result<(), String> {
    match sha.len() {
        40 | 64 if sha.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(()),
        _ => Err("not a commit id (40 or 64 hex digits)".into()),
    }
}

/// An ETag as the hub sends it (`"…"`, `W/"…"`) → the blob's file name.
pub fn etag(raw: &str) -> Result<String, String> {
    let tag = raw.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag).replace('"', "");
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    match (1..=128).contains(&tag.len()) && tag.chars().all(ok) {
        true => Ok(tag),
        false => Err("not a blob name (1 to 128 of letters, digits, `-`, `_`)".into()),
    }
}

/// Percent-encodes a path for a URL: every byte but `A-Z a-z 0-9 - _ . ~` (and `/` when
/// `keep_slash`), as `huggingface_hub` quotes file names and revisions.
pub fn url_quote(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids() {
        for ok in ["RWKV/v6-Finch-1B6-HF", "BlinkDL/rwkv-7-world", "a_b/c.d"] {
            assert_eq!(repo_id(ok), Ok(()), "{ok}");
        }
        for bad in [
            "a", "a/b/c", "../b", "a/..", "a--b/c", "a/b.git", "-a/b", "a/b c", "a/é", "/b",
        ] {
            assert!(repo_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn revisions() {
        let forty = "a".repeat(40);
        for ok in [
            "main",
            "v1.0",
            "refs/pr/1",
            "refs/convert/parquet",
            forty.as_str(),
        ] {
            assert_eq!(revision(ok), Ok(()), "{ok}");
        }
        for bad in [
            "", "../x", "a/../b", "a//b", "/a", "a/", ".a", "a.lock", "a b", "a\n", "a~1", "a:b",
            "a\\b", "@", "x@{1}", "a.",
        ] {
            assert!(revision(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn file_names() {
        for ok in [
            "model.safetensors",
            "mrpc/train-00000-of-00001.parquet",
            "a b/ü.json",
        ] {
            assert_eq!(repo_file(ok), Ok(()), "{ok}");
        }
        let long = "a".repeat(256);
        for bad in [
            "",
            "../x",
            "a/../../b",
            "/etc/passwd",
            "a\\b",
            "C:x",
            "a/./b",
            "a//b",
            "a/",
            "a\0b",
            "a\nb",
            long.as_str(),
        ] {
            assert!(repo_file(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn commits_and_etags() {
        assert!(commit(&"a".repeat(40)).is_ok() && commit(&"0".repeat(64)).is_ok());
        let (g40, a41, a129) = ("g".repeat(40), "a".repeat(41), "a".repeat(129));
        for bad in ["../../outside", "abc", g40.as_str(), a41.as_str()] {
            assert!(commit(bad).is_err(), "{bad}");
        }
        assert_eq!(etag("\"abc\"").unwrap(), "abc");
        assert_eq!(etag("W/\"abc-1\"").unwrap(), "abc-1");
        for bad in ["\"../x\"", "", "a/b", "a.b", a129.as_str()] {
            assert!(etag(bad).is_err(), "{bad}");
        }
        assert_eq!(url_quote("refs/pr/1", false), "refs%2Fpr%2F1");
        assert_eq!(url_quote("a b/c.json", true), "a%20b/c.json");
    }
}
