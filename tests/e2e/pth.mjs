// Writes a PyTorch `.pth` (the zip layout `torch.save` uses, protocol-2 pickle of an
// OrderedDict of `_rebuild_tensor_v2` calls, one storage file per tensor) from a
// safetensors file, without Python: the e2e test feeds it to the page's `.pth` reader.
import zlib from 'node:zlib';

const STORAGE = { F16: 'HalfStorage', BF16: 'BFloat16Storage', F32: 'FloatStorage' };
const SIZE = { F16: 2, BF16: 2, F32: 4 };

/** Tensors of a safetensors buffer: [{name, dtype, shape, data}] in file order. */
export function readSafetensors(buf) {
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString());
  return Object.entries(header).filter(([k]) => k !== '__metadata__')
    .map(([name, v]) => ({ name, dtype: v.dtype, shape: v.shape,
      data: buf.subarray(8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1]) }))
    .sort((a, b) => a.data.byteOffset - b.data.byteOffset);
}

/** The `data.pkl` of a state dict whose i-th tensor lives in storage `i`. */
function pickle(tensors) {
  const parts = [Buffer.from([0x80, 0x02])];
  const op = (s) => parts.push(Buffer.from(s, 'latin1'));
  const str = (s) => { const b = Buffer.from(s); const l = Buffer.alloc(5); l[0] = 0x58; l.writeUInt32LE(b.length, 1); parts.push(l, b); };
  const int = (v) => { const b = Buffer.alloc(5); b[0] = 0x4a; b.writeInt32LE(v, 1); parts.push(b); };
  const ordered = () => op('ccollections\nOrderedDict\n)R');
  ordered();
  op('(');
  tensors.forEach((t, i) => {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const strides = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    str(t.name);
    op('ctorch._utils\n_rebuild_tensor_v2\n(');
    op('('); str('storage'); op(`ctorch\n${STORAGE[t.dtype]}\n`); str(String(i)); str('cpu'); int(numel); op('tQ');
    int(0);
    op('('); t.shape.forEach(int); op('t');
    op('('); strides.forEach(int); op('t');
    op('\x89');
    ordered();
    op('tR');
  });
  op('u.');
  return Buffer.concat(parts);
}

/** A stored-only zip of [name, bytes] files. */
function zip(files) {
  const locals = [], centrals = [];
  let offset = 0;
  for (const [name, data] of files) {
    const n = Buffer.from(name), crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14); local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16); central.writeUInt32LE(data.length, 20); central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28); central.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0); eocd.writeUInt16LE(files.length, 8); eocd.writeUInt16LE(files.length, 10);
  eocd.writeUInt32LE(cd.length, 12); eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** `torch.save(state_dict)` of the given tensors, as bytes. */
export function writePth(tensors) {
  return zip([
    ['archive/data.pkl', pickle(tensors)],
    ['archive/byteorder', Buffer.from('little')],
    ...tensors.map((t, i) => [`archive/data/${i}`, t.data]),
    ['archive/version', Buffer.from('3\n')],
  ]);
}
