/** Shared helpers for the io tests: temporary directories, raw bytes, hand-built safetensors files. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Tensor, op, tensor, tidy } from '../../src/tensor/index.js';

/** A fresh temporary directory, removed by the returned cleanup function. */
export function tempDir(prefix = 'kestrel-io-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The raw bytes of a tensor's data. */
export function rawBytes(t: Tensor): Buffer {
  const data = t.toArray() as ArrayBufferView;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A float16 tensor holding exactly these bit patterns. */
export function float16FromBits(bits: Uint16Array, shape: number[]): Tensor {
  return tidy(() => op('aten::view', 'dtype', [tensor(new Int16Array(bits.buffer, bits.byteOffset, bits.length), [bits.length]).handle, 5]).reshape(shape));
}

/** Builds safetensors bytes from a header object (JSON-encoded as is) and a data section. */
export function rawSafetensors(header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): Buffer {
  const json = Buffer.from(headerText ?? JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.byteLength));
  return Buffer.concat([prefix, json, data]);
}

/** Splits safetensors bytes into the parsed header and the data section. */
export function splitSafetensors(bytes: Uint8Array): { header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> & { __metadata__?: Record<string, string> }; headerBytes: number; data: Buffer } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = Number(buffer.readBigUInt64LE(0));
  return { header: JSON.parse(buffer.subarray(8, 8 + length).toString('utf8')), headerBytes: length, data: buffer.subarray(8 + length) };
}
