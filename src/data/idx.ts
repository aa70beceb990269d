/** IDX files (MNIST, Fashion-MNIST): gzipped or plain, validated with errors naming the file. */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

// NOTE: codes from LeCun's IDX spec: 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double
// (there is no 0x0A); multi-byte values are big-endian.
/** Element types of the IDX format (type byte -> name and size). */
const IDX_TYPES: Record<number, { name: IdxType; bytes: number }> = {
  0x08: { name: 'uint8', bytes: 1 }, 0x09: { name: 'int8', bytes: 1 }, 0x0b: { name: 'int16', bytes: 2 },
  0x0c: { name: 'int32', bytes: 4 }, 0x0d: { name: 'float32', bytes: 4 }, 0x0e: { name: 'float64', bytes: 8 },
};

/** Element type names of IDX data. */
export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** A parsed IDX file: element type, dimensions and values (host byte order). */
export interface IdxArray {
  type: IdxType;
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** Parses IDX bytes (gzip detected by its magic, not the file name); `source` names errors. */
export function parseIdx(raw: Uint8Array, source = 'IDX data'): IdxArray {
  let bytes = raw;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      bytes = gunzipSync(raw);
    } catch (error) {
      throw new Error(`${source}: corrupt gzip data (${(error as Error).message})`);
    }
  }
  if (bytes.length < 4) throw new Error(`${source}: not an IDX file: only ${bytes.length} bytes`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${source}: not an IDX file: wrong magic number 0x${Buffer.from(bytes.subarray(0, 4)).toString('hex')} (the first two bytes must be zero)`);
  }
  const type = IDX_TYPES[bytes[2]];
  if (!type) throw new Error(`${source}: unknown IDX element type 0x${bytes[2].toString(16).padStart(2, '0')}`);
  const rank = bytes[3];
  if (rank === 0) throw new Error(`${source}: IDX header declares zero dimensions`);
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) throw new Error(`${source}: truncated IDX header: needs ${headerBytes} bytes, file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  if (shape.some((d) => d === 0)) throw new Error(`${source}: IDX dimension of size zero in [${shape.join(', ')}]`);
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count * type.bytes;
  if (bytes.length < expected) {
    throw new Error(`${source}: truncated IDX file: header [${shape.join(' x ')}] ${type.name} needs ${expected} bytes, got ${bytes.length}`);
  }
  if (bytes.length > expected) throw new Error(`${source}: IDX file has ${bytes.length - expected} unexpected bytes after the data`);
  return { type: type.name, shape, data: decodeValues(view, headerBytes, count, type.name) };
}

function decodeValues(view: DataView, offset: number, count: number, type: IdxType): IdxArray['data'] {
  switch (type) {
    case 'uint8': return new Uint8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case 'int8': return new Int8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case 'int16': { const out = new Int16Array(count); for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false); return out; }
    case 'int32': { const out = new Int32Array(count); for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false); return out; }
    case 'float32': { const out = new Float32Array(count); for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false); return out; }
    default: { const out = new Float64Array(count); for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false); return out; }
  }
}

/** Reads and parses an IDX file (plain or gzipped). */
export function readIdx(path: string): IdxArray {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (error) {
    // NOTE: a directory or an unreadable file must still give an error naming the path, not a bare errno.
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(code === 'EISDIR' ? `${path}: is a directory, not an IDX file` : `${path}: cannot read (${(error as Error).message})`);
  }
  return parseIdx(raw, path);
}

/** Encodes values as IDX bytes (big-endian), for tests and exporting. */
export function encodeIdx(array: IdxArray): Uint8Array {
  const code = Number(Object.entries(IDX_TYPES).find(([, t]) => t.name === array.type)![0]);
  const size = IDX_TYPES[code].bytes;
  const header = 4 + 4 * array.shape.length;
  const out = new Uint8Array(header + array.data.length * size);
  const view = new DataView(out.buffer);
  out[2] = code; out[3] = array.shape.length;
  array.shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < array.data.length; i++) {
    const v = Number(array.data[i]);
    const at = header + i * size;
    switch (array.type) {
      case 'uint8': view.setUint8(at, v); break;
      case 'int8': view.setInt8(at, v); break;
      case 'int16': view.setInt16(at, v, false); break;
      case 'int32': view.setInt32(at, v, false); break;
      case 'float32': view.setFloat32(at, v, false); break;
      default: view.setFloat64(at, v, false);
    }
  }
  return out;
}
