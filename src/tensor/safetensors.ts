/** Reading and writing the Hugging Face safetensors format (header JSON + raw little-endian data). */
import { closeSync, fstatSync } from 'node:fs';
import { openForReading, readExactly } from './read-at.js';
import { endianness } from 'node:os';
import { Tensor } from './tensor.js';
import { type RawDType, tensorFromRawBytes } from './raw-bytes.js';
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

// NOTE: BF16 loads widened to float32 (exact); every other format keeps its dtype.
const RAW_DTYPES: Readonly<Record<string, RawDType>> = {
  F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16', I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};

function tensorFromBytes(entry: HeaderEntry, bytes: Uint8Array, label: string): Tensor {
  return tensorFromRawBytes(bytes, RAW_DTYPES[entry.format], entry.shape, `${label}: ${entry.format} tensor '${entry.name}'`);
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

/** A safetensors file opened for reading tensors one at a time (see {@link openSafetensors}). */
export interface SafetensorsReader {
  /** Tensor names, shapes and formats, in the order of their data. */
  entries: readonly { name: string; format: string; shape: number[] }[];
  /** The `__metadata__` strings. */
  metadata: Record<string, string>;
  /** Reads one tensor (the caller disposes it). */
  read(name: string): Tensor;
  /** Closes the file. */
  close(): void;
}

/**
 * Opens a safetensors file and validates its header (errors name the file) without reading any
 * tensor: each read() then reads just that tensor's bytes. Close it when done.
 */
export function openSafetensors(path: string): SafetensorsReader {
  const label = `safetensors file '${path}'`;
  const fd = openForReading(path, label);
  let header: ParsedHeader;
  try {
    const fileSize = fstatSync(fd).size;
    const prefix = new Uint8Array(8);
    if (fileSize >= 8) readExactly(fd, prefix, 0, label);
    const length = readHeaderLength(prefix, fileSize, label);
    const json = new Uint8Array(length);
    readExactly(fd, json, 8, label);
    header = parseHeader(json, fileSize - 8 - length, label);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  const byName = new Map(header.entries.map((e) => [e.name, e]));
  let open = true;
  return {
    entries: header.entries.map(({ name, format, shape }) => ({ name, format, shape: [...shape] })),
    metadata: header.metadata,
    read(name: string): Tensor {
      if (!open) throw new Error(`${label} is closed`);
      const entry = byName.get(name);
      if (entry === undefined) throw new Error(`${label} has no tensor '${name}'`);
      const bytes = new Uint8Array(entry.end - entry.begin);
      readExactly(fd, bytes, header.dataStart + entry.begin, label);
      return tensorFromBytes(entry, bytes, label);
    },
    close(): void {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/**
 * Loads a safetensors file, validating its header (errors name the file). The file is read
 * once, tensor by tensor, so memory beyond the tensors is one tensor's bytes.
 */
export function loadSafetensors(path: string): Safetensors {
  const reader = openSafetensors(path);
  try {
    const tensors = new Map<string, Tensor>();
    try {
      for (const { name } of reader.entries) tensors.set(name, reader.read(name));
    } catch (error) {
      for (const t of tensors.values()) t.dispose();
      throw error;
    }
    return { tensors, metadata: reader.metadata };
  } finally {
    reader.close();
  }
}
