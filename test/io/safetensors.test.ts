import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DType, type Tensor, dispose, memory, tensor, tidy } from '../../src/tensor/index.js';
import { SAFETENSORS_DTYPES, decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors } from '../../src/io/index.js';
import { float16FromBits, rawBytes, splitSafetensors, tempDir } from './util.js';

const nanWithPayload = new Float32Array(new Uint32Array([0x7fc00001, 0xffbfffff]).buffer);

/** One tensor per dtype with awkward values (signed zero, NaN payloads, extremes, subnormals). */
function everyDType(): Map<string, Tensor> {
  const f16bits = new Uint16Array(1 << 16).map((_, i) => i); // every half-precision bit pattern
  return new Map<string, Tensor>([
    ['f32', tensor(new Float32Array([0, -0, 1.5, -3.25e-42, 3.4028234e38, -Infinity, Infinity, nanWithPayload[0], nanWithPayload[1], 1e-45, Math.PI]), [11])],
    ['f64', tensor(new Float64Array([0, -0, Number.MIN_VALUE, Number.MAX_VALUE, NaN, -Infinity, Math.E, 1 / 3]), [2, 4])],
    ['i64', tensor(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 123456789012345678n, 42n]), [3, 2])],
    ['i32', tensor(new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0, -7]), [2, 1, 2])],
    ['i16', tensor(new Int16Array([-32768, 32767, 0, -1, 1234, -4321]), [6])],
    ['i8', tensor(new Int8Array([-128, 127, 0, -1, 5]), [5])],
    ['u8', tensor(new Uint8Array([0, 255, 128, 7]), [2, 2])],
    ['bool', tensor(new Uint8Array([1, 0, 0, 1, 1]), [5], { dtype: 'bool' })],
    ['f16', float16FromBits(f16bits, [256, 256])],
  ]);
}

function assertSameTensors(actual: Map<string, Tensor>, expected: Map<string, Tensor>): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [name, e] of expected) {
    const a = actual.get(name)!;
    assert.equal(a.dtype, e.dtype, `${name} dtype`);
    assert.deepEqual(a.shape, e.shape, `${name} shape`);
    assert.ok(rawBytes(a).equals(rawBytes(e)), `${name} bytes differ`);
  }
}

test('every dtype round-trips bit-exactly through files and buffers', () => {
  const { dir, cleanup } = tempDir();
  try {
    tidy(() => {
      const tensors = everyDType();
      const path = join(dir, 'all.safetensors');
      saveSafetensors(path, tensors);
      const fromFile = loadSafetensors(path);
      assertSameTensors(fromFile.tensors, tensors);
      assert.deepEqual(fromFile.metadata, {});
      const fromBuffer = decodeSafetensors(encodeSafetensors(tensors));
      assertSameTensors(fromBuffer.tensors, tensors);
      assert.ok(readFileSync(path).equals(encodeSafetensors(tensors)), 'file and buffer encodings are identical');
      const dtypes = new Set([...fromFile.tensors.values()].map((t) => t.dtype));
      assert.deepEqual([...dtypes].sort(), ['bool', 'float16', 'float32', 'float64', 'int16', 'int32', 'int64', 'int8', 'uint8'] satisfies DType[]);
    });
  } finally { cleanup(); }
});

test('layout follows the spec: 8-aligned padded header, data aligned per dtype, exact tiling', () => {
  tidy(() => {
    const bytes = encodeSafetensors(everyDType(), { format: 'pt' });
    const { header, headerBytes, data } = splitSafetensors(bytes);
    assert.equal(headerBytes % 8, 0);
    const text = bytes.subarray(8, 8 + headerBytes).toString('utf8');
    assert.match(text, /^\{.*\} *$/s, 'JSON then space padding only');
    assert.deepEqual(header.__metadata__, { format: 'pt' });
    let end = 0;
    const entries = Object.entries(header).filter(([k]) => k !== '__metadata__') as [string, { dtype: string; data_offsets: [number, number] }][];
    entries.sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
    for (const [name, entry] of entries) {
      const [begin, stop] = entry.data_offsets;
      assert.equal(begin, end, `${name} starts where the previous tensor ended`);
      assert.equal((8 + headerBytes + begin) % SAFETENSORS_DTYPES[entry.dtype].bytes, 0, `${name} aligned`);
      end = stop;
    }
    assert.equal(end, data.byteLength);
    assert.deepEqual(Object.fromEntries(entries.map(([n, e]) => [n, e.dtype])),
      { f32: 'F32', f64: 'F64', i64: 'I64', i32: 'I32', i16: 'I16', i8: 'I8', u8: 'U8', bool: 'BOOL', f16: 'F16' });
  });
});

test('metadata, empty tensors and 0-d scalars round-trip; records work like maps', () => {
  tidy(() => {
    const tensors: Record<string, Tensor> = {
      'scalar.f32': tensor(new Float32Array([2.5]), []),
      'scalar.i64': tensor(new BigInt64Array([-9n]), []),
      'scalar.bool': tensor(new Uint8Array([1]), [], { dtype: 'bool' }),
      'empty.f32': tensor(new Float32Array(0), [0]),
      'empty.i8': tensor(new Int8Array(0), [2, 0, 3]),
      'empty.f16': float16FromBits(new Uint16Array(0), [0, 4]),
    };
    const metadata = { format: 'pt', note: 'ünïcødé ✓', empty: '', json: '{"a":[1,2]}' };
    const { tensors: loaded, metadata: meta } = decodeSafetensors(encodeSafetensors(tensors, metadata));
    assert.deepEqual(meta, metadata);
    assertSameTensors(loaded, new Map(Object.entries(tensors)));
    assert.deepEqual(loaded.get('scalar.f32')!.shape, []);
    assert.equal(loaded.get('scalar.f32')!.item(), 2.5);
    assert.equal(loaded.get('scalar.i64')!.item(), -9);
    assert.deepEqual(loaded.get('empty.i8')!.shape, [2, 0, 3]);
    const none = decodeSafetensors(encodeSafetensors(new Map()));
    assert.equal(none.tensors.size, 0);
  });
});

test('BF16 loads widened exactly to float32', () => {
  const values = new Float32Array([1, -2.5, 0.15625, -0, Infinity, 3.0e38, 1.1754944e-38]);
  const bf16 = new Uint16Array(values.length);
  const bits = new Uint32Array(values.buffer);
  bits.forEach((b, i) => { bf16[i] = b >>> 16; });
  const header = { w: { dtype: 'BF16', shape: [values.length], data_offsets: [0, bf16.byteLength] } };
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8); prefix.writeBigUInt64LE(BigInt(json.byteLength));
  tidy(() => {
    const { tensors } = decodeSafetensors(Buffer.concat([prefix, json, Buffer.from(bf16.buffer)]));
    const w = tensors.get('w')!;
    assert.equal(w.dtype, 'float32');
    const expected = new Float32Array(new Uint32Array(Array.from(bf16, (b) => (b << 16) >>> 0)).buffer);
    assert.ok(rawBytes(w).equals(Buffer.from(expected.buffer)));
    assert.deepEqual(Array.from(w.toArray() as Float32Array).slice(0, 5), [1, -2.5, 0.15625, -0, Infinity]);
  });
});

test('decoding reads unaligned views of a larger buffer', () => {
  tidy(() => {
    const inner = encodeSafetensors({ x: tensor(new Float64Array([1.25, -7]), [2]), y: tensor(new Int32Array([3]), [1]) });
    const outer = Buffer.alloc(inner.byteLength + 3);
    inner.copy(outer, 3);
    const { tensors } = decodeSafetensors(outer.subarray(3));
    assert.deepEqual(tensors.get('x')!.toList(), [1.25, -7]);
    assert.deepEqual(tensors.get('y')!.toList(), [3]);
  });
});

test('saving and loading leave liveTensors unchanged apart from the loaded tensors', () => {
  const { dir, cleanup } = tempDir();
  try {
    const tensors = everyDType();
    const before = memory().liveTensors;
    const path = join(dir, 'm.safetensors');
    saveSafetensors(path, tensors, { a: 'b' });
    encodeSafetensors(tensors);
    assert.equal(memory().liveTensors, before, 'save and encode create no lasting tensors');
    const loaded = loadSafetensors(path);
    assert.equal(memory().liveTensors, before + tensors.size, 'load returns exactly one tensor per entry');
    dispose([...loaded.tensors.values()]);
    const decoded = decodeSafetensors(readFileSync(path));
    assert.equal(memory().liveTensors, before + tensors.size);
    dispose([...decoded.tensors.values()]);
    assert.equal(memory().liveTensors, before);
    dispose([...tensors.values()]);
  } finally { cleanup(); }
});

test('saving rejects bad input with clear errors', () => {
  const { dir, cleanup } = tempDir();
  try {
    tidy(() => {
      const t = tensor([1, 2]);
      assert.throws(() => saveSafetensors(join(dir, 'a'), { __metadata__: t }), /invalid tensor name "__metadata__"/);
      assert.throws(() => saveSafetensors(join(dir, 'a'), { '': t }), /invalid tensor name ""/);
      assert.throws(() => saveSafetensors(join(dir, 'a'), { t }, { n: 3 as unknown as string }), /metadata 'n' must be a string/);
      assert.throws(() => saveSafetensors(join(dir, 'a'), { t: [1] as unknown as Tensor }), /'t' is not a Tensor/);
      const gone = tensor([1]); gone.dispose();
      assert.throws(() => saveSafetensors(join(dir, 'a'), { gone }), /tensor 'gone' was disposed before saving/);
      assert.throws(() => saveSafetensors(join(dir, 'missing', 'a'), { t }), /cannot write '.*missing\/a'|ENOENT/);
    });
  } finally { cleanup(); }
});

test('saving non-contiguous and gradient-tracking tensors stores their values', () => {
  tidy(() => {
    const base = tensor([[1, 2, 3], [4, 5, 6]], { requiresGrad: true });
    const { tensors } = decodeSafetensors(encodeSafetensors({ t: base.t(), p: base }));
    assert.deepEqual(tensors.get('t')!.toList(), [[1, 4], [2, 5], [3, 6]]);
    assert.equal(tensors.get('p')!.requiresGrad, false);
  });
});

test('writing a file again replaces it', () => {
  const { dir, cleanup } = tempDir();
  try {
    tidy(() => {
      const path = join(dir, 'x.safetensors');
      saveSafetensors(path, { a: tensor([1]) });
      saveSafetensors(path, { b: tensor([2, 3]) });
      assert.deepEqual([...loadSafetensors(path).tensors.keys()], ['b']);
    });
  } finally { cleanup(); }
});
