import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DEBIAN_FASHION_MNIST_DIR, type IdxArray, encodeIdx, loadFashionMnist, loadIdxDataset, parseIdx, readIdx } from '../../src/data/index.js';
import { memory } from '../../src/tensor/index.js';

const dir = mkdtempSync(join(tmpdir(), 'kestrel-idx-'));

test('every IDX element type round-trips, plain and gzipped', () => {
  const cases: IdxArray[] = [
    { type: 'uint8', shape: [2, 3], data: Uint8Array.from([0, 1, 2, 253, 254, 255]) },
    { type: 'int8', shape: [3], data: Int8Array.from([-128, 0, 127]) },
    { type: 'int16', shape: [2], data: Int16Array.from([-32768, 32767]) },
    { type: 'int32', shape: [1, 2], data: Int32Array.from([-2147483648, 2147483647]) },
    { type: 'float32', shape: [2], data: Float32Array.from([1.5, -0.25]) },
    { type: 'float64', shape: [2], data: Float64Array.from([Math.PI, -1e300]) },
  ];
  for (const item of cases) {
    const bytes = encodeIdx(item);
    for (const [name, payload] of [['plain', bytes], ['gz', gzipSync(bytes)]] as const) {
      const path = join(dir, `${item.type}.${name}`);
      writeFileSync(path, payload);
      const parsed = readIdx(path);
      assert.equal(parsed.type, item.type);
      assert.deepEqual(parsed.shape, item.shape);
      assert.deepEqual(Array.from(parsed.data), Array.from(item.data));
    }
  }
  // Big-endian on disk: 0x0102 as int16 is 258.
  assert.equal(parseIdx(Uint8Array.from([0, 0, 0x0b, 1, 0, 0, 0, 1, 1, 2])).data[0], 258);
});

test('bad IDX input gives errors naming the file and the problem', () => {
  const good = encodeIdx({ type: 'uint8', shape: [4, 2, 2], data: new Uint8Array(16) });
  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated', good.subarray(0, good.length - 3), /truncated\.idx: truncated IDX file: header \[4 x 2 x 2\] uint8 needs 32 bytes, got 29/],
    ['magic', Uint8Array.from([1, 2, 8, 1, 0, 0, 0, 1, 0]), /magic\.idx: not an IDX file: wrong magic number 0x01020801/],
    ['type', Uint8Array.from([0, 0, 0x07, 1, 0, 0, 0, 1, 0]), /type\.idx: unknown IDX element type 0x07/],
    ['tiny', Uint8Array.from([0, 0]), /tiny\.idx: not an IDX file: only 2 bytes/],
    ['header', Uint8Array.from([0, 0, 8, 3, 0, 0]), /header\.idx: truncated IDX header: needs 16 bytes, file has 6/],
    ['zerodims', Uint8Array.from([0, 0, 8, 0]), /zerodims\.idx: IDX header declares zero dimensions/],
    ['badgzip', Uint8Array.from([0x1f, 0x8b, 8, 0, 1, 2, 3]), /badgzip\.idx: corrupt gzip data/],
    ['trailing', Uint8Array.from([...good, 9, 9]), /trailing\.idx: IDX file has 2 unexpected bytes after the data/],
  ];
  for (const [name, bytes, message] of cases) {
    const path = join(dir, `${name}.idx`);
    writeFileSync(path, bytes);
    assert.throws(() => readIdx(path), message, name);
  }
  assert.throws(() => readIdx(join(dir, 'absent.idx')), /absent\.idx: no such file/);
});

test('an IDX directory checks counts and labels, and leaks nothing when it fails', () => {
  const before = memory().liveTensors;
  const write = (name: string, item: IdxArray) => writeFileSync(join(dir, name), encodeIdx(item));
  write('train-images-idx3-ubyte', { type: 'uint8', shape: [3, 2, 2], data: new Uint8Array(12) });
  write('train-labels-idx1-ubyte', { type: 'uint8', shape: [2], data: new Uint8Array(2) });
  assert.throws(() => loadIdxDataset(dir), /train-labels-idx1-ubyte: 2 labels but .*train-images-idx3-ubyte has 3 images/);
  write('train-labels-idx1-ubyte', { type: 'uint8', shape: [3], data: Uint8Array.from([0, 1, 2]) });
  const ds = loadIdxDataset(dir, { classes: ['a', 'b', 'c'] });
  assert.deepEqual(ds.itemShape, [1, 2, 2]);
  assert.deepEqual(ds.classes, ['a', 'b', 'c']);
  ds.dispose();
  assert.throws(() => loadIdxDataset(dir, { classes: ['a', 'b'] }), /label 2 of sample 2 is out of range for 2 classes/);
  assert.throws(() => loadIdxDataset(dir, { split: 'test' }), /no t10k images file \(expected t10k-images-idx3-ubyte\.gz or t10k-images-idx3-ubyte\)/);
  assert.throws(() => loadIdxDataset(join(dir, 'nope')), /nope: no such directory/);
  assert.throws(() => loadFashionMnist({ dir: join(dir, 'nope') }), /apt-get install dataset-fashion-mnist/);
  assert.equal(memory().liveTensors, before);
});

test("Debian's Fashion-MNIST loads whole", { skip: existsSync(DEBIAN_FASHION_MNIST_DIR) ? undefined : `${DEBIAN_FASHION_MNIST_DIR} missing` }, () => {
  const train = loadFashionMnist({ split: 'train' });
  const test = loadFashionMnist({ split: 'test' });
  assert.deepEqual(train.images.shape, [60000, 1, 28, 28]);
  assert.deepEqual(test.images.shape, [10000, 1, 28, 28]);
  assert.equal(train.classes[0], 'T-shirt/top');
  const stats = train.computeStats();
  // Fashion-MNIST's well-known statistics: mean 0.2860, std 0.3530.
  assert.ok(Math.abs(stats.mean[0] - 0.2860) < 1e-3, `mean ${stats.mean[0]}`);
  assert.ok(Math.abs(stats.std[0] - 0.3530) < 1e-3, `std ${stats.std[0]}`);
  train.dispose(); test.dispose();
});
