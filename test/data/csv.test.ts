import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadPixelCsv, readDigitsCsv, readPixelCsv, writePredictionsCsv } from '../../src/data/csv-pixels.js';
import { dispose, memory, tensor } from '../../src/tensor/index.js';
import { tempDir } from './download-helpers.js';

const DIGITS = '/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz';
const header = (label: boolean, pixels: number): string => [...(label ? ['label'] : []), ...Array.from({ length: pixels }, (_, i) => `pixel${i}`)].join(',');
const row = (seed: number, pixels: number): number[] => Array.from({ length: pixels }, (_, i) => (seed * 37 + i * 11) % 256);

test('Kaggle digit-recognizer train CSV: header with label, 28x28 rows, CRLF and a trailing blank line', async () => {
  const { dir, cleanup } = tempDir();
  const before = memory().liveTensors;
  try {
    const path = join(dir, 'train.csv');
    const lines = [header(true, 784), ...[0, 1, 2].map((s) => [s + 5, ...row(s, 784)].join(','))];
    writeFileSync(path, `\uFEFF${lines.join('\r\n')}\r\n\r\n`);
    const data = await readPixelCsv(path);
    assert.deepEqual(data.images.shape, [3, 1, 28, 28]);
    assert.equal(data.images.dtype, 'uint8');
    assert.equal(data.maxValue, 255);
    assert.deepEqual(data.labels!.toList(), [5, 6, 7]);
    assert.deepEqual(Array.from(data.images.toArray() as Uint8Array), [0, 1, 2].flatMap((s) => row(s, 784)));
    dispose([data.images, data.labels!]);
    assert.equal(memory().liveTensors, before);
  } finally { cleanup(); }
});

test('Kaggle test CSV (no label column) and small images with the label last, gzipped, many rows', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'test.csv');
    writeFileSync(path, [header(false, 784), row(9, 784).join(',')].join('\n'));
    const test1 = await readPixelCsv(path);
    assert.equal(test1.labels, null);
    assert.deepEqual(Array.from(test1.images.toArray() as Uint8Array), row(9, 784));
    dispose(test1.images);
    // 3000 rows of 4x2 images, label last, no header: the row buffer grows past its first 1024 rows.
    const many = Array.from({ length: 3000 }, (_, r) => [...row(r, 8), r % 10].join(','));
    const gz = join(dir, 'small.csv.gz');
    writeFileSync(gz, gzipSync(`${many.join('\n')}\n`));
    const data = await readPixelCsv(gz, { width: 4, height: 2, labelColumn: 'last' });
    assert.deepEqual(data.images.shape, [3000, 1, 2, 4]);
    assert.deepEqual(Array.from(data.images.toArray() as Uint8Array), Array.from({ length: 3000 }, (_, r) => row(r, 8)).flat());
    assert.deepEqual(data.labels!.toList(), Array.from({ length: 3000 }, (_, r) => r % 10));
    dispose([data.images, data.labels!]);
    // Values written as "12.0" or with spaces are accepted when they are integers.
    writeFileSync(path, 'label,a,b\n1, 2 ,3.0\n');
    const loose = await readPixelCsv(path, { width: 2, height: 1 });
    assert.deepEqual(Array.from(loose.images.toArray() as Uint8Array), [2, 3]);
    dispose([loose.images, loose.labels!]);
  } finally { cleanup(); }
});

test('CSV errors name the file, the line and the problem', async () => {
  const { dir, cleanup } = tempDir();
  const before = memory().liveTensors;
  try {
    const path = join(dir, 'bad.csv');
    const check = async (text: string, message: string, options = { width: 3, height: 1 }): Promise<void> => {
      writeFileSync(path, text);
      await assert.rejects(readPixelCsv(path, options), { message });
    };
    await check('label,p0,p1,p2\n1,2,3,4\n1,2,3\n', `${path}:3: expected 4 columns, got 3`);
    await check('label,p0,p1,p2\n1,2,x7,4\n', `${path}:2: column 3 (p1): 'x7' is not a number`);
    await check('label,p0,p1,p2\n1,2,3,256\n', `${path}:2: column 4 (p2): pixel value 256 is out of range 0..255`);
    await check('label,p0,p1,p2\n1,2,-3,4\n', `${path}:2: column 3 (p1): pixel value -3 is out of range 0..255`);
    await check('label,p0,p1,p2\n1,2,3.5,4\n', `${path}:2: column 3 (p1): 3.5 is not an integer`);
    await check('label,p0,p1,p2\n1,2,,4\n', `${path}:2: column 3 (p1): empty value`);
    await check('label,p0,p1,p2\n-1,2,3,4\n', `${path}:2: column 1 (label): label -1 is out of range (labels are class indices >= 0)`);
    await check('1,2,3,4\n1,2,3,4,5\n', `${path}:2: expected 4 columns, got 5`);
    await check('1,2\n', `${path}: expected 3 columns (3 pixels), got 2`);
    await check('p0,label,p1,p2\n', `${path}: the 'label' column must be first or last, it is column 2`);
    await check('label,p0,p1\n', `${path}: the header has 3 columns, expected 4 (3 pixels + label)`);
    await check('p0,p1,p2\n1,2,3\n', `${path}: hasLabel is set but the header has no 'label' column`, { width: 3, height: 1, hasLabel: true } as never);
    await check('label,p0,p1,p2\n', `${path}: no data rows after the header`);
    await check('\n\n', `${path}: the file is empty`);
    await check('1,2,3,17\n', `${path}:1: column 4 (pixel2): pixel value 17 is out of range 0..16`, { width: 3, height: 1, maxValue: 16 } as never);
    await assert.rejects(readPixelCsv(join(dir, 'absent.csv')), { message: `cannot read '${join(dir, 'absent.csv')}': no such file` });
    writeFileSync(path, Buffer.from([1, 2, 3]));
    await assert.rejects(readPixelCsv(`${path}.gz`), /no such file/);
    writeFileSync(`${path}.gz`, 'not gzip');
    await assert.rejects(readPixelCsv(`${path}.gz`), { message: `cannot read '${path}.gz': incorrect header check` });
    assert.equal(memory().liveTensors, before);
  } finally { cleanup(); }
});

test('scikit-learn digits.csv.gz: 1797 8x8 digits with values 0..16 and the label last', { skip: existsSync(DIGITS) ? false : `${DIGITS} is absent (apt-get install python3-sklearn)` }, async () => {
  const data = await readDigitsCsv(DIGITS);
  try {
    assert.deepEqual(data.images.shape, [1797, 1, 8, 8]);
    assert.equal(data.maxValue, 16);
    const pixels = data.images.toArray() as Uint8Array;
    // The first row of the file: "0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,..." with label 0.
    assert.deepEqual(Array.from(pixels.subarray(0, 16)), [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0]);
    assert.ok(pixels.every((v) => v <= 16));
    const labels = data.labels!.toList() as number[];
    assert.deepEqual(labels.slice(0, 3), [0, 1, 2]);
    // sklearn's digits hold 178, 182, 177, 183, 181, 182, 181, 179, 174, 180 samples of 0..9.
    const counts = Array.from({ length: 10 }, (_, d) => labels.filter((l) => l === d).length);
    assert.deepEqual(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
  } finally { dispose([data.images, data.labels!]); }
});

test('loadPixelCsv gives a TensorDataset; values up to maxValue are scaled to [0, 1]; unlabelled files are refused', async () => {
  const { dir, cleanup } = tempDir();
  const before = memory().liveTensors;
  try {
    const path = join(dir, 'd.csv');
    writeFileSync(path, '0,16,1\n8,4,2\n');
    const data = await loadPixelCsv(path, { width: 2, height: 1, maxValue: 16, labelColumn: 'last', classes: ['a', 'b', 'c'] });
    assert.deepEqual([data.length, data.classes, data.itemShape], [2, ['a', 'b', 'c'], [1, 1, 2]]);
    const batch = data.getBatch(Int32Array.from([1, 0]));
    assert.deepEqual(Array.from(batch.x.toArray() as Float32Array), [0.5, 0.25, 0, 1]);
    assert.deepEqual(batch.y.toList(), [2, 1]);
    dispose([batch.x, batch.y]);
    data.dispose();
    writeFileSync(path, 'p0,p1\n1,2\n');
    await assert.rejects(loadPixelCsv(path, { width: 2, height: 1 }), { message: `${path}: the file has no label column; use readPixelCsv for an unlabelled test file` });
    writeFileSync(path, 'label,p0,p1\n5,1,2\n');
    await assert.rejects(loadPixelCsv(path, { width: 2, height: 1, classes: ['a', 'b'] }), /label 5 out of range for 2 classes/);
    assert.equal(memory().liveTensors, before);
  } finally { cleanup(); }
});

test('writePredictionsCsv writes a Kaggle submission atomically, from arrays or a tensor', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'submission.csv');
    const predicted = tensor(new BigInt64Array([3n, 7n, 0n]), [3]);
    writePredictionsCsv(path, null, predicted);
    dispose(predicted);
    assert.equal(readFileSync(path, 'utf8'), 'ImageId,Label\n1,3\n2,7\n3,0\n');
    writePredictionsCsv(path, ['a.jpg', 'b,c.jpg'], ['cat', 'say "dog"'], { header: ['file', 'label'] });
    assert.equal(readFileSync(path, 'utf8'), 'file,label\na.jpg,cat\n"b,c.jpg","say ""dog"""\n');
    assert.throws(() => writePredictionsCsv(path, [1, 2], [1]), { message: `writePredictionsCsv('${path}'): 2 ids but 1 labels` });
    const matrix = tensor([[1, 2]]);
    assert.throws(() => writePredictionsCsv(path, null, matrix), /labels must be a 1-D tensor, got shape \[1, 2\]/);
    dispose(matrix);
  } finally { cleanup(); }
});
