import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memory } from '../../src/tensor/index.js';
import { decodeSafetensors, loadSafetensors } from '../../src/io/index.js';
import { rawSafetensors, tempDir } from './util.js';

const f32 = (shape: number[], begin: number, end: number): unknown => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

function lengthPrefix(length: bigint, rest: Uint8Array = new Uint8Array(0)): Buffer {
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(length);
  return Buffer.concat([prefix, rest]);
}

/** Corrupt files and the message each must produce (the file path is checked separately). */
const cases: [string, Uint8Array, RegExp][] = [
  ['empty file', new Uint8Array(0), /file is too short \(0 bytes\)/],
  ['5-byte file', new Uint8Array(5), /file is too short \(5 bytes\)/],
  ['header length beyond the file', lengthPrefix(64n, Buffer.from('{}')), /header length 64 is beyond the file size \(10 bytes\)/],
  ['absurd header length', lengthPrefix(2n ** 63n, Buffer.from('{}')), /header length 9223372036854775808 is beyond the 100000000-byte limit/],
  ['bad JSON', rawSafetensors(null, undefined, '{"a": {"dtype": "F32",'), /header is not valid JSON/],
  ['bad UTF-8', rawSafetensors(null, undefined, '{"x": 1}').fill(0xff, 10, 11), /header is not valid UTF-8/],
  ['header is an array', rawSafetensors([]), /header must be a JSON object/],
  ['entry is not an object', rawSafetensors({ w: 3 }), /tensor 'w' must be an object with dtype, shape and data_offsets/],
  ['unknown dtype', rawSafetensors({ w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /tensor 'w' has unknown dtype "F8_E4M3" \(Kestrel reads F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL\)/],
  ['missing dtype', rawSafetensors({ w: { shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor 'w' has unknown dtype undefined/],
  ['negative dimension', rawSafetensors({ w: f32([-1], 0, 4) }, new Uint8Array(4)), /tensor 'w' has an invalid shape \[-1\]/],
  ['fractional dimension', rawSafetensors({ w: f32([1.5], 0, 4) }, new Uint8Array(4)), /tensor 'w' has an invalid shape \[1.5\]/],
  ['offsets reversed', rawSafetensors({ w: f32([1], 4, 0) }, new Uint8Array(4)), /tensor 'w' has invalid data_offsets \[4,0\]/],
  ['offsets not a pair', rawSafetensors({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, new Uint8Array(4)), /tensor 'w' has invalid data_offsets \[0\]/],
  ['shape/byte-count mismatch', rawSafetensors({ w: f32([2, 3], 0, 20) }, new Uint8Array(20)), /tensor 'w': shape \[2, 3\] of F32 needs 24 bytes but data_offsets \[0, 20\] hold 20/],
  ['offsets out of range', rawSafetensors({ w: f32([4], 0, 16) }, new Uint8Array(8)), /tensor 'w' data_offsets \[0, 16\] are out of range \(the data section has 8 bytes\)/],
  ['overlapping tensors', rawSafetensors({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, new Uint8Array(12)), /tensor 'b' data_offsets \[4, 12\] overlap tensor 'a' \[0, 8\]/],
  ['gap between tensors', rawSafetensors({ a: f32([1], 0, 4), b: f32([1], 8, 12) }, new Uint8Array(12)), /do not cover the data: bytes 4..8 before tensor 'b' belong to no tensor/],
  ['trailing bytes', rawSafetensors({ a: f32([1], 0, 4) }, new Uint8Array(7)), /do not cover the data: tensors end at byte 4 but the data section has 7 bytes/],
  ['data without tensors', rawSafetensors({}, new Uint8Array(4)), /tensors end at byte 0 but the data section has 4 bytes/],
  ['metadata not strings', rawSafetensors({ __metadata__: { epoch: 3 } }), /__metadata__ value 'epoch' must be a string, got 3/],
  ['metadata not an object', rawSafetensors({ __metadata__: 'x' }), /__metadata__ must be an object of strings/],
  ['bool byte out of range', rawSafetensors({ a: f32([1], 0, 4), m: { dtype: 'BOOL', shape: [3], data_offsets: [4, 7] } }, Uint8Array.from([0, 0, 128, 63, 1, 2, 0])), /BOOL tensor 'm' holds byte 2 at element 1 \(must be 0 or 1\)/],
];

test('every corruption is rejected with a clear message naming the file', () => {
  const { dir, cleanup } = tempDir();
  try {
    const before = memory().liveTensors;
    for (const [name, bytes, message] of cases) {
      const path = join(dir, `${name.replace(/\W+/g, '-')}.safetensors`);
      writeFileSync(path, bytes);
      assert.throws(() => loadSafetensors(path), (error: Error) => {
        assert.match(error.message, message, `${name}: ${error.message}`);
        assert.ok(error.message.includes(`safetensors file '${path}'`), `${name}: names the file: ${error.message}`);
        return true;
      }, name);
      assert.throws(() => decodeSafetensors(bytes, { source: 'memory.bin' }), (error: Error) => /^memory\.bin: /.test(error.message) && message.test(error.message), `${name} (buffer)`);
      assert.equal(memory().liveTensors, before, `${name}: no tensors leak on failure`);
    }
  } finally { cleanup(); }
});

test('a missing file is reported by path', () => {
  assert.throws(() => loadSafetensors('/nonexistent/dir/w.safetensors'), /cannot read safetensors file '\/nonexistent\/dir\/w.safetensors': ENOENT/);
});

test('a truncated valid file is caught by the coverage check', () => {
  const { dir, cleanup } = tempDir();
  try {
    const full = rawSafetensors({ a: f32([2], 0, 8), b: f32([2], 8, 16) }, new Uint8Array(16));
    const path = join(dir, 'cut.safetensors');
    writeFileSync(path, full.subarray(0, full.byteLength - 3));
    assert.throws(() => loadSafetensors(path), /tensor 'b' data_offsets \[8, 16\] are out of range \(the data section has 13 bytes\)/);
  } finally { cleanup(); }
});
