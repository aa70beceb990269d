/** The safetensors header: dtype names, building the padded JSON header, and validating one. */
import type { DType } from './dtype.js';

/** How a safetensors dtype maps onto a Kestrel dtype. */
export interface SafetensorsDType {
  /** The Kestrel dtype tensors of this type load as. */
  dtype: DType;
  /** Bytes per element in the file. */
  bytes: number;
}

/**
 * The safetensors dtypes Kestrel reads. BF16 loads widened to float32, which is exact (a bfloat16
 * is the top half of a float32), so loaded weights are float32 masters even under mixed precision.
 */
export const SAFETENSORS_DTYPES: Readonly<Record<string, SafetensorsDType>> = {
  F64: { dtype: 'float64', bytes: 8 }, F32: { dtype: 'float32', bytes: 4 }, F16: { dtype: 'float16', bytes: 2 },
  BF16: { dtype: 'float32', bytes: 2 }, I64: { dtype: 'int64', bytes: 8 }, I32: { dtype: 'int32', bytes: 4 },
  I16: { dtype: 'int16', bytes: 2 }, I8: { dtype: 'int8', bytes: 1 }, U8: { dtype: 'uint8', bytes: 1 },
  BOOL: { dtype: 'bool', bytes: 1 },
};

const NAME_OF: Record<DType, string> = {
  float64: 'F64', float32: 'F32', float16: 'F16', int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL', bfloat16: 'BF16',
};

/** The safetensors dtype name of a Kestrel dtype. */
export function safetensorsDTypeName(dtype: DType): string {
  const name = NAME_OF[dtype];
  if (name === undefined) throw new Error(`dtype '${dtype}' cannot be stored in safetensors`);
  return name;
}

/** Largest header accepted (the reference Rust implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's entry in a header, validated. */
export interface HeaderEntry {
  /** Tensor name. */
  name: string;
  /** Safetensors dtype name (`F32`). */
  format: string;
  /** Sizes of each dimension. */
  shape: number[];
  /** Start of the data, relative to the data section. */
  begin: number;
  /** End (exclusive) of the data, relative to the data section. */
  end: number;
}

/** A validated header: entries in data order, metadata, and where the data section starts. */
export interface ParsedHeader {
  /** Tensors sorted by their offset in the data section. */
  entries: HeaderEntry[];
  /** The `__metadata__` strings (empty when absent). */
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file (8 + header length). */
  dataStart: number;
}

/** A tensor to be written: its dtype name, shape and byte length. */
export interface PlannedTensor {
  /** Tensor name. */
  name: string;
  /** Safetensors dtype name. */
  format: string;
  /** Sizes of each dimension. */
  shape: number[];
  /** Data bytes. */
  byteLength: number;
}

/**
 * The 8-byte length prefix plus the JSON header (space-padded to a multiple of 8) for tensors
 * written in the given order, back to back.
 */
export function buildHeader(tensors: PlannedTensor[], metadata: Record<string, string> | undefined): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.format, shape: t.shape, data_offsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = Buffer.alloc(8 + padded, 0x20);
  out.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(out, 8);
  return out;
}

/** Reads the header length from the first 8 bytes, checking it against the file size. */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, label: string): number {
  if (fileSize < 8) throw new Error(`${label}: file is too short (${fileSize} bytes) to be safetensors; it needs at least the 8-byte header length`);
  const length = Buffer.from(prefix.buffer, prefix.byteOffset, 8).readBigUInt64LE(0);
  if (length > BigInt(MAX_HEADER_BYTES)) throw new Error(`${label}: header length ${length} is beyond the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
  if (Number(length) + 8 > fileSize) throw new Error(`${label}: header length ${length} is beyond the file size (${fileSize} bytes); the file is truncated or not safetensors`);
  return Number(length);
}

/** Parses and validates the JSON header; `dataBytes` is the size of the data section. */
export function parseHeader(json: Uint8Array, dataBytes: number, label: string): ParsedHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    throw new Error(`${label}: header is not valid UTF-8`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${label}: header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${label}: header must be a JSON object`);
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') Object.assign(metadata, parseMetadata(value, label));
    else entries.push(parseEntry(name, value, label));
  }
  checkCoverage(entries, dataBytes, label);
  return { entries, metadata, dataStart: 8 + json.byteLength };
}

function parseMetadata(value: unknown, label: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${label}: __metadata__ must be an object of strings`);
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') throw new Error(`${label}: __metadata__ value '${key}' must be a string, got ${JSON.stringify(item)}`);
  }
  return value as Record<string, string>;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function parseEntry(name: string, value: unknown, label: string): HeaderEntry {
  const where = `${label}: tensor '${name}'`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where} must be an object with dtype, shape and data_offsets`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in SAFETENSORS_DTYPES)) {
    throw new Error(`${where} has unknown dtype ${JSON.stringify(dtype)} (Kestrel reads ${Object.keys(SAFETENSORS_DTYPES).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) throw new Error(`${where} has an invalid shape ${JSON.stringify(shape)} (need an array of non-negative integers)`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw new Error(`${where} has invalid data_offsets ${JSON.stringify(offsets)} (need [begin, end] with 0 <= begin <= end)`);
  }
  const [begin, end] = offsets as [number, number];
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  const needed = count * SAFETENSORS_DTYPES[dtype].bytes;
  if (needed !== end - begin) {
    throw new Error(`${where}: shape [${shape.join(', ')}] of ${dtype} needs ${needed} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  return { name, format: dtype, shape: shape as number[], begin, end };
}

// NOTE: like the reference implementation, tensors must tile the data section exactly: no
// gaps, no overlaps, nothing after the last tensor. That catches truncation and corruption.
function checkCoverage(entries: HeaderEntry[], dataBytes: number, label: string): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let previous: HeaderEntry | undefined;
  for (const entry of entries) {
    if (entry.end > dataBytes) {
      throw new Error(`${label}: tensor '${entry.name}' data_offsets [${entry.begin}, ${entry.end}] are out of range (the data section has ${dataBytes} bytes)`);
    }
    if (entry.begin < expected) {
      throw new Error(`${label}: tensor '${entry.name}' data_offsets [${entry.begin}, ${entry.end}] overlap tensor '${previous!.name}' [${previous!.begin}, ${previous!.end}]`);
    }
    if (entry.begin > expected) {
      throw new Error(`${label}: data_offsets do not cover the data: bytes ${expected}..${entry.begin} before tensor '${entry.name}' belong to no tensor`);
    }
    expected = entry.end;
    previous = entry;
  }
  if (expected !== dataBytes) {
    throw new Error(`${label}: data_offsets do not cover the data: tensors end at byte ${expected} but the data section has ${dataBytes} bytes`);
  }
}
