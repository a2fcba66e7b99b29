//! An official PyTorch `.pth` (a `torch.save` zip) read by slices (of a `Blob`, or by
//! range requests) without holding the file: the end-of-directory records and the central directory first, then `data.pkl`
//! (parsed by the library's safe pickle VM), then one local header per storage. The
//! result is a [`Header`] whose entries hold each tensor's absolute byte range, so the
//! tensors are then sliced out one by one exactly as from a safetensors file.

use std::collections::HashMap;
use std::ops::Range;

use rwkv_lens::model::pth;
use rwkv_lens::model::zip::{self, Entry as ZipEntry};
use rwkv_lens::Result;

use super::header::{Entry, Header};
use super::loader::ModelFile;

/// Whether a file's first bytes open a zip archive (a `torch.save` file).
pub fn is_zip(first: &[u8]) -> bool {
    first.starts_with(b"PK\x03\x04")
}

/// The tensors of a `.pth` blob as header entries (names as stored, absolute ranges).
pub async fn read_pth_header(file: &ModelFile) -> Result<Header> {
    let name = &file.name;
    let first = file.read(0, 4).await?;
    pth::check_magic(name, &first)?;
    let entries = central_directory(file).await?;
    let pkl = pth::find_pickle(name, &entries)?;
    let pickle = entry_bytes(file, pkl).await?;
    zip::check_crc(name, pkl, &pickle)?;
    let order = match pth::byte_order_entry(&entries, pkl) {
        Some(e) => Some(entry_bytes(file, e).await?),
        None => None,
    };
    let plan = pth::plan(name, &entries, pkl, &pickle, order.as_deref(), file.bytes)?;
    let mut starts: HashMap<&str, u64> = HashMap::new();
    let mut out = Vec::with_capacity(plan.len());
    for t in &plan {
        let start = match starts.get(t.storage.name.as_str()) {
            Some(&s) => s,
            None => {
                let s = data_range(file, &t.storage).await?.start;
                starts.insert(&t.storage.name, s);
                s
            }
        };
        let (shape, range) = t.range(name)?;
        out.push(Entry {
            name: t.name.clone(),
            dtype: t.view.storage.dtype,
            shape,
            begin: start + range.start,
            end: start + range.end,
        });
    }
    Ok(Header {
        entries: out,
        metadata: Default::default(),
        data_start: 0,
    })
}

/// The archive's entries: its last [`zip::TAIL_BYTES`] locate the central directory,
/// which is sliced out unless the tail already holds it.
async fn central_directory(file: &ModelFile) -> Result<Vec<ZipEntry>> {
    let name = &file.name;
    let tail_start = file.bytes.saturating_sub(zip::TAIL_BYTES);
    let tail = file.read(tail_start, file.bytes).await?;
    let dir = zip::locate_directory(name, &tail, tail_start)?;
    let cd = if dir.offset >= tail_start {
        let at = (dir.offset - tail_start) as usize;
        tail[at..at + dir.size as usize].to_vec()
    } else {
        file.read(dir.offset, dir.offset + dir.size).await?
    };
    zip::read_directory(name, &dir, &cd)
}

/// Where a stored entry's data lies, from its local header.
async fn data_range(file: &ModelFile, entry: &ZipEntry) -> Result<Range<u64>> {
    let at = entry.local_offset.min(file.bytes);
    let local = file.read(at, at + zip::LOCAL_HEADER_LEN).await?;
    zip::data_range(&file.name, entry, &local, file.bytes)
}

/// A (small) entry's data.
async fn entry_bytes(file: &ModelFile, entry: &ZipEntry) -> Result<Vec<u8>> {
    let r = data_range(file, entry).await?;
    file.read(r.start, r.end).await
}
