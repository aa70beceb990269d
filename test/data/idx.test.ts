import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DEBIAN_FASHION_MNIST_DIR, type IdxArray, encodeIdx, loadFashionMnist, loadIdxDataset, parseIdx, readIdx } from '../../src/data/index.js';
import { dispose, memory } from '../../src/tensor/index.js';

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
  assert.throws(() => readIdx(dir), /kestrel-idx-\w+: is a directory, not an IDX file/);
  // A gzip stream cut short is reported as corrupt gzip, with the file's name.
  writeFileSync(join(dir, 'cut.gz'), gzipSync(good).subarray(0, 20));
  assert.throws(() => readIdx(join(dir, 'cut.gz')), /cut\.gz: corrupt gzip data \(unexpected end of file\)/);
  writeFileSync(join(dir, 'zerodim.idx'), Uint8Array.from([0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 0]));
  assert.throws(() => readIdx(join(dir, 'zerodim.idx')), /zerodim\.idx: IDX dimension of size zero in \[3, 0\]/);
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
  writeFileSync(join(dir, 'a-file'), 'not a directory');
  assert.throws(() => loadIdxDataset(join(dir, 'a-file')), /a-file: not a directory/);
  assert.throws(() => loadFashionMnist({ dir: join(dir, 'nope') }), /Fashion-MNIST not found at .*nope: install it with 'sudo apt-get install dataset-fashion-mnist'/);
  // A directory without the test files: the hint says what is missing and where to get it.
  assert.throws(() => loadFashionMnist({ dir, split: 'test' }), /Fashion-MNIST incomplete: .*no t10k images file .*apt-get install dataset-fashion-mnist/);
  assert.equal(memory().liveTensors, before);
});

test('an IDX directory accepts plain and gzipped names, [N, C, H, W] and float images', () => {
  const sub = mkdtempSync(join(tmpdir(), 'kestrel-idx-kinds-'));
  const pixels = Float32Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i / 24);
  writeFileSync(join(sub, 't10k-images-idx3-ubyte.gz'), gzipSync(encodeIdx({ type: 'float32', shape: [2, 3, 2, 2], data: pixels })));
  writeFileSync(join(sub, 't10k-labels-idx1-ubyte'), encodeIdx({ type: 'uint8', shape: [2], data: Uint8Array.from([1, 0]) }));
  const before = memory().liveTensors;
  const ds = loadIdxDataset(sub, { split: 'test', classes: ['x', 'y'] });
  assert.equal(ds.images.dtype, 'float32');
  assert.deepEqual(ds.images.shape, [2, 3, 2, 2]);
  const { x, y } = ds.getBatch(Int32Array.from([1]));
  // Float images are taken as already in [0, 1]: not divided by 255.
  assert.deepEqual(Array.from(x.toArray() as Float32Array), Array.from(pixels.subarray(12)));
  assert.deepEqual(Array.from(y.toArray() as BigInt64Array, Number), [0]);
  dispose([x, y]); ds.dispose();
  writeFileSync(join(sub, 't10k-images-idx3-ubyte.gz'), gzipSync(encodeIdx({ type: 'int16', shape: [2, 2, 2], data: new Int16Array(8) })));
  assert.throws(() => loadIdxDataset(sub, { split: 'test' }), /t10k-images-idx3-ubyte\.gz: expected uint8 or float images \[N, H, W\] or \[N, C, H, W\], got int16 \[2, 2, 2\]/);
  assert.equal(memory().liveTensors, before);
});

test("Debian's Fashion-MNIST loads whole", { skip: existsSync(DEBIAN_FASHION_MNIST_DIR) ? undefined : `${DEBIAN_FASHION_MNIST_DIR} missing` }, () => {
  const train = loadFashionMnist({ split: 'train' });
  const test = loadFashionMnist({ split: 'test' });
  assert.deepEqual(train.images.shape, [60000, 1, 28, 28]);
  assert.deepEqual(test.images.shape, [10000, 1, 28, 28]);
  assert.deepEqual(test.labels.shape, [10000]);
  assert.deepEqual(train.classes, ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
  // Fashion-MNIST is balanced: 6,000 train and 1,000 test images per class.
  const perClass = (d: typeof train) => {
    const counts = new Array<number>(10).fill(0);
    for (const label of d.labels.toArray() as BigInt64Array) counts[Number(label)]++;
    return counts;
  };
  assert.deepEqual(perClass(train), new Array(10).fill(6000));
  assert.deepEqual(perClass(test), new Array(10).fill(1000));
  // The first training image is an ankle boot (label 9), as in every Fashion-MNIST reader.
  assert.equal(Number((train.labels.toArray() as BigInt64Array)[0]), 9);
  const stats = train.computeStats();
  // Fashion-MNIST's well-known statistics: mean 0.2860, std 0.3530.
  assert.ok(Math.abs(stats.mean[0] - 0.2860) < 1e-3, `mean ${stats.mean[0]}`);
  assert.ok(Math.abs(stats.std[0] - 0.3530) < 1e-3, `std ${stats.std[0]}`);
  train.dispose(); test.dispose();
});
