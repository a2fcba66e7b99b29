//! A pickle VM that understands only what `torch.save(state_dict)` writes, and refuses
//! everything else with the opcode or global it met and its byte offset. It never
//! imports or calls anything: the few allowed globals are names it interprets itself.
//!
//! A state dict pickles as (protocol 2)
//! ```text
//! OrderedDict() { name: _rebuild_tensor_v2(BINPERSID(('storage', torch.HalfStorage, key,
//!                 location, numel)), storage_offset, size, stride, requires_grad, hooks), ... }
//! ```
//! Objects live in one arena and are referred to by index, so memo sharing is free,
//! there is no recursion anywhere, and memory stays proportional to the input
//! (at most [`MAX_OBJECTS`] objects and stack/memo slots).

use std::collections::HashMap;

use super::tensor::DType;
use crate::{Error, Result};

/// Cap on objects, stack slots and memo slots (a 14B model's pickle needs ~20k).
pub const MAX_OBJECTS: usize = 1 << 20;
/// Most axes a tensor may have.
const MAX_RANK: usize = 16;

/// A storage file of the archive, as named by a persistent id.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageRef {
    pub dtype: DType,
    /// The `data/<key>` file holding the storage.
    pub key: String,
    /// Elements in the whole storage.
    pub numel: u64,
}

/// A tensor as `_rebuild_tensor_v2` describes it: a view into a storage.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorRef {
    pub storage: StorageRef,
    /// In elements.
    pub offset: i64,
    pub size: Vec<i64>,
    pub stride: Vec<i64>,
}

impl TensorRef {
    /// Bytes of the tensor's data (saturating; 0 for negative sizes, refused later).
    pub fn byte_len(&self) -> u64 {
        let numel = self.size.iter().fold(1u64, |n, &d| {
            n.saturating_mul(u64::try_from(d).unwrap_or(0))
        });
        numel.saturating_mul(self.storage.dtype.size() as u64)
    }
}

/// The only callables a state dict needs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Global {
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    Storage(DType),
}

#[derive(Debug)]
enum Obj {
    None,
    /// True or False: never needed beyond its type.
    Bool,
    Int(i64),
    Str(String),
    Tuple(Vec<usize>),
    Dict(Vec<(usize, usize)>),
    Global(Global),
    Storage(StorageRef),
    Tensor(TensorRef),
}

impl Obj {
    fn kind(&self) -> &'static str {
        match self {
            Obj::None => "None",
            Obj::Bool => "bool",
            Obj::Int(_) => "int",
            Obj::Str(_) => "str",
            Obj::Tuple(_) => "tuple",
            Obj::Dict(_) => "dict",
            Obj::Global(_) => "global",
            Obj::Storage(_) => "storage",
            Obj::Tensor(_) => "tensor",
        }
    }
}

// Interned constants: objects 0..=3 of every arena.
const NONE: usize = 0;
const FALSE: usize = 1;
const TRUE: usize = 2;
const EMPTY_TUPLE: usize = 3;

/// Runs `pickle` (the bytes of `entry`, inside `source`) and returns the state dict:
/// tensor names and where their data lives, in file order.
pub fn parse_state_dict(
    source: &str,
    entry: &str,
    pickle: &[u8],
) -> Result<Vec<(String, TensorRef)>> {
    let mut vm = Vm {
        source,
        entry,
        data: pickle,
        pos: 0,
        op_at: 0,
        objs: vec![Obj::None, Obj::Bool, Obj::Bool, Obj::Tuple(Vec::new())],
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
    };
    let root = vm.run()?;
    vm.state_dict(root)
}

struct Vm<'a> {
    source: &'a str,
    entry: &'a str,
    data: &'a [u8],
    pos: usize,
    /// Offset of the opcode being executed (named in errors).
    op_at: usize,
    objs: Vec<Obj>,
    stack: Vec<usize>,
    /// Stack heights at each MARK.
    marks: Vec<usize>,
    memo: HashMap<u32, usize>,
}

impl<'a> Vm<'a> {
    fn fail(&self, at: usize, msg: impl std::fmt::Display) -> Error {
        Error::file(self.source, format!("{} byte {at}: {msg}", self.entry))
    }

    fn run(&mut self) -> Result<usize> {
        loop {
            let at = self.pos;
            self.op_at = at;
            let op = self.take(1)?[0];
            if op == b'.' {
                return self.pop(at); // STOP
            }
            self.step(op, at)?;
            if self.objs.len() > MAX_OBJECTS
                || self.stack.len() > MAX_OBJECTS
                || self.memo.len() > MAX_OBJECTS
            {
                return Err(self.fail(
                    at,
                    format!("more than {MAX_OBJECTS} objects: not a state dict"),
                ));
            }
        }
    }

    /// Executes one opcode (its argument bytes follow at `self.pos`).
    fn step(&mut self, op: u8, at: usize) -> Result<()> {
        if self.step_data(op, at)? {
            return Ok(());
        }
        match op {
            b'c' => {
                let module = self.line(at)?; // GLOBAL
                let name = self.line(at)?;
                self.global(&module, &name, at)
            }
            0x93 => {
                let name = self.pop_str(at)?; // STACK_GLOBAL
                let module = self.pop_str(at)?;
                self.global(&module, &name, at)
            }
            b'Q' => self.persistent_id(at), // BINPERSID
            b'R' => self.reduce(at),        // REDUCE
            b's' => {
                let value = self.pop(at)?; // SETITEM
                let key = self.pop(at)?;
                self.extend_dict(vec![key, value], at)
            }
            b'u' => {
                let items = self.pop_mark(at)?; // SETITEMS
                self.extend_dict(items, at)
            }
            b'b' => self.build(at), // BUILD
            _ => {
                let name = opcode_name(op);
                let msg =
                    format!("refusing opcode 0x{op:02x} {name}: not part of a torch state dict");
                Err(self.fail(at, format!("{msg} (nothing was executed)")))
            }
        }
    }

    /// Opcodes that only push plain data or use the memo; false if `op` is not one.
    fn step_data(&mut self, op: u8, at: usize) -> Result<bool> {
        match op {
            0x80 => {
                let proto = self.take(1)?[0]; // PROTO
                if proto > 5 {
                    return Err(self.fail(at, format!("unknown pickle protocol {proto}")));
                }
            }
            0x95 => {
                self.take(8)?; // FRAME: a length hint only
            }
            b'}' => self.push_new(Obj::Dict(Vec::new())), // EMPTY_DICT
            b')' => self.stack.push(EMPTY_TUPLE),
            b'N' => self.stack.push(NONE),
            0x88 => self.stack.push(TRUE),
            0x89 => self.stack.push(FALSE),
            b'(' => self.marks.push(self.stack.len()), // MARK
            b'K' | b'M' => {
                let v = self.uint(if op == b'K' { 1 } else { 2 })?; // BININT1, BININT2
                self.push_int(v as i64);
            }
            b'J' => {
                let v = self.uint(4)? as u32 as i32; // BININT: signed
                self.push_int(v.into());
            }
            0x8a => self.long1(at)?,      // LONG1
            b'X' => self.unicode(4, at)?, // BINUNICODE
            0x8c => self.unicode(1, at)?, // SHORT_BINUNICODE
            b't' => {
                let items = self.pop_mark(at)?; // TUPLE
                self.push_new(Obj::Tuple(items));
            }
            0x85..=0x87 => self.small_tuple(usize::from(op - 0x84), at)?, // TUPLE1..3
            b'q' | b'r' => {
                let index = self.uint(if op == b'q' { 1 } else { 4 })?; // BINPUT, LONG_BINPUT
                self.put(index, at)?;
            }
            0x94 => self.put(self.memo.len() as u64, at)?, // MEMOIZE
            b'h' | b'j' => {
                let index = self.uint(if op == b'h' { 1 } else { 4 })?; // BINGET, LONG_BINGET
                self.get(index, at)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    // ---- reading the byte stream ----

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let at = self.pos;
        let left = self.data.len() - at;
        if n > left {
            let msg = format!("pickle ends early (wants {n} bytes at byte {at}, {left} left)");
            return Err(self.fail(self.op_at, msg));
        }
        let end = at + n;
        self.pos = end;
        let data: &'a [u8] = self.data;
        Ok(&data[at..end])
    }

    fn uint(&mut self, n: usize) -> Result<u64> {
        let bytes = self.take(n)?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// A `\n`-terminated ASCII line (GLOBAL's module and name), at most 256 bytes.
    fn line(&mut self, at: usize) -> Result<String> {
        let rest = &self.data[self.pos..];
        let len = rest
            .iter()
            .take(256)
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.fail(at, "GLOBAL name is not a short line"))?;
        let text = String::from_utf8_lossy(&rest[..len]).into_owned();
        self.pos += len + 1;
        Ok(text)
    }

    // ---- the stack ----

    fn push_new(&mut self, obj: Obj) {
        self.objs.push(obj);
        self.stack.push(self.objs.len() - 1);
    }

    fn push_int(&mut self, v: i64) {
        self.push_new(Obj::Int(v));
    }

    /// The stack height below which the current MARK forbids popping.
    fn floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self, at: usize) -> Result<usize> {
        if self.stack.len() <= self.floor() {
            return Err(self.fail(at, "stack underflow"));
        }
        Ok(self.stack.pop().unwrap_or(NONE))
    }

    fn top(&self, at: usize) -> Result<usize> {
        match self.stack.last() {
            Some(&id) if self.stack.len() > self.floor() => Ok(id),
            _ => Err(self.fail(at, "stack underflow")),
        }
    }

    fn pop_mark(&mut self, at: usize) -> Result<Vec<usize>> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| self.fail(at, "no MARK to pop to"))?;
        Ok(self.stack.split_off(mark.min(self.stack.len())))
    }

    fn pop_str(&mut self, at: usize) -> Result<String> {
        let id = self.pop(at)?;
        match &self.objs[id] {
            Obj::Str(s) => Ok(s.clone()),
            other => Err(self.fail(at, format!("expected a str, found {}", other.kind()))),
        }
    }

    fn put(&mut self, index: u64, at: usize) -> Result<()> {
        let id = self.top(at)?;
        self.memo.insert(index as u32, id);
        Ok(())
    }

    fn get(&mut self, index: u64, at: usize) -> Result<()> {
        let id = *self
            .memo
            .get(&(index as u32))
            .ok_or_else(|| self.fail(at, format!("memo slot {index} is empty")))?;
        self.stack.push(id);
        Ok(())
    }

    // ---- opcodes with logic ----

    fn small_tuple(&mut self, n: usize, at: usize) -> Result<()> {
        if self.stack.len() < self.floor() + n {
            return Err(self.fail(at, "stack underflow"));
        }
        let items = self.stack.split_off(self.stack.len() - n);
        self.push_new(Obj::Tuple(items));
        Ok(())
    }

    /// BUILD: allowed only on a dict (an OrderedDict's `_metadata`); the state is dropped.
    fn build(&mut self, at: usize) -> Result<()> {
        self.pop(at)?;
        let target = self.top(at)?;
        match self.objs[target] {
            Obj::Dict(_) => Ok(()),
            ref other => Err(self.fail(at, format!("refusing BUILD on a {}", other.kind()))),
        }
    }

    fn long1(&mut self, at: usize) -> Result<()> {
        let n = usize::from(self.take(1)?[0]);
        if n > 8 {
            return Err(self.fail(at, format!("LONG1 of {n} bytes is too large")));
        }
        let bytes = self.take(n)?;
        let mut v = bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        if n > 0 && n < 8 && bytes[n - 1] & 0x80 != 0 {
            v |= !0u64 << (8 * n); // sign-extend
        }
        self.push_int(v as i64);
        Ok(())
    }

    fn unicode(&mut self, len_bytes: usize, at: usize) -> Result<()> {
        let n = self.uint(len_bytes)? as usize;
        let bytes = self.take(n)?;
        let s = std::str::from_utf8(bytes)
            .map_err(|_| self.fail(at, "string is not valid UTF-8"))?
            .to_string();
        self.push_new(Obj::Str(s));
        Ok(())
    }

    fn global(&mut self, module: &str, name: &str, at: usize) -> Result<()> {
        let g = match (module, name) {
            ("collections", "OrderedDict") => Global::OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensorV2,
            ("torch._utils", "_rebuild_parameter") => Global::RebuildParameter,
            ("torch", "FloatStorage") => Global::Storage(DType::F32),
            ("torch", "HalfStorage") => Global::Storage(DType::F16),
            ("torch", "BFloat16Storage") => Global::Storage(DType::BF16),
            ("torch", s) if s.ends_with("Storage") => {
                return Err(self.fail(
                    at,
                    format!("tensor storage `torch.{s}` is not supported (f32, f16 and bf16 only)"),
                ))
            }
            _ => {
                return Err(self.fail(
                    at,
                    format!("refusing GLOBAL `{module}.{name}`: not part of a torch state dict (nothing was executed)"),
                ))
            }
        };
        self.push_new(Obj::Global(g));
        Ok(())
    }

    /// BINPERSID with `('storage', torch.XStorage, key, location, numel)`.
    fn persistent_id(&mut self, at: usize) -> Result<()> {
        let pid = self.pop(at)?;
        let storage = match &self.objs[pid] {
            Obj::Tuple(items) if items.len() == 5 => {
                match items.iter().map(|&i| &self.objs[i]).collect::<Vec<_>>()[..] {
                    [Obj::Str(tag), Obj::Global(Global::Storage(dtype)), Obj::Str(key), _, Obj::Int(numel)]
                        if tag == "storage" && *numel >= 0 =>
                    {
                        Some(StorageRef {
                            dtype: *dtype,
                            key: key.clone(),
                            numel: *numel as u64,
                        })
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        let storage = storage.ok_or_else(|| {
            self.fail(
                at,
                "persistent id is not ('storage', torch.<dtype>Storage, key, location, numel)",
            )
        })?;
        self.push_new(Obj::Storage(storage));
        Ok(())
    }

    /// REDUCE: call one of the allowed globals, interpreted here.
    fn reduce(&mut self, at: usize) -> Result<()> {
        let args = self.pop(at)?;
        let callable = self.pop(at)?;
        match self.call(callable, args, at)? {
            Ok(obj) => self.push_new(obj),
            Err(existing) => self.stack.push(existing),
        }
        Ok(())
    }

    /// The result of `callable(*args)`: a new object, or (Err) an existing one.
    fn call(
        &self,
        callable: usize,
        args: usize,
        at: usize,
    ) -> Result<std::result::Result<Obj, usize>> {
        let Obj::Tuple(args) = &self.objs[args] else {
            return Err(self.fail(at, "REDUCE arguments are not a tuple"));
        };
        match self.objs[callable] {
            Obj::Global(Global::OrderedDict) if args.is_empty() => Ok(Ok(Obj::Dict(Vec::new()))),
            Obj::Global(Global::RebuildTensorV2) => {
                let tensor = self.rebuild_tensor(args).ok_or_else(|| {
                    self.fail(
                        at,
                        "_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, ...)",
                    )
                })?;
                Ok(Ok(Obj::Tensor(tensor)))
            }
            Obj::Global(Global::RebuildParameter) => match args.first() {
                Some(&t) if matches!(self.objs[t], Obj::Tensor(_)) => Ok(Err(t)),
                _ => Err(self.fail(at, "_rebuild_parameter expects a tensor")),
            },
            ref other => {
                let what = match other {
                    Obj::Global(g) => format!("{g:?}"),
                    o => format!("a {}", o.kind()),
                };
                let n = args.len();
                Err(self.fail(at, format!("refusing REDUCE on {what} with {n} arguments")))
            }
        }
    }

    fn rebuild_tensor(&self, args: &[usize]) -> Option<TensorRef> {
        if !(6..=7).contains(&args.len()) {
            return None;
        }
        let Obj::Storage(storage) = &self.objs[args[0]] else {
            return None;
        };
        let Obj::Int(offset) = self.objs[args[1]] else {
            return None;
        };
        Some(TensorRef {
            storage: storage.clone(),
            offset,
            size: self.ints(args[2])?,
            stride: self.ints(args[3])?,
        })
    }

    fn ints(&self, tuple: usize) -> Option<Vec<i64>> {
        let Obj::Tuple(items) = &self.objs[tuple] else {
            return None;
        };
        if items.len() > MAX_RANK {
            return None;
        }
        items
            .iter()
            .map(|&i| match self.objs[i] {
                Obj::Int(v) => Some(v),
                _ => None,
            })
            .collect()
    }

    fn extend_dict(&mut self, items: Vec<usize>, at: usize) -> Result<()> {
        if !items.len().is_multiple_of(2) {
            return Err(self.fail(at, "SETITEMS with an odd number of items"));
        }
        let target = self.top(at)?;
        let Obj::Dict(entries) = &mut self.objs[target] else {
            let kind = self.objs[target].kind();
            return Err(self.fail(at, format!("SETITEM(S) on a {kind}, not a dict")));
        };
        entries.extend(items.chunks_exact(2).map(|kv| (kv[0], kv[1])));
        Ok(())
    }

    /// The final object must be a dict of str → tensor.
    fn state_dict(&self, root: usize) -> Result<Vec<(String, TensorRef)>> {
        let Obj::Dict(entries) = &self.objs[root] else {
            let kind = self.objs[root].kind();
            return Err(self.fail(
                self.pos,
                format!("the pickled object is a {kind}, not a state dict"),
            ));
        };
        let mut out = Vec::with_capacity(entries.len());
        for &(k, v) in entries {
            let Obj::Str(name) = &self.objs[k] else {
                let kind = self.objs[k].kind();
                return Err(self.fail(self.pos, format!("state dict key is a {kind}, not a str")));
            };
            let Obj::Tensor(t) = &self.objs[v] else {
                let kind = self.objs[v].kind();
                return Err(Error::tensor(
                    self.source,
                    name,
                    format!("is a {kind}, not a tensor"),
                ));
            };
            out.push((name.clone(), t.clone()));
        }
        Ok(out)
    }
}

/// Names of every pickle opcode (protocols 0–5), for error messages.
#[rustfmt::skip]
fn opcode_name(op: u8) -> &'static str {
    const NAMES: &[(u8, &str)] = &[
        (b'(', "MARK"), (b'.', "STOP"), (b'0', "POP"), (b'1', "POP_MARK"), (b'2', "DUP"),
        (b'F', "FLOAT"), (b'I', "INT"), (b'J', "BININT"), (b'K', "BININT1"), (b'L', "LONG"),
        (b'M', "BININT2"), (b'N', "NONE"), (b'P', "PERSID"), (b'Q', "BINPERSID"),
        (b'R', "REDUCE"), (b'S', "STRING"), (b'T', "BINSTRING"), (b'U', "SHORT_BINSTRING"),
        (b'V', "UNICODE"), (b'X', "BINUNICODE"), (b'a', "APPEND"), (b'b', "BUILD"),
        (b'c', "GLOBAL"), (b'd', "DICT"), (b'}', "EMPTY_DICT"), (b'e', "APPENDS"), (b'g', "GET"),
        (b'h', "BINGET"), (b'i', "INST"), (b'j', "LONG_BINGET"), (b'l', "LIST"),
        (b']', "EMPTY_LIST"), (b'o', "OBJ"), (b'p', "PUT"), (b'q', "BINPUT"),
        (b'r', "LONG_BINPUT"), (b's', "SETITEM"), (b't', "TUPLE"), (b')', "EMPTY_TUPLE"),
        (b'u', "SETITEMS"), (b'G', "BINFLOAT"), (0x80, "PROTO"), (0x81, "NEWOBJ"), (0x82, "EXT1"),
        (0x83, "EXT2"), (0x84, "EXT4"), (0x85, "TUPLE1"), (0x86, "TUPLE2"), (0x87, "TUPLE3"),
        (0x88, "NEWTRUE"), (0x89, "NEWFALSE"), (0x8a, "LONG1"), (0x8b, "LONG4"),
        (0x8c, "SHORT_BINUNICODE"), (0x8d, "BINUNICODE8"), (0x8e, "BINBYTES8"),
        (0x8f, "EMPTY_SET"), (0x90, "ADDITEMS"), (0x91, "FROZENSET"), (0x92, "NEWOBJ_EX"),
        (0x93, "STACK_GLOBAL"), (0x94, "MEMOIZE"), (0x95, "FRAME"), (0x96, "BYTEARRAY8"),
        (0x97, "NEXT_BUFFER"), (0x98, "READONLY_BUFFER"), (b'B', "BINBYTES"),
        (b'C', "SHORT_BINBYTES"),
    ];
    NAMES
        .iter()
        .find(|(b, _)| *b == op)
        .map_or("(unknown)", |(_, n)| n)
}
