//! The RWKV World tokenizer: greedy longest-prefix match over UTF-8 bytes, exactly as
//! the official `rwkv/rwkv_tokenizer.py TRIE_TOKENIZER`.
//!
//! At every position the longest vocabulary entry that is a prefix of the remaining
//! bytes wins; every single byte is a token, so encoding never fails and
//! `decode(encode(x)) == x` for any bytes. The vocabulary (`rwkv_vocab_v20230424.txt`,
//! Apache-2.0, from BlinkDL's `rwkv` package) is embedded, so this works in wasm too.
//!
//! Vocab lines read `id <python str or bytes literal> <byte length>`, e.g.
//! `257 '\t\t' 2` or `250 b'\xf9' 1`; ids run 1..=65529, id 0 (`<|endoftext|>`) has no
//! bytes and is never produced by `encode`.

use std::sync::OnceLock;

use crate::{Error, Result};

/// The embedded vocabulary file.
const VOCAB: &str = include_str!("rwkv_vocab_v20230424.txt");
const VOCAB_NAME: &str = "rwkv_vocab_v20230424.txt";

/// The World tokenizer: token bytes by id plus a byte trie for encoding.
#[derive(Debug, Clone)]
pub struct WorldTokenizer {
    /// Bytes of token `id` are `token_bytes[offsets[id]..offsets[id + 1]]` (empty for id 0).
    offsets: Vec<u32>,
    token_bytes: Vec<u8>,
    trie: Trie,
}

impl WorldTokenizer {
    /// Parses the embedded vocabulary (about 65k lines; use [`WorldTokenizer::shared`]
    /// to parse it once per process).
    pub fn new() -> Result<Self> {
        Self::from_vocab(VOCAB_NAME, VOCAB)
    }

    /// One process-wide tokenizer, parsed on first use.
    pub fn shared() -> Result<&'static WorldTokenizer> {
        static SHARED: OnceLock<std::result::Result<WorldTokenizer, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| WorldTokenizer::new().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Error::input)
    }

    /// Parses a vocabulary in the official text format (`source` names it in errors).
    pub fn from_vocab(source: &str, text: &str) -> Result<Self> {
        let mut tokens: Vec<(Vec<u8>, u32)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() {
                continue;
            }
            let (id, bytes) = parse_vocab_line(line).map_err(|m| Error::row(source, i + 1, m))?;
            if !seen.insert(bytes.clone()) {
                return Err(Error::row(source, i + 1, "token bytes appear twice"));
            }
            tokens.push((bytes, id));
        }
        let max_id = tokens.iter().map(|t| t.1).max().unwrap_or(0) as usize;
        let mut by_id: Vec<Option<&[u8]>> = vec![None; max_id + 1];
        for (bytes, id) in &tokens {
            if by_id[*id as usize].replace(bytes).is_some() {
                return Err(Error::file(source, format!("token id {id} appears twice")));
            }
        }
        let (mut offsets, mut token_bytes) = (vec![0u32], Vec::new());
        for bytes in &by_id {
            token_bytes.extend_from_slice(bytes.unwrap_or(&[]));
            offsets.push(token_bytes.len() as u32);
        }
        let trie = Trie::build(source, tokens)?;
        Ok(WorldTokenizer {
            offsets,
            token_bytes,
            trie,
        })
    }

    /// Token ids of UTF-8 text.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.encode_bytes(text.as_bytes())
    }

    /// Token ids of arbitrary bytes: repeatedly take the longest matching token.
    pub fn encode_bytes(&self, src: &[u8]) -> Vec<u32> {
        let mut out = Vec::with_capacity(src.len() / 3 + 1);
        let mut rest = src;
        while !rest.is_empty() {
            let (len, id) = self.trie.longest_match(rest);
            out.push(id);
            rest = &rest[len..];
        }
        out
    }

    /// Concatenated bytes of the tokens. Ids without bytes (0 = `<|endoftext|>`, or out of
    /// range) contribute nothing; use [`WorldTokenizer::token_bytes`] to check ids first.
    pub fn decode(&self, ids: &[u32]) -> Vec<u8> {
        let mut out = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            out.extend_from_slice(self.token_bytes(id).unwrap_or(&[]));
        }
        out
    }

    /// The bytes of one token; `None` for id 0 and ids outside the vocabulary.
    pub fn token_bytes(&self, id: u32) -> Option<&[u8]> {
        let i = id as usize;
        let (start, end) = (*self.offsets.get(i)?, *self.offsets.get(i + 1)?);
        (end > start).then(|| &self.token_bytes[start as usize..end as usize])
    }

    /// Rows of the embedding this vocabulary indexes (65536 for the released models).
    pub fn vocab_size(&self) -> usize {
        65536
    }
}

/// A byte trie in compressed-row form: node `n`'s children are
/// `child_byte/child_node[first_child[n]..first_child[n + 1]]`, sorted by byte.
/// The root's 256 children are also kept in a dense table (every byte is a token).
#[derive(Debug, Clone)]
struct Trie {
    root: [u32; 256],
    first_child: Vec<u32>,
    child_byte: Vec<u8>,
    child_node: Vec<u32>,
    /// Token ending at node `n`, 0 when none.
    token: Vec<u32>,
}

impl Trie {
    /// Builds from (bytes, id) pairs; sorting them first means a new child is always
    /// appended after its siblings, so children come out sorted.
    fn build(source: &str, mut tokens: Vec<(Vec<u8>, u32)>) -> Result<Trie> {
        tokens.sort();
        let mut children: Vec<Vec<(u8, u32)>> = vec![Vec::new()];
        let mut token = vec![0u32];
        for (bytes, id) in &tokens {
            let mut node = 0usize;
            for &b in bytes {
                node = match children[node].last() {
                    Some(&(last, child)) if last == b => child as usize,
                    _ => {
                        let child = children.len();
                        children[node].push((b, child as u32));
                        children.push(Vec::new());
                        token.push(0);
                        child
                    }
                };
            }
            token[node] = *id;
        }
        let mut root = [0u32; 256];
        for &(b, child) in &children[0] {
            root[b as usize] = child;
        }
        if let Some(b) = (0..256).find(|&b| root[b] == 0 || token[root[b] as usize] == 0) {
            return Err(Error::file(
                source,
                format!("single byte 0x{b:02x} is not a token; every byte must be"),
            ));
        }
        let mut first_child = Vec::with_capacity(children.len() + 1);
        let (mut child_byte, mut child_node) = (Vec::new(), Vec::new());
        for list in &children {
            first_child.push(child_byte.len() as u32);
            child_byte.extend(list.iter().map(|c| c.0));
            child_node.extend(list.iter().map(|c| c.1));
        }
        first_child.push(child_byte.len() as u32);
        Ok(Trie {
            root,
            first_child,
            child_byte,
            child_node,
            token,
        })
    }

    fn child(&self, node: u32, b: u8) -> Option<u32> {
        let (s, e) = (
            self.first_child[node as usize] as usize,
            self.first_child[node as usize + 1] as usize,
        );
        let i = self.child_byte[s..e].binary_search(&b).ok()?;
        Some(self.child_node[s + i])
    }

    /// (length, id) of the longest token that prefixes `s` (non-empty).
    fn longest_match(&self, s: &[u8]) -> (usize, u32) {
        let mut node = self.root[s[0] as usize];
        // every single byte is a token (checked in `build`)
        let mut best = (1, self.token[node as usize]);
        for (depth, &b) in s.iter().enumerate().skip(1) {
            match self.child(node, b) {
                Some(next) => node = next,
                None => break,
            }
            if self.token[node as usize] != 0 {
                best = (depth + 1, self.token[node as usize]);
            }
        }
        best
    }
}

/// Parses `id <literal> <byte length>` into (id, bytes), checking the length field.
fn parse_vocab_line(line: &str) -> std::result::Result<(u32, Vec<u8>), String> {
    let (id, rest) = line.split_once(' ').ok_or("expected `id literal length`")?;
    let (literal, len) = rest
        .rsplit_once(' ')
        .ok_or("expected `id literal length`")?;
    let id: u32 = id.parse().map_err(|_| format!("bad token id `{id}`"))?;
    if id == 0 || id > 65535 {
        return Err(format!("token id {id} outside 1..=65535"));
    }
    let len: usize = len
        .trim()
        .parse()
        .map_err(|_| format!("bad byte length `{len}`"))?;
    let bytes = parse_py_literal(literal.trim_start())?;
    if bytes.len() != len {
        return Err(format!(
            "literal {literal} has {} bytes, the line says {len}",
            bytes.len()
        ));
    }
    if bytes.is_empty() {
        return Err("empty token".into());
    }
    Ok((id, bytes))
}

/// Bytes of a Python `'str'` (UTF-8 encoded) or `b'bytes'` literal, either quote style.
/// Escapes: `\\ \' \" \n \r \t \a \b \f \v \xHH`, and in str literals `\uHHHH \UHHHHHHHH`
/// (a `\xHH` in a str is the code point U+00HH, so it may encode to two bytes).
pub fn parse_py_literal(lit: &str) -> std::result::Result<Vec<u8>, String> {
    let (is_bytes, quoted) = match lit.strip_prefix('b') {
        Some(q) => (true, q),
        None => (false, lit),
    };
    let quote = quoted.chars().next().filter(|q| *q == '\'' || *q == '"');
    let body = quote
        .and_then(|q| quoted[1..].strip_suffix(q))
        .ok_or_else(|| format!("`{lit}` is not a quoted Python literal"))?;
    let mut out = Vec::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            if Some(c) == quote {
                return Err(format!("unescaped quote inside `{lit}`"));
            }
            if is_bytes && !c.is_ascii() {
                return Err(format!("non-ASCII character in bytes literal `{lit}`"));
            }
            push_char(&mut out, c);
            continue;
        }
        let e = chars
            .next()
            .ok_or_else(|| format!("dangling `\\` in `{lit}`"))?;
        push_escape(&mut out, e, &mut chars, is_bytes).map_err(|m| format!("{m} in `{lit}`"))?;
    }
    Ok(out)
}

/// Appends the bytes of the escape `\\e` (its hex digits, if any, come from `chars`).
fn push_escape(
    out: &mut Vec<u8>,
    e: char,
    chars: &mut std::str::Chars<'_>,
    is_bytes: bool,
) -> std::result::Result<(), String> {
    let simple = match e {
        '\\' | '\'' | '"' => Some(e),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'v' => Some('\x0b'),
        _ => None,
    };
    if let Some(c) = simple {
        push_char(out, c);
        return Ok(());
    }
    let digits = match e {
        'x' => 2,
        'u' if !is_bytes => 4,
        'U' if !is_bytes => 8,
        _ => return Err(format!("unsupported escape `\\{e}`")),
    };
    let hex: String = chars.by_ref().take(digits).collect();
    if hex.len() != digits || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("bad `\\{e}` escape"));
    }
    let code = u32::from_str_radix(&hex, 16).map_err(|_| format!("bad `\\{e}` escape"))?;
    if is_bytes {
        out.push(code as u8); // two hex digits: always < 256
    } else {
        let c = char::from_u32(code)
            .ok_or_else(|| format!("escape `\\{e}{hex}` is not a Unicode scalar"))?;
        push_char(out, c);
    }
    Ok(())
}

fn push_char(out: &mut Vec<u8>, c: char) {
    out.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(parse_py_literal(r"'\t\n'").unwrap(), b"\t\n");
        assert_eq!(parse_py_literal(r"b'\xf9'").unwrap(), [0xf9]);
        // a \x escape in a str literal is a code point: U+0080 → c2 80
        assert_eq!(parse_py_literal(r"'\x80'").unwrap(), [0xc2, 0x80]);
        assert_eq!(parse_py_literal(r"'\u00e9'").unwrap(), "é".as_bytes());
        assert_eq!(parse_py_literal(r#""'""#).unwrap(), b"'");
        assert_eq!(parse_py_literal(r"'\\\''").unwrap(), b"\\'");
        assert_eq!(parse_py_literal("'中'").unwrap(), "中".as_bytes());
        assert!(parse_py_literal("'abc").is_err());
        assert!(parse_py_literal(r"'\ud800'").is_err());
        assert!(parse_py_literal(r"'\q'").is_err());
        assert!(parse_py_literal(r"'\x+1'").is_err());
        assert!(parse_py_literal(r"'\x4'").is_err());
        assert!(parse_py_literal("b'é'").is_err());
        assert!(parse_py_literal("'a'b'").is_err());
    }

    #[test]
    fn vocab_line_length_is_checked() {
        assert_eq!(
            parse_vocab_line("257 '\\t\\t' 2").unwrap(),
            (257, b"\t\t".to_vec())
        );
        let e = parse_vocab_line("257 '\\t\\t' 3").unwrap_err();
        assert!(e.contains("has 2 bytes, the line says 3"), "{e}");
        assert!(parse_vocab_line("0 'a' 1").is_err());
    }

    #[test]
    fn tiny_vocab_longest_match() {
        let mut text = String::new();
        for b in 0..=255u32 {
            text.push_str(&format!("{} b'\\x{b:02x}' 1\n", b + 1));
        }
        text.push_str("300 'ab' 2\n301 'abc' 3\n302 'bcd' 3\n");
        let t = WorldTokenizer::from_vocab("tiny", &text).unwrap();
        // greedy: "abc" then "d", not "a" + "bcd"
        assert_eq!(t.encode("abcd"), vec![301, u32::from(b'd') + 1]);
        assert_eq!(t.encode("abx"), vec![300, u32::from(b'x') + 1]);
        assert_eq!(t.decode(&t.encode("abcd")), b"abcd");
    }

    #[test]
    fn missing_single_byte_is_refused() {
        let e = WorldTokenizer::from_vocab("tiny", "1 'a' 1\n").unwrap_err();
        assert!(e.to_string().contains("single byte 0x00"), "{e}");
    }
}
