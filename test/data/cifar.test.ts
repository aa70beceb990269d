import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCifar10, loadCifar100, readCifar10, readCifar100 } from '../../src/data/cifar.js';
import { dispose, memory } from '../../src/tensor/index.js';
import { CIFAR10_CLASSES, cifarPixel, cifarRecords, tempDir } from './download-helpers.js';

/** Writes a CIFAR-10 folder: batch b holds `perBatch` records with labels (b + r) % 10. */
function writeCifar10(dir: string, perBatch = 3): void {
  mkdirSync(dir, { recursive: true });
  for (let b = 1; b <= 5; b += 1) {
    const labels = Array.from({ length: perBatch }, (_, r) => [(b + r) % 10]);
    writeFileSync(join(dir, `data_batch_${b}.bin`), cifarRecords(labels, (b - 1) * perBatch));
  }
  writeFileSync(join(dir, 'test_batch.bin'), cifarRecords([[9], [0]], 1000));
  writeFileSync(join(dir, 'batches.meta.txt'), `${CIFAR10_CLASSES.join('\n')}\n\n`);
}

const FINE = Array.from({ length: 100 }, (_, i) => `fine${i}`);
const COARSE = Array.from({ length: 20 }, (_, i) => `coarse${i}`);

function writeCifar100(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'train.bin'), cifarRecords([[3, 42], [19, 99], [0, 0]]));
  writeFileSync(join(dir, 'test.bin'), cifarRecords([[7, 5]], 500));
  writeFileSync(join(dir, 'fine_label_names.txt'), `${FINE.join('\n')}\n`);
  writeFileSync(join(dir, 'coarse_label_names.txt'), `${COARSE.join('\r\n')}\r\n`);
}

test('readCifar10 reads all five train batches and the test batch: RGB planes, labels, class names', () => {
  const { dir, cleanup } = tempDir();
  const before = memory().liveTensors;
  try {
    const folder = join(dir, 'cifar-10-batches-bin');
    writeCifar10(folder);
    const train = readCifar10(folder, { split: 'train' });
    assert.deepEqual(train.images.shape, [15, 3, 32, 32]);
    assert.equal(train.images.dtype, 'uint8');
    assert.equal(train.labels.dtype, 'int64');
    assert.deepEqual(train.labels.toList(), [1, 2, 3, 2, 3, 4, 3, 4, 5, 4, 5, 6, 5, 6, 7]);
    assert.deepEqual(train.classes, CIFAR10_CLASSES);
    const pixels = train.images.toArray() as Uint8Array;
    // Image 7, channel G (plane 1), row 5, column 9 is byte 1024 + 5 * 32 + 9 of record 7.
    assert.equal(pixels[7 * 3072 + 1024 + 5 * 32 + 9], cifarPixel(7, 1024 + 5 * 32 + 9));
    assert.ok(pixels.every((value, k) => value === cifarPixel(Math.floor(k / 3072), k % 3072)));
    dispose([train.images, train.labels]);
    // The parent folder works too (the archive extracts to cifar-10-batches-bin/).
    const test10 = readCifar10(dir, { split: 'test' });
    assert.deepEqual(test10.labels.toList(), [9, 0]);
    assert.equal((test10.images.toArray() as Uint8Array)[3072 + 5], cifarPixel(1001, 5));
    dispose([test10.images, test10.labels]);
    assert.equal(memory().liveTensors, before);
  } finally { cleanup(); }
});

test('readCifar100 reads fine labels (default) or coarse labels with their names', () => {
  const { dir, cleanup } = tempDir();
  const before = memory().liveTensors;
  try {
    writeCifar100(join(dir, 'cifar-100-binary'));
    const fine = readCifar100(dir);
    assert.deepEqual(fine.labels.toList(), [42, 99, 0]);
    assert.deepEqual(fine.classes, FINE);
    assert.deepEqual(fine.images.shape, [3, 3, 32, 32]);
    assert.equal((fine.images.toArray() as Uint8Array)[2 * 3072 + 3071], cifarPixel(2, 3071));
    const coarse = readCifar100(join(dir, 'cifar-100-binary'), { labels: 'coarse' });
    assert.deepEqual(coarse.labels.toList(), [3, 19, 0]);
    assert.deepEqual(coarse.classes, COARSE);
    const test100 = readCifar100(dir, { split: 'test' });
    assert.deepEqual(test100.labels.toList(), [5]);
    dispose([fine, coarse, test100].flatMap((d) => [d.images, d.labels]));
    assert.equal(memory().liveTensors, before);
  } finally { cleanup(); }
});

test('CIFAR errors name the file: truncated, empty, missing, label out of range, bad class list', () => {
  const { dir, cleanup } = tempDir();
  const before = memory().liveTensors;
  try {
    writeCifar10(dir);
    const batch3 = join(dir, 'data_batch_3.bin');
    writeFileSync(batch3, cifarRecords([[1], [2]]).subarray(0, 3073 + 100));
    assert.throws(() => readCifar10(dir), {
      message: `CIFAR-10 train in '${dir}': '${batch3}' is truncated or not a CIFAR file: 3173 bytes is not a multiple of the 3073-byte record (1 whole records + 100 bytes)`,
    });
    writeFileSync(batch3, '');
    assert.throws(() => readCifar10(dir), { message: `CIFAR-10 train in '${dir}': '${batch3}' is empty` });
    rmSync(batch3);
    rmSync(join(dir, 'data_batch_5.bin'));
    assert.throws(() => readCifar10(dir), {
      message: `CIFAR-10 train in '${dir}': missing files '${batch3}', '${join(dir, 'data_batch_5.bin')}'`,
    });
    const testBatch = join(dir, 'test_batch.bin');
    writeFileSync(testBatch, cifarRecords([[3], [10]]));
    assert.throws(() => readCifar10(dir, { split: 'test' }), { message: `CIFAR-10 test in '${dir}': '${testBatch}' record 1: label 10 is out of range 0..9` });
    writeFileSync(join(dir, 'batches.meta.txt'), 'cat\ndog\n');
    assert.throws(() => readCifar10(dir, { split: 'test' }), /'.*batches\.meta\.txt' lists 2 class names, expected 10/);
    rmSync(join(dir, 'batches.meta.txt'));
    assert.throws(() => readCifar10(dir, { split: 'test' }), new RegExp(`missing file '${join(dir, 'batches.meta.txt')}'`));

    const c100 = join(dir, 'c100');
    writeCifar100(c100);
    writeFileSync(join(c100, 'train.bin'), cifarRecords([[1, 2], [20, 5]]));
    assert.throws(() => readCifar100(c100), { message: `CIFAR-100 train in '${c100}': '${join(c100, 'train.bin')}' record 1: coarse label 20 is out of range 0..19` });
    writeFileSync(join(c100, 'train.bin'), cifarRecords([[1, 100]]));
    assert.throws(() => readCifar100(c100, { labels: 'coarse' }), /record 0: fine label 100 is out of range 0\.\.99/);
    writeFileSync(join(c100, 'train.bin'), cifarRecords([[1], [2]])); // CIFAR-10 records: 6146 bytes
    assert.throws(() => readCifar100(c100), /6146 bytes is not a multiple of the 3074-byte record \(1 whole records \+ 3072 bytes\)/);
    assert.equal(memory().liveTensors, before);
  } finally { cleanup(); }
});

test('loadCifar10 / loadCifar100 give TensorDatasets whose batches are the pixels scaled to [0, 1]', () => {
  const { dir, cleanup } = tempDir();
  const before = memory().liveTensors;
  try {
    writeCifar10(join(dir, 'cifar-10-batches-bin'));
    writeCifar100(join(dir, 'cifar-100-binary'));
    const c10 = loadCifar10(dir, { split: 'test' });
    assert.deepEqual([c10.length, c10.classes, c10.itemShape], [2, CIFAR10_CLASSES, [3, 32, 32]]);
    const batch = c10.getBatch(Int32Array.from([1]));
    assert.deepEqual(batch.y.toList(), [0]);
    const x = batch.x.toArray() as Float32Array;
    assert.ok(Math.abs(x[2 * 1024 + 7] - cifarPixel(1001, 2 * 1024 + 7) / 255) < 1e-6);
    dispose([batch.x, batch.y]);
    c10.dispose();
    const c100 = loadCifar100(dir, { labels: 'coarse' });
    assert.deepEqual([c100.length, c100.classes.length], [3, 20]);
    c100.dispose();
    assert.equal(memory().liveTensors, before);
  } finally { cleanup(); }
});
