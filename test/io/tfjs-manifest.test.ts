import test from 'node:test';
import assert from 'node:assert/strict';
import { memory } from '../../src/tensor/index.js';
import { type WeightsManifest, decodeWeightsManifest, validateWeightsManifest } from '../../src/io/tfjs/index.js';
import { float16ToFloat32 } from '../../src/io/tfjs/float16.js';

const bytesOf = (view: ArrayBufferView): Uint8Array => new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
const concat = (...parts: ArrayBufferView[]): Uint8Array => Buffer.concat(parts.map(bytesOf));
const values = (t: { toArray(): unknown }): number[] => Array.from(t.toArray() as ArrayLike<number>);

function reader(files: Record<string, Uint8Array>): (path: string) => Uint8Array {
  return (path) => {
    if (!Object.hasOwn(files, path)) throw new Error(`weight shard '${path}' is missing`);
    return files[path];
  };
}

test('float32 and int32 weights are read in manifest order across shards; a weight may span two shards', () => {
  const a = new Float32Array([1.5, -2, 3.25, 1e-30, -0]);
  const b = new Int32Array([7, -8, 2147483647]);
  const c = new Float32Array([0.1, 0.2, 0.3, 0.4]);
  const all = concat(a, b, c);
  // NOTE: the split falls inside weight `b`, as TF.js's 4 MB shards often do.
  const files = { s1: all.subarray(0, 26), s2: all.subarray(26) };
  const manifest: WeightsManifest = [{ paths: ['s1', 's2'], weights: [
    { name: 'l/a', shape: [5], dtype: 'float32' },
    { name: 'l/b', shape: [3], dtype: 'int32' },
    { name: 'm/c', shape: [2, 2], dtype: 'float32' },
  ] }];
  const before = memory().liveTensors;
  const out = decodeWeightsManifest(manifest, reader(files));
  assert.deepEqual([...out.keys()], ['l/a', 'l/b', 'm/c']);
  assert.deepEqual(values(out.get('l/a')!), Array.from(a));
  assert.ok(Object.is(values(out.get('l/a')!)[4], -0));
  assert.equal(out.get('l/b')!.dtype, 'int32');
  assert.deepEqual(values(out.get('l/b')!), [7, -8, 2147483647]);
  assert.deepEqual(out.get('m/c')!.shape, [2, 2]);
  assert.deepEqual(values(out.get('m/c')!), Array.from(c));
  for (const t of out.values()) t.dispose();
  assert.equal(memory().liveTensors, before);
});

test('uint8 and uint16 quantized weights decode as q * scale + min (in float32, as TF.js), int32 rounded', () => {
  const q8 = new Uint8Array([0, 1, 127, 255, 3]);
  const q16 = new Uint16Array([0, 1, 40000, 65535]);
  const qi = new Uint8Array([0, 1, 2]);
  const manifest: WeightsManifest = [{ paths: ['w.bin'], weights: [
    { name: 'u8', shape: [5], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.0123, min: -1.5 } },
    { name: 'u16', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'uint16', scale: 3.1e-5, min: -0.75 } },
    { name: 'i', shape: [3], dtype: 'int32', quantization: { dtype: 'uint8', scale: 0.6, min: 10 } },
  ] }];
  // NOTE: u16 starts at byte 5: decoding must not assume aligned offsets.
  const out = decodeWeightsManifest(manifest, reader({ 'w.bin': concat(q8, q16, qi) }));
  assert.deepEqual(values(out.get('u8')!), Array.from(Float32Array.from(q8, (q) => q * 0.0123 - 1.5)));
  assert.deepEqual(values(out.get('u16')!), Array.from(Float32Array.from(q16, (q) => q * 3.1e-5 - 0.75)));
  assert.deepEqual(values(out.get('i')!), [10, 11, 11]);
  for (const t of out.values()) t.dispose();
});

test('float16 weights decode exactly, special values included', () => {
  const bits = new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001, 0x03ff, 0x0400, 0x7bff, 0x8000, 0x7c00, 0xfc00, 0x7e00]);
  const expected = [1, -2, 0.333251953125, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 65504, -0, Infinity, -Infinity, NaN];
  assert.deepEqual(Array.from(float16ToFloat32(bits)), expected);
  const out = decodeWeightsManifest([{ paths: ['h'], weights: [{ name: 'h', shape: [11], dtype: 'float32', quantization: { dtype: 'float16' } }] }], reader({ h: bytesOf(bits) }));
  assert.deepEqual(values(out.get('h')!), expected);
  out.get('h')!.dispose();
});

test('several groups each start at the beginning of their own shards', () => {
  const manifest: WeightsManifest = [
    { paths: ['g1'], weights: [{ name: 'x', shape: [2], dtype: 'float32' }] },
    { paths: ['g2'], weights: [{ name: 'y', shape: [1], dtype: 'float32' }] },
  ];
  const out = decodeWeightsManifest(manifest, reader({ g1: bytesOf(new Float32Array([1, 2])), g2: bytesOf(new Float32Array([3])) }));
  assert.deepEqual(values(out.get('x')!), [1, 2]);
  assert.deepEqual(values(out.get('y')!), [3]);
  for (const t of out.values()) t.dispose();
});

test('a missing or truncated shard is one error naming the file, and nothing leaks', () => {
  const manifest: WeightsManifest = [{ paths: ['group1-shard1of2', 'group1-shard2of2'], weights: [{ name: 'k', shape: [4, 4], dtype: 'float32' }] }];
  const before = memory().liveTensors;
  assert.throws(() => decodeWeightsManifest(manifest, reader({ 'group1-shard1of2': new Uint8Array(32) })), /group1-shard2of2' is missing/);
  assert.throws(
    () => decodeWeightsManifest(manifest, reader({ 'group1-shard1of2': new Uint8Array(32), 'group1-shard2of2': new Uint8Array(20) })),
    /hold 52 bytes but their weights need 64: 'group1-shard2of2' is truncated/,
  );
  // A later group failing frees the tensors of earlier ones.
  const two: WeightsManifest = [{ paths: ['a'], weights: [{ name: 'a', shape: [1], dtype: 'float32' }] }, { paths: ['b'], weights: [{ name: 'b', shape: [1], dtype: 'float32' }] }];
  assert.throws(() => decodeWeightsManifest(two, reader({ a: new Uint8Array(4) })), /'b' is missing/);
  assert.equal(memory().liveTensors, before);
});

test('malformed manifests are refused with the entry named', () => {
  const cases: [unknown, RegExp][] = [
    [{}, /weightsManifest must be an array/],
    [[{ paths: 'x', weights: [] }], /weightsManifest\[0\] must be \{paths/],
    [[{ paths: ['../secret'], weights: [] }], /"\.\.\/secret" is not a relative file name/],
    [[{ paths: ['/etc/passwd'], weights: [] }], /is not a relative file name/],
    [[{ paths: ['a'], weights: [{ name: 'w', shape: [2, -1], dtype: 'float32' }] }], /weight 'w': shape must be/],
    [[{ paths: ['a'], weights: [{ name: 'w', shape: [2], dtype: 'string' }] }], /weight 'w': dtype "string" is not supported/],
    [[{ paths: ['a'], weights: [{ name: 'w', shape: [2], dtype: 'float32', quantization: { dtype: 'int4' } }] }], /quantization dtype "int4" is not supported/],
    [[{ paths: ['a'], weights: [{ name: 'w', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8', scale: 1 } }] }], /needs finite numbers 'scale' and 'min'/],
    [[{ paths: ['a'], weights: [{ name: 'w', shape: [2], dtype: 'int32', quantization: { dtype: 'float16' } }] }], /float16 quantization needs dtype float32/],
    [[{ paths: ['a'], weights: [{ name: 'w', shape: [1], dtype: 'float32' }, { name: 'w', shape: [1], dtype: 'float32' }] }], /weight 'w' appears twice/],
  ];
  for (const [manifest, message] of cases) assert.throws(() => validateWeightsManifest(manifest), message);
  // A huge declared shape is refused by the size check, before anything is allocated.
  assert.throws(() => decodeWeightsManifest([{ paths: ['a'], weights: [{ name: 'w', shape: [1e9, 1e9], dtype: 'float32' }] }], reader({ a: new Uint8Array(8) })), /shape \[1000000000, 1000000000\] is too large/);
});
