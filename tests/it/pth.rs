//! The safe `.pth` reader against fixtures written by `scripts/make_pth_fixtures.py`
//! (torch.save), hand-built hostile pickles, and fuzzing (proptest, 2000 cases per
//! property unless `PROPTEST_CASES` says otherwise) of `read_pth`, the pickle VM and
//! `Checkpoint::from_safetensors_bytes`: bad bytes must give an `Err`, never a panic.

use std::collections::BTreeMap;

use crate::common::fuzz::{config, mutate, mutation, tiny_checkpoint, tiny_config};

use proptest::prelude::*;
use proptest::sample::Index;
use rwkv_lens::model::checkpoint::{read_safetensors, write_safetensors};
use rwkv_lens::model::pickle::parse_state_dict;
use rwkv_lens::model::pth::{checkpoint_from_pth, read_pth};
use rwkv_lens::model::zip::{self, crc32};
use rwkv_lens::model::{Checkpoint, DType, Tensor};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pth");

fn fixture(name: &str) -> (String, Vec<u8>) {
    let path = format!("{FIXTURES}/{name}");
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

fn read(name: &str) -> Result<Vec<(String, Tensor)>, String> {
    let (path, bytes) = fixture(name);
    read_pth(&path, &bytes).map_err(|e| e.to_string())
}

fn read_err(name: &str) -> String {
    let e = read(name).unwrap_err();
    assert!(
        e.starts_with(&format!("{FIXTURES}/{name}: ")),
        "error must name the file: {e}"
    );
    assert!(!e.contains('\n'), "one line: {e}");
    e
}

const NAMES: [&str; 11] = [
    "emb.weight",
    "blocks.0.att.time_maa_x",
    "shared.a",
    "shared.b",
    "grid.rows",
    "column",
    "scalar",
    "empty",
    "special.f32",
    "special.f16",
    "special.bf16",
];

#[test]
fn tensors_equal_the_expected_safetensors() {
    let (path, bytes) = fixture("tensors_expected.safetensors");
    let expected: BTreeMap<String, Tensor> = read_safetensors(&path, &bytes)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(expected.len(), NAMES.len());
    for file in ["tensors.pth", "tensors_proto4.pth", "tensors_zip64.pth"] {
        let got = read(file).unwrap();
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, NAMES, "{file}: names in file order");
        for (name, t) in &got {
            let want = &expected[name];
            assert_eq!(
                (&t.shape, t.dtype),
                (&want.shape, want.dtype),
                "{file}: {name}"
            );
            assert_eq!(t.bytes, want.bytes, "{file}: {name}: bytes differ");
        }
    }
}

#[test]
fn hand_checked_values() {
    let got: BTreeMap<String, Tensor> = read("tensors.pth").unwrap().into_iter().collect();
    // grid = arange(20).reshape(4, 5); grid[1:3] starts at storage offset 5
    let rows = &got["grid.rows"];
    assert_eq!(rows.shape, [2, 5]);
    assert_eq!(rows.to_f32(), (5..15).map(|v| v as f32).collect::<Vec<_>>());
    assert_eq!(got["column"].shape, [3, 1]);
    assert_eq!(got["column"].to_f32(), [1.5, -2.0, 3.25]);
    assert_eq!(
        (got["scalar"].shape.len(), got["scalar"].to_f32()),
        (0, vec![0.5])
    );
    assert_eq!(
        (got["empty"].shape.clone(), got["empty"].bytes.len()),
        (vec![0, 3], 0)
    );
    let maa = &got["blocks.0.att.time_maa_x"];
    assert_eq!((maa.shape.clone(), maa.dtype), (vec![1, 1, 5], DType::BF16));
    assert_eq!(got["shared.a"].dtype, DType::F16);
    let f32s = got["special.f32"].to_f32();
    assert!(f32s[0] == 0.0 && f32s[0].is_sign_negative());
    assert!(f32s[1] == f32::INFINITY && f32s[3].is_nan());
}

#[test]
fn module_state_dict_with_metadata() {
    let got = read("module_state.pth").unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].0.as_str(), got[0].1.shape.clone()),
        ("weight", vec![2, 3])
    );
    assert_eq!(got[0].1.to_f32(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(
        (got[1].0.as_str(), got[1].1.to_f32()),
        ("bias", vec![10.0, 20.0])
    );
}

#[test]
fn tiny_official_rwkv6_pth_is_a_checkpoint() {
    let (path, bytes) = fixture("tiny_rwkv6.pth");
    let c = checkpoint_from_pth(&path, &bytes).unwrap();
    let k = &c.config;
    assert_eq!((k.n_layer, k.n_embd, k.n_head, k.head_size), (2, 8, 2, 4));
    assert_eq!((k.ffn_dim, k.vocab_size), (32, 16));
    assert_eq!(k.rwkv6_ranks(), Some((2, 4)));
    assert!(c.has_head());
    assert_eq!(c.dominant_dtype(), DType::BF16);
    let maa = c.get("blocks.1.att.time_maa_x").unwrap();
    assert_eq!(maa.shape, [1, 1, 8]);
    // value = index / 64, exact in bf16
    assert_eq!(
        maa.to_f32(),
        (0..8).map(|i| i as f32 / 64.0).collect::<Vec<_>>()
    );
}

/// What the browser does with a Blob: only the archive's last bytes, its central
/// directory, `data.pkl`, `byteorder` and each storage's local header are read; the plan
/// gives every tensor's absolute byte range.
fn read_by_parts(source: &str, bytes: &[u8], tail_len: usize) -> Vec<(String, Tensor)> {
    use rwkv_lens::model::{pth, zip};
    let len = bytes.len() as u64;
    let part = |r: std::ops::Range<u64>| &bytes[r.start as usize..r.end.min(len) as usize];
    let tail_start = len.saturating_sub(tail_len as u64);
    let dir = zip::locate_directory(source, part(tail_start..len), tail_start).unwrap();
    let cd = part(dir.offset..dir.offset + dir.size);
    let entries = zip::read_directory(source, &dir, cd).unwrap();
    let data = |e: &zip::Entry| {
        let local = part(e.local_offset..e.local_offset + zip::LOCAL_HEADER_LEN);
        zip::data_range(source, e, local, len).unwrap()
    };
    let pkl = pth::find_pickle(source, &entries).unwrap();
    let order = pth::byte_order_entry(&entries, pkl).map(|e| part(data(e)));
    let plan = pth::plan(source, &entries, pkl, part(data(pkl)), order, len).unwrap();
    plan.iter()
        .map(|t| {
            let start = data(&t.storage).start;
            let (shape, r) = t.range(source).unwrap();
            let raw = part(start + r.start..start + r.end).to_vec();
            (
                t.name.clone(),
                Tensor::new(shape, t.view.storage.dtype, raw).unwrap(),
            )
        })
        .collect()
}

#[test]
fn reading_by_parts_equals_reading_whole() {
    for name in [
        "tiny_rwkv6.pth",
        "tensors.pth",
        "tensors_zip64.pth",
        "module_state.pth",
    ] {
        let (path, bytes) = fixture(name);
        let whole = read_pth(&path, &bytes).unwrap();
        // just the end-of-directory records (no comment), or the browser's 64 KiB tail
        for tail in [22 + 20 + 56, zip::TAIL_BYTES as usize] {
            let parts = read_by_parts(&path, &bytes, tail);
            assert_eq!(parts.len(), whole.len(), "{name}");
            for ((na, ta), (nb, tb)) in parts.iter().zip(&whole) {
                assert_eq!(na, nb, "{name}");
                assert_eq!(ta.shape, tb.shape, "{name} {na}");
                assert_eq!(ta.bytes, tb.bytes, "{name} {na}");
            }
        }
    }
}

#[test]
fn malicious_pickles_are_refused_naming_the_global() {
    let e = read_err("malicious_system.pth");
    assert!(
        e.contains("malicious_system/data.pkl byte 13: refusing GLOBAL `posix.system`"),
        "{e}"
    );
    let e = read_err("malicious_eval.pth");
    assert!(e.contains("refusing GLOBAL `__builtin__.eval`"), "{e}");
}

#[test]
fn bad_files_give_one_line_errors() {
    let e = read_err("truncated.pth");
    assert!(e.contains("not a valid zip archive"), "{e}");
    let e = read_err("noncontiguous.pth");
    assert!(
        e.contains("tensor `t`: non-contiguous view (size [3, 2], stride [1, 3])"),
        "{e}"
    );
    let e = read_err("int64.pth");
    assert!(e.contains("`torch.LongStorage` is not supported"), "{e}");
    let e = read_err("legacy.pth");
    assert!(e.contains("legacy torch.save format"), "{e}");
}

// ---- hand-built archives ----

/// A zip of stored entries, as torch.save writes them (no alignment padding).
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for (name, data) in entries {
        let offset = out.len() as u32;
        let (crc, len, nlen) = (crc32(data), data.len() as u32, name.len() as u16);
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend([20, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // version, flags, method, time, date
        for v in [crc, len, len] {
            out.extend(v.to_le_bytes());
        }
        out.extend(nlen.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(name.as_bytes());
        out.extend(*data);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend([20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        for v in [crc, len, len] {
            central.extend(v.to_le_bytes());
        }
        central.extend(nlen.to_le_bytes());
        central.extend([0u8; 12]); // extra, comment, disk, attributes
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let (cd_offset, n) = (out.len() as u32, entries.len() as u16);
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0, 0, 0, 0]);
    out.extend(n.to_le_bytes());
    out.extend(n.to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend([0, 0]);
    out
}

/// `{'w': _rebuild_tensor_v2(storage '0' of `numel` f32, offset, (size,), (1,), False, OrderedDict())}`.
fn one_tensor_pickle(numel: u8, offset: u8, size: u8) -> Vec<u8> {
    let mut p = b"\x80\x02}(X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage".to_vec();
    p.extend(b"ctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK");
    p.extend([
        numel, b't', b'Q', b'K', offset, b'K', size, 0x85, b'K', 1, 0x85, 0x89,
    ]);
    p.extend(b"ccollections\nOrderedDict\n)RtRu.");
    p
}

fn storage(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[test]
fn hand_built_archive_reads() {
    let st = storage(&[1.0, 2.0, 3.0, 4.0]);
    let file = zip(&[
        ("m/data.pkl", &one_tensor_pickle(4, 1, 2)),
        ("m/data/0", &st),
    ]);
    let got = read_pth("m.pth", &file).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].0.as_str(), got[0].1.to_f32()),
        ("w", vec![2.0, 3.0])
    );
}

fn check_error(entries: &[(&str, &[u8])], want: &str) {
    let e = read_pth("m.pth", &zip(entries)).unwrap_err().to_string();
    assert!(
        e.starts_with("m.pth: ") && e.contains(want),
        "want `{want}` in: {e}"
    );
}

#[test]
fn hand_built_storage_errors() {
    let st = storage(&[1.0, 2.0, 3.0, 4.0]);
    let past_end = one_tensor_pickle(4, 3, 2);
    let msg = "tensor `w`: view of 2 elements at storage offset 3 runs past";
    check_error(&[("m/data.pkl", &past_end), ("m/data/0", &st)], msg);
    let ok = one_tensor_pickle(4, 0, 2);
    check_error(
        &[("m/data.pkl", &ok)],
        "tensor `w`: storage `m/data/0` is missing",
    );
    let wrong_numel = one_tensor_pickle(5, 0, 2);
    let msg = "holds 16 bytes, expected 5 f32 elements";
    check_error(&[("m/data.pkl", &wrong_numel), ("m/data/0", &st)], msg);
    check_error(&[("m/data/0", &st)], "without a `<name>/data.pkl` entry");
    check_error(
        &[
            ("m/data.pkl", &ok),
            ("m/byteorder", b"big"),
            ("m/data/0", &st),
        ],
        "byte order `big`",
    );
    // a corrupted pickle fails its CRC before the VM sees it
    let mut file = zip(&[("m/data.pkl", &ok), ("m/data/0", &st)]);
    file[40] ^= 1;
    let e = read_pth("m.pth", &file).unwrap_err().to_string();
    assert!(e.contains("CRC-32 mismatch"), "{e}");
}

#[test]
fn hand_built_pickle_errors() {
    for (pickle, want) in [
        (
            &b"\x80\x02(X\x02\x00\x00\x00lsios\nsystem\n."[..],
            "data.pkl byte 10: refusing opcode 0x69 INST",
        ),
        (
            b"\x80\x02K\x01.",
            "the pickled object is a int, not a state dict",
        ),
        (
            b"\x80\x02}X\x01\x00\x00\x00aK\x01s.",
            "tensor `a`: is a int, not a tensor",
        ),
        (b"\x80\x02}h\x07.", "byte 3: memo slot 7 is empty"),
        (b"\x80\x02(t0.", "refusing opcode 0x30 POP"),
        (b"\x80\x02X\xff\xff\xff\x7f", "byte 2: pickle ends early"),
        (b"\x80\x02}(u(s.", "stack underflow"),
        (
            b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n)R.",
            "_rebuild_tensor_v2 arguments",
        ),
        (
            b"\x80\x02ctorch\nFloatStorage\n)R.",
            "refusing REDUCE on Storage(F32)",
        ),
        (
            b"\x80\x02\x8c\x02os\x8c\x06system\x93.",
            "byte 14: refusing GLOBAL `os.system`",
        ),
        (b"\x80\x06}.", "unknown pickle protocol 6"),
    ] {
        check_error(&[("m/data.pkl", pickle)], want);
    }
}

#[test]
fn repeated_views_cannot_blow_up_memory() {
    // one 1024-element tensor memoised once, then stored under 200 names
    let mut p = b"\x80\x02}X\x04\x00\x00\x00k000ctorch._utils\n_rebuild_tensor_v2\n((".to_vec();
    p.extend(
        b"X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu",
    );
    p.extend(b"M\x00\x04tQK\x00M\x00\x04\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtRq\x00s");
    for i in 1..200 {
        p.extend(format!("X\x04\x00\x00\x00k{i:03}h\x00s").as_bytes());
    }
    p.push(b'.');
    let st = storage(&[0.5; 1024]);
    let e = read_pth("m.pth", &zip(&[("m/data.pkl", &p), ("m/data/0", &st)])).unwrap_err();
    assert!(
        e.to_string()
            .contains("more than 4× the file: views repeated?"),
        "{e}"
    );
}

#[test]
fn deep_nesting_is_harmless() {
    // 200k nested 1-tuples, then 200k MARKs: no recursion, so no stack overflow
    let mut p = b"\x80\x02K\x00".to_vec();
    p.extend(std::iter::repeat_n(0x85u8, 200_000));
    p.extend(std::iter::repeat_n(b'(', 200_000));
    p.push(b'.');
    let e = parse_state_dict("m.pth", "data.pkl", &p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("stack underflow"), "{e}");
    p.truncate(p.len() - 200_001);
    p.push(b'.');
    let e = parse_state_dict("m.pth", "data.pkl", &p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("a tuple, not a state dict"), "{e}");
}

// ---- fuzzing ----

/// The pickle of tensors.pth and its storages, to re-zip after mutating the pickle.
fn tensors_parts() -> Vec<(String, Vec<u8>)> {
    let (_, bytes) = fixture("tensors.pth");
    let z = rwkv_lens::model::zip::Zip::parse("tensors.pth", &bytes).unwrap();
    z.entries
        .iter()
        .map(|e| (e.name.clone(), z.data(e).unwrap().to_vec()))
        .collect()
}

#[test]
fn fuzz_inputs_are_valid_before_mutation() {
    let c = Checkpoint::from_safetensors_bytes("tiny", &tiny_checkpoint()).unwrap();
    assert_eq!((c.config.n_embd, c.config.n_layer), (8, 1));
    let parts = tensors_parts();
    let refs: Vec<(&str, &[u8])> = parts
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    assert_eq!(
        read_pth("rezipped", &zip(&refs)).unwrap().len(),
        NAMES.len()
    );
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn pth_random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_pth("fuzz.pth", &bytes);
        let mut zipped = b"PK\x03\x04".to_vec();
        zipped.extend(&bytes);
        let _ = read_pth("fuzz.pth", &zipped);
    }

    #[test]
    fn pth_mutated_file_never_panics(m in mutation()) {
        let (_, bytes) = fixture("tensors.pth");
        let _ = read_pth("fuzz.pth", &mutate(bytes, &m));
        let (_, bytes) = fixture("tensors_zip64.pth");
        let _ = read_pth("fuzz.pth", &mutate(bytes, &m));
    }

    #[test]
    fn pth_mutated_pickle_never_panics(m in mutation()) {
        let mut parts = tensors_parts();
        parts[0].1 = mutate(std::mem::take(&mut parts[0].1), &m);
        let refs: Vec<(&str, &[u8])> = parts.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
        if let Ok(tensors) = read_pth("fuzz.pth", &zip(&refs)) {
            for (_, t) in tensors {
                prop_assert_eq!(t.bytes.len(), t.numel() * t.dtype.size());
            }
        }
    }

    #[test]
    fn pickle_random_opcodes_never_panic(body in prop::collection::vec(
        prop_oneof![any::<u8>(), prop::sample::select(b"}()NtusbqhRQKX.\x85\x86\x87\x88\x89\x8a\x8c\x93\x94".to_vec())],
        0..256,
    )) {
        let mut p = b"\x80\x02".to_vec();
        p.extend(body);
        let _ = parse_state_dict("fuzz.pth", "data.pkl", &p);
    }

    #[test]
    fn safetensors_mutated_checkpoint_never_panics(m in mutation()) {
        let _ = Checkpoint::from_safetensors_bytes("fuzz.safetensors", &mutate(tiny_checkpoint(), &m));
    }

    #[test]
    fn safetensors_mutated_header_never_panics(m in mutation()) {
        // confine the edits to the JSON header, where the shapes and offsets live
        let bytes = tiny_checkpoint();
        let header_len = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let mut header = mutate(bytes[..header_len].to_vec(), &(m.0.clone(), None));
        header.extend(&bytes[header_len..]);
        let _ = Checkpoint::from_safetensors_bytes("fuzz.safetensors", &header);
    }

    #[test]
    fn checkpoint_random_shapes_never_panic(
        edits in prop::collection::vec((any::<Index>(), any::<Index>(), 0usize..12), 0..6),
        dropped in any::<Option<Index>>(),
    ) {
        // the tiny model's tensors with some axes resized and maybe one tensor missing
        let mut shapes = tiny_config().expected_shapes();
        for (which, axis, size) in &edits {
            let i = which.index(shapes.len());
            let shape = &mut shapes[i].1;
            let a = axis.index(shape.len());
            shape[a] = *size;
        }
        if let Some(d) = dropped {
            shapes.remove(d.index(shapes.len()));
        }
        let tensors: Vec<(String, Tensor)> = shapes
            .into_iter()
            .map(|(name, shape)| {
                let n = shape.iter().product::<usize>();
                (name, Tensor::from_f32(shape, &vec![0.25; n]))
            })
            .collect();
        let bytes = write_safetensors(&tensors).unwrap();
        let result = Checkpoint::from_safetensors_bytes("fuzz.safetensors", &bytes);
        if edits.is_empty() && dropped.is_none() {
            prop_assert!(result.is_ok());
        }
    }
}
