//! A minimal, bounds-checked zip reader for `torch.save` archives: central directory
//! (zip64 included), stored (uncompressed) entries only, borrowed straight from the buffer.
//!
//! Layout (APPNOTE.TXT): `[local header + data]*  central directory  [zip64 EOCD + locator]
//! EOCD`. Sizes and offsets come from the central directory; each entry's local header
//! is read only to find where its data starts. Nothing is allocated from an untrusted
//! size before that size has been checked against the buffer.

use std::collections::HashMap;

use crate::{Error, Result};

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const EOCD_LEN: usize = 22;
const CENTRAL_LEN: usize = 46;

/// One file of the archive, as described by the central directory.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    /// 0 = stored; anything else is refused when the data is read.
    pub method: u16,
    pub flags: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    pub local_offset: u64,
}

/// A parsed archive borrowing the file's bytes.
#[derive(Debug)]
pub struct Zip<'a> {
    source: String,
    bytes: &'a [u8],
    pub entries: Vec<Entry>,
    /// Name → index of its first entry.
    index: HashMap<String, usize>,
}

/// Little-endian reads that fail (never panic) past the end.
fn le(bytes: &[u8], at: u64, n: usize) -> Option<u64> {
    let start = usize::try_from(at).ok()?;
    let slice = bytes.get(start..start.checked_add(n)?)?;
    Some(
        slice
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
    )
}

/// Where the central directory lies (absolute offsets), from the end-of-directory records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Directory {
    pub count: u64,
    pub offset: u64,
    pub size: u64,
}

/// Bytes at the end of an archive that hold its end-of-directory records whatever the
/// comment length: the classic record, the longest comment, the zip64 locator and record.
pub const TAIL_BYTES: u64 = (EOCD_LEN + 0xFFFF + 20 + 56) as u64;
/// Bytes of a local file header before its name and extra field.
pub const LOCAL_HEADER_LEN: u64 = 30;

fn not_zip(source: &str, msg: &str) -> Error {
    Error::file(source, format!("not a valid zip archive: {msg}"))
}

/// Finds the central directory from the archive's last bytes: `tail` holds the file's
/// bytes from `tail_start` to its end (the whole file, or at least its last [`TAIL_BYTES`]).
pub fn locate_directory(source: &str, tail: &[u8], tail_start: u64) -> Result<Directory> {
    let bad = |msg: &str| not_zip(source, msg);
    let eocd = find_eocd(tail)
        .ok_or_else(|| bad("no end-of-central-directory record (file truncated or not a zip)"))?;
    let field = |off: u64, n: usize| le(tail, eocd + off, n).ok_or_else(|| bad("short EOCD"));
    let classic = (field(10, 2)?, field(12, 4)?, field(16, 4)?);
    // a zip64 record, when present, holds the full-width values
    let (count, size, offset) = match read_zip64_eocd(tail, eocd, tail_start) {
        Some(wide) => wide,
        None if classic.0 == 0xFFFF || classic.1 == 0xFFFF_FFFF || classic.2 == 0xFFFF_FFFF => {
            return Err(bad(
                "EOCD asks for zip64 but the zip64 record is missing or damaged",
            ))
        }
        None => classic,
    };
    offset
        .checked_add(size)
        .filter(|&end| end <= tail_start + eocd)
        .ok_or_else(|| bad("central directory lies outside the file"))?;
    if count > size / CENTRAL_LEN as u64 {
        return Err(bad("entry count does not fit the central directory"));
    }
    Ok(Directory {
        count,
        offset,
        size,
    })
}

/// The entries of the central directory `dir`, whose `dir.size` bytes are `cd`.
pub fn read_directory(source: &str, dir: &Directory, cd: &[u8]) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let mut at = 0u64;
    for _ in 0..dir.count {
        let (entry, next) = read_central(cd, at, cd.len() as u64).ok_or_else(|| {
            let msg = format!(
                "damaged central directory entry at byte {}",
                dir.offset + at
            );
            not_zip(source, &msg)
        })?;
        entries.push(entry);
        at = next;
    }
    Ok(entries)
}

/// The absolute byte range of a stored entry's data in a `file_len`-byte archive, from
/// its local header (`local`: the [`LOCAL_HEADER_LEN`] bytes at `entry.local_offset`,
/// fewer if the file ends before).
pub fn data_range(
    source: &str,
    entry: &Entry,
    local: &[u8],
    file_len: u64,
) -> Result<std::ops::Range<u64>> {
    let bad = |msg: String| Error::file(source, format!("zip entry `{}`: {msg}", entry.name));
    if entry.flags & 1 != 0 {
        return Err(bad("is encrypted".into()));
    }
    if entry.method != 0 || entry.compressed_size != entry.size {
        return Err(bad(format!(
            "is compressed (method {}); only stored entries are supported, as torch.save writes them",
            entry.method
        )));
    }
    let at = entry.local_offset;
    if at >= file_len {
        return Err(bad(format!(
            "local header offset {at} is past the end of the file"
        )));
    }
    if le(local, 0, 4) != Some(u64::from(LOCAL_SIG)) {
        return Err(bad(format!("no local header at byte {at}")));
    }
    let (name_len, extra_len) = le(local, 26, 2)
        .zip(le(local, 28, 2))
        .ok_or_else(|| bad("local header cut short".into()))?;
    let start = at + LOCAL_HEADER_LEN + name_len + extra_len;
    let end = start
        .checked_add(entry.size)
        .filter(|&end| end <= file_len)
        .ok_or_else(|| {
            bad(format!(
                "{} bytes at byte {start} run past the end of the file ({file_len} bytes): truncated?",
                entry.size
            ))
        })?;
    Ok(start..end)
}

/// Checks an entry's CRC-32 (use for small entries).
pub fn check_crc(source: &str, entry: &Entry, data: &[u8]) -> Result<()> {
    if crc32(data) != entry.crc32 {
        return Err(Error::file(
            source,
            format!(
                "zip entry `{}`: CRC-32 mismatch (file corrupted)",
                entry.name
            ),
        ));
    }
    Ok(())
}

impl<'a> Zip<'a> {
    /// Reads the central directory of `bytes`; `source` names the file in errors.
    pub fn parse(source: &str, bytes: &'a [u8]) -> Result<Zip<'a>> {
        let dir = locate_directory(source, bytes, 0)?;
        // located inside `bytes` by `locate_directory`
        let cd = &bytes[dir.offset as usize..(dir.offset + dir.size) as usize];
        let entries = read_directory(source, &dir, cd)?;
        let mut index = HashMap::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            index.entry(e.name.clone()).or_insert(i);
        }
        Ok(Zip {
            source: source.to_string(),
            bytes,
            entries,
            index,
        })
    }

    /// The entry with exactly this name.
    pub fn find(&self, name: &str) -> Option<&Entry> {
        self.index.get(name).map(|&i| &self.entries[i])
    }

    /// The data of a stored entry, bounds-checked against the buffer.
    pub fn data(&self, entry: &Entry) -> Result<&'a [u8]> {
        let len = self.bytes.len() as u64;
        let at = entry.local_offset.min(len) as usize;
        let local = &self.bytes[at..(at + LOCAL_HEADER_LEN as usize).min(len as usize)];
        let range = data_range(&self.source, entry, local, len)?;
        Ok(&self.bytes[range.start as usize..range.end as usize])
    }

    /// Like [`Zip::data`], then checks the entry's CRC-32 (use for small entries).
    pub fn checked_data(&self, entry: &Entry) -> Result<&'a [u8]> {
        let data = self.data(entry)?;
        check_crc(&self.source, entry, data)?;
        Ok(data)
    }
}

/// Offset of the end-of-central-directory record: scanned backwards over the last
/// 22 + 65535 bytes (the record plus the longest possible comment).
fn find_eocd(bytes: &[u8]) -> Option<u64> {
    let last = bytes.len().checked_sub(EOCD_LEN)?;
    let first = last.saturating_sub(0xFFFF);
    (first..=last)
        .rev()
        .find(|&i| le(bytes, i as u64, 4) == Some(u64::from(EOCD_SIG)))
        .map(|i| i as u64)
}

/// (entry count, central directory size, offset) from the zip64 EOCD record, found
/// through the 20-byte locator just before the classic EOCD (`bytes` start at file
/// offset `base`; `eocd` and `locator` are relative to them, the record's offset absolute).
fn read_zip64_eocd(bytes: &[u8], eocd: u64, base: u64) -> Option<(u64, u64, u64)> {
    let locator = eocd.checked_sub(20)?;
    if le(bytes, locator, 4)? != u64::from(ZIP64_LOCATOR_SIG) {
        return None;
    }
    let record = le(bytes, locator + 8, 8)?.checked_sub(base)?;
    if record >= locator || le(bytes, record, 4)? != u64::from(ZIP64_EOCD_SIG) {
        return None;
    }
    // (count, size, offset)
    Some((
        le(bytes, record + 32, 8)?,
        le(bytes, record + 40, 8)?,
        le(bytes, record + 48, 8)?,
    ))
}

/// One central directory entry at `at` (which must end by `end`), and where the next starts.
fn read_central(bytes: &[u8], at: u64, end: u64) -> Option<(Entry, u64)> {
    let f = |off: u64, n: usize| le(bytes, at + off, n);
    if f(0, 4)? != u64::from(CENTRAL_SIG) {
        return None;
    }
    let (name_len, extra_len, comment_len) = (f(28, 2)?, f(30, 2)?, f(32, 2)?);
    let name_at = at + CENTRAL_LEN as u64;
    let next = name_at + name_len + extra_len + comment_len;
    if next > end {
        return None;
    }
    let name_bytes = bytes.get(name_at as usize..(name_at + name_len) as usize)?;
    let extra_at = (name_at + name_len) as usize;
    let extra = bytes.get(extra_at..extra_at + extra_len as usize)?;
    let mut entry = Entry {
        name: String::from_utf8_lossy(name_bytes).into_owned(),
        flags: f(8, 2)? as u16,
        method: f(10, 2)? as u16,
        crc32: f(16, 4)? as u32,
        compressed_size: f(20, 4)?,
        size: f(24, 4)?,
        local_offset: f(42, 4)?,
    };
    apply_zip64_extra(&mut entry, extra)?;
    Some((entry, next))
}

/// Replaces 0xFFFFFFFF sizes/offset by the 8-byte values of the zip64 extra field
/// (id 1), which lists only the saturated ones, in the order size, compressed, offset.
fn apply_zip64_extra(entry: &mut Entry, extra: &[u8]) -> Option<()> {
    const MAX: u64 = 0xFFFF_FFFF;
    if entry.size != MAX && entry.compressed_size != MAX && entry.local_offset != MAX {
        return Some(());
    }
    let mut at = 0u64;
    while let (Some(id), Some(len)) = (le(extra, at, 2), le(extra, at + 2, 2)) {
        if id == 1 {
            let mut value_at = at + 4;
            for field in [
                &mut entry.size,
                &mut entry.compressed_size,
                &mut entry.local_offset,
            ] {
                if *field == MAX {
                    if value_at + 8 > at + 4 + len {
                        return None;
                    }
                    *field = le(extra, value_at, 8)?;
                    value_at += 8;
                }
            }
            return Some(());
        }
        at += 4 + len;
    }
    None
}

/// CRC-32 (IEEE, reflected, as zip uses), bit by bit: only used on small entries.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_known_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn empty_archive_and_garbage() {
        // the 22-byte EOCD of an empty zip
        let mut empty = vec![0u8; 22];
        empty[..4].copy_from_slice(&EOCD_SIG.to_le_bytes());
        assert_eq!(Zip::parse("e.zip", &empty).unwrap().entries.len(), 0);
        let e = Zip::parse("g.zip", b"hello").unwrap_err().to_string();
        assert!(e.starts_with("g.zip: not a valid zip archive"), "{e}");
    }
}
