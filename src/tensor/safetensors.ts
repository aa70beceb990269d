/** Reading and writing the Hugging Face safetensors format (header JSON + raw little-endian data). */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { Tensor, op } from './tensor.js';
import { tensor } from './creation.js';
import { tidy } from './scope.js';
import { dtypeCode } from './dtype.js';
import { writeAll, writeFileAtomic } from './atomic.js';
import {
  type HeaderEntry, type ParsedHeader, type PlannedTensor, SAFETENSORS_DTYPES, buildHeader, parseHeader,
  readHeaderLength, safetensorsDTypeName,
} from './safetensors-header.js';

/** Named tensors to save: a Map (keeps its order) or a plain object. */
export type NamedTensors = Map<string, Tensor> | Record<string, Tensor>;

/** The contents of a safetensors file. */
export interface Safetensors {
  /** Tensors by name, in the order of their data in the file (the caller disposes them). */
  tensors: Map<string, Tensor>;
  /** The `__metadata__` strings (empty object when the file has none). */
  metadata: Record<string, string>;
}

// NOTE: safetensors is little-endian and Kestrel copies bytes as they are in memory.
if (endianness() !== 'LE') throw new Error('kestrel io: safetensors support needs a little-endian machine');

function plan(tensors: NamedTensors, metadata: Record<string, string> | undefined): { header: Uint8Array; order: [PlannedTensor, Tensor][] } {
  const source = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw new Error(`safetensors metadata '${key}' must be a string, got ${typeof value} (JSON-encode it)`);
    }
  }
  const order = source.map(([name, t]): [PlannedTensor, Tensor] => {
    if (name === '' || name === '__metadata__') throw new Error(`invalid tensor name ${JSON.stringify(name)} for safetensors`);
    if (!(t instanceof Tensor)) throw new Error(`'${name}' is not a Tensor`);
    if (t.isDisposed) throw new Error(`tensor '${name}' was disposed before saving`);
    const format = safetensorsDTypeName(t.dtype);
    return [{ name, format, shape: t.shape, byteLength: t.size * SAFETENSORS_DTYPES[format].bytes }, t];
  });
  // NOTE: larger elements first (a stable sort keeps the given order otherwise), as the reference
  // writer does: with the 8-aligned data start, every tensor's data is then aligned to its element size.
  order.sort((a, b) => SAFETENSORS_DTYPES[b[0].format].bytes - SAFETENSORS_DTYPES[a[0].format].bytes);
  return { header: buildHeader(order.map(([p]) => p), metadata), order };
}

function bytesOf(planned: PlannedTensor, t: Tensor): Uint8Array {
  const data = t.toArray() as ArrayBufferView;
  if (data.byteLength !== planned.byteLength) throw new Error(`tensor '${planned.name}' produced ${data.byteLength} bytes, expected ${planned.byteLength}`);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Encodes tensors (and optional string metadata) as safetensors bytes in memory. */
export function encodeSafetensors(tensors: NamedTensors, metadata?: Record<string, string>): Buffer {
  const { header, order } = plan(tensors, metadata);
  const total = order.reduce((sum, [p]) => sum + p.byteLength, header.byteLength);
  const out = Buffer.allocUnsafe(total);
  out.set(header, 0);
  let offset = header.byteLength;
  for (const [planned, t] of order) {
    out.set(bytesOf(planned, t), offset);
    offset += planned.byteLength;
  }
  return out;
}

/**
 * Saves tensors to a safetensors file atomically (temporary file, fsync, rename): a crash or
 * error never leaves a partial file under `path`. Tensors are copied out one at a time.
 */
export function saveSafetensors(path: string, tensors: NamedTensors, metadata?: Record<string, string>): void {
  const { header, order } = plan(tensors, metadata);
  writeFileAtomic(path, (fd) => {
    writeAll(fd, header);
    for (const [planned, t] of order) writeAll(fd, bytesOf(planned, t));
  });
}

// NOTE: one copy into libtorch: the bytes become a uint8 tensor which is reinterpreted in place
// (aten::view.dtype) and reshaped, so unaligned views into a larger buffer work too.
function tensorFromBytes(entry: HeaderEntry, bytes: Uint8Array, label: string): Tensor {
  if (entry.format === 'BF16') return tensor(widenBFloat16(bytes), entry.shape);
  if (entry.format === 'BOOL') {
    const bad = bytes.findIndex((b) => b > 1);
    if (bad >= 0) throw new Error(`${label}: BOOL tensor '${entry.name}' holds byte ${bytes[bad]} at element ${bad} (must be 0 or 1)`);
  }
  const { dtype } = SAFETENSORS_DTYPES[entry.format];
  return tidy(() => {
    const raw = tensor(bytes, [bytes.byteLength], { dtype: 'uint8' });
    const typed = dtype === 'uint8' ? raw : op('aten::view', 'dtype', [raw.handle, dtypeCode(dtype)]);
    return typed.reshape(entry.shape);
  });
}

function widenBFloat16(bytes: Uint8Array): Float32Array {
  const bits = new Uint32Array(bytes.byteLength / 2);
  for (let i = 0; i < bits.length; i++) bits[i] = ((bytes[2 * i] | (bytes[2 * i + 1] << 8)) << 16) >>> 0;
  return new Float32Array(bits.buffer);
}

function buildAll(header: ParsedHeader, read: (entry: HeaderEntry) => Uint8Array, label: string): Safetensors {
  const tensors = new Map<string, Tensor>();
  try {
    for (const entry of header.entries) tensors.set(entry.name, tensorFromBytes(entry, read(entry), label));
  } catch (error) {
    for (const t of tensors.values()) t.dispose();
    throw error;
  }
  return { tensors, metadata: header.metadata };
}

/** Decodes safetensors bytes; errors name `source` (default `<buffer>`). */
export function decodeSafetensors(bytes: Uint8Array, options: { source?: string } = {}): Safetensors {
  const label = options.source ?? '<buffer>';
  const length = readHeaderLength(bytes, bytes.byteLength, label);
  const dataBytes = bytes.byteLength - 8 - length;
  const header = parseHeader(bytes.subarray(8, 8 + length), dataBytes, label);
  return buildAll(header, (e) => bytes.subarray(header.dataStart + e.begin, header.dataStart + e.end), label);
}

function readExactly(fd: number, into: Uint8Array, position: number, label: string): void {
  let done = 0;
  while (done < into.byteLength) {
    const n = readSync(fd, into, done, into.byteLength - done, position + done);
    if (n === 0) throw new Error(`${label}: unexpected end of file at byte ${position + done} (the file changed while being read?)`);
    done += n;
  }
}

/**
 * Loads a safetensors file, validating its header (errors name the file). The file is read
 * once, tensor by tensor, so memory beyond the tensors is one tensor's bytes.
 */
export function loadSafetensors(path: string): Safetensors {
  const label = `safetensors file '${path}'`;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new Error(`cannot read ${label}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const fileSize = fstatSync(fd).size;
    const prefix = new Uint8Array(8);
    if (fileSize >= 8) readExactly(fd, prefix, 0, label);
    const length = readHeaderLength(prefix, fileSize, label);
    const json = new Uint8Array(length);
    readExactly(fd, json, 8, label);
    const header = parseHeader(json, fileSize - 8 - length, label);
    const largest = header.entries.reduce((max, e) => Math.max(max, e.end - e.begin), 0);
    const scratch = new Uint8Array(largest);
    return buildAll(header, (e) => {
      const view = scratch.subarray(0, e.end - e.begin);
      readExactly(fd, view, header.dataStart + e.begin, label);
      return view;
    }, label);
  } finally {
    closeSync(fd);
  }
}
