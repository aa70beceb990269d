import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_CLASSES, loadSample, readIdx, sampleDir } from '../../src/data/index.js';
import { memory, tidy } from '../../src/tensor/index.js';

test('the bundled sample: 3,000 train and 1,000 test images, balanced, small', () => {
  const before = memory().liveTensors;
  for (const [split, n] of [['train', 3000], ['test', 1000]] as const) {
    const ds = loadSample({ split });
    assert.deepEqual(ds.images.shape, [n, 1, 28, 28]);
    assert.equal(ds.images.dtype, 'uint8');
    assert.deepEqual(ds.classes, FASHION_MNIST_CLASSES);
    const counts = new Array<number>(10).fill(0);
    for (const label of tidy(() => ds.labels.toArray() as BigInt64Array)) counts[Number(label)]++;
    assert.deepEqual(counts, new Array(10).fill(n / 10));
    ds.dispose();
  }
  assert.equal(memory().liveTensors, before);
  const bytes = readdirSync(sampleDir()).reduce((sum, f) => sum + statSync(join(sampleDir(), f)).size, 0);
  assert.ok(bytes < 3 * 2 ** 20, `data/sample holds ${bytes} bytes`);
});

test('scripts/make-sample.mjs regenerates the bundled sample exactly', {
  skip: existsSync(DEBIAN_FASHION_MNIST_DIR) ? undefined : `${DEBIAN_FASHION_MNIST_DIR} missing (apt-get install dataset-fashion-mnist)`,
}, () => {
  const root = dirname(dirname(sampleDir()));
  const out = mkdtempSync(join(tmpdir(), 'kestrel-sample-'));
  execFileSync(process.execPath, [join(root, 'scripts', 'make-sample.mjs'), DEBIAN_FASHION_MNIST_DIR, out], { stdio: 'pipe' });
  for (const name of ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) {
    const made = readIdx(join(out, name));
    const shipped = readIdx(join(sampleDir(), name));
    assert.deepEqual(made.shape, shipped.shape, name);
    assert.ok(Buffer.from(made.data.buffer).equals(Buffer.from(shipped.data.buffer)), `${name} differs`);
  }
});
