import test from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { DEBIAN_FASHION_MNIST_DIR, encodeIdx, sampleDir } from '../../src/data/index.js';
import { kestrel } from '../helpers/cli.js';
import { bf16Support } from '../../src/tensor/index.js';


function temp(): string {
  return mkdtempSync(join(tmpdir(), 'kestrel-cli-'));
}

/** A copy of the bundled sample whose `file` is replaced by `bytes`. */
function brokenSample(file: string, bytes: Uint8Array): string {
  const dir = temp();
  for (const name of ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', 'classes.txt']) {
    copyFileSync(join(sampleDir(), name), join(dir, name));
  }
  writeFileSync(join(dir, file), bytes);
  return dir;
}

test('train on the bundled sample writes metrics.json and a bundle that evaluate reloads', () => {
  const out = join(temp(), 'run');
  const train = kestrel('train', 'sample', '--epochs', '2', '--bs', '64', '--seed', '7', '--out', out);
  assert.equal(train.code, 0, train.stderr);
  assert.match(train.stdout, /test accuracy \d+\.\d\d% after 2 epochs/);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { epochs: Record<string, number>[] };
  assert.equal(metrics.epochs.length, 2);
  for (const [i, epoch] of metrics.epochs.entries()) {
    assert.equal(epoch.epoch, i + 1);
    for (const key of ['trainLoss', 'validLoss', 'accuracy', 'seconds', 'samplesPerSecond']) assert.ok(Number.isFinite(epoch[key]), `${key} finite`);
    assert.ok(epoch.accuracy > 0.5 && epoch.accuracy <= 1, `accuracy ${epoch.accuracy} well above chance`);
  }
  assert.ok(metrics.epochs[1].trainLoss < metrics.epochs[0].trainLoss, 'training loss falls');
  assert.ok(existsSync(join(out, 'model.safetensors')));
  const manifest = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
  assert.equal(manifest.architecture.name, 'small-resnet', 'without --model: the recipe\'s network');
  assert.deepEqual(manifest.inputShape, [1, 28, 28]);
  assert.equal(manifest.classes[9], 'Ankle boot');
  assert.equal(manifest.normalize.mean.length, 1);

  // NOTE: validation ran in the training precision (bf16 where --precision auto picked it): evaluate is told the same.
  const evaluate = kestrel('evaluate', out, 'sample', '--precision', bf16Support().available ? 'bf16' : 'fp32');
  assert.equal(evaluate.code, 0, evaluate.stderr);
  const reported = Number(/test accuracy ([\d.]+)%/.exec(evaluate.stdout)?.[1]);
  assert.equal(reported.toFixed(2), (100 * metrics.epochs[1].accuracy).toFixed(2), 'evaluate reproduces the final accuracy');
});

test('same seed gives the same metrics (reproducible training)', () => {
  const a = join(temp(), 'a');
  const b = join(temp(), 'b');
  for (const out of [a, b]) assert.equal(kestrel('train', 'sample', '--epochs', '1', '--model', 'mlp', '--seed', '3', '--out', out).code, 0);
  const read = (dir: string) => (JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as { epochs: { trainLoss: number; accuracy: number }[] }).epochs[0];
  assert.equal(read(a).trainLoss, read(b).trainLoss);
  assert.equal(read(a).accuracy, read(b).accuracy);
});

test('unknown option, unknown dataset and unknown command exit 2 with one clear message', () => {
  const option = kestrel('train', 'sample', '--epoch', '3');
  assert.equal(option.code, 2);
  assert.match(option.stderr, /kestrel: error: Unknown option '--epoch'/);
  const dataset = kestrel('train', 'imagenet-21k');
  assert.equal(dataset.code, 2);
  assert.match(dataset.stderr, /unknown dataset 'imagenet-21k'/);
  const badNumber = kestrel('train', '--epochs', 'three');
  assert.equal(badNumber.code, 2);
  assert.match(badNumber.stderr, /--epochs must be an integer, got 'three'/);
  const command = kestrel('fly');
  assert.equal(command.code, 2);
  assert.match(command.stderr, /unknown command 'fly'/);
});

test('a truncated IDX file is named in the error, exit 1, no crash', () => {
  const full = gunzipSync(readFileSync(join(sampleDir(), 'train-images-idx3-ubyte.gz')));
  const dir = brokenSample('train-images-idx3-ubyte.gz', gzipSync(full.subarray(0, 5000)));
  const result = kestrel('train', dir, '--epochs', '1', '--out', join(dir, 'out'));
  assert.equal(result.code, 1);
  assert.match(result.stderr, /train-images-idx3-ubyte\.gz: truncated IDX file: header \[3000 x 28 x 28\] uint8 needs 2352016 bytes, got 5000/);
  assert.equal(result.stderr.trim().split('\n').length, 1, 'one line');
});

test('a wrong-magic IDX file is named in the error', () => {
  const dir = brokenSample('t10k-labels-idx1-ubyte.gz', Buffer.from('PK\x03\x04 this is a zip, not IDX'));
  const result = kestrel('train', dir, '--epochs', '1', '--out', join(dir, 'out'));
  assert.equal(result.code, 1);
  assert.match(result.stderr, /t10k-labels-idx1-ubyte\.gz: not an IDX file: wrong magic number 0x504b0304/);
});

test('a label out of range is named with its file and sample', () => {
  const labels = new Uint8Array(1000).fill(3);
  labels[17] = 12;
  const dir = brokenSample('t10k-labels-idx1-ubyte.gz', gzipSync(encodeIdx({ type: 'uint8', shape: [1000], data: labels })));
  const result = kestrel('train', dir, '--epochs', '1', '--out', join(dir, 'out'));
  assert.equal(result.code, 1);
  assert.match(result.stderr, /t10k-labels-idx1-ubyte\.gz: label 12 of sample 17 is out of range for 10 classes/);
});

test('images that do not fit the layers give a clear shape error', () => {
  const dir = temp();
  mkdirSync(dir, { recursive: true });
  const write = (name: string, shape: number[], data: Uint8Array) => writeFileSync(join(dir, name), encodeIdx({ type: 'uint8', shape, data }));
  // 2x2 images are too small for mnist-cnn's two 2x2 poolings (the flattened size is 0).
  write('train-images-idx3-ubyte', [8, 2, 2], new Uint8Array(32));
  write('train-labels-idx1-ubyte', [8], new Uint8Array(8));
  write('t10k-images-idx3-ubyte', [8, 2, 2], new Uint8Array(32));
  write('t10k-labels-idx1-ubyte', [8], new Uint8Array(8));
  const result = kestrel('train', dir, '--epochs', '1', '--out', join(dir, 'out'));
  assert.equal(result.code, 1);
  assert.match(result.stderr, /kestrel: error: /);
  assert.doesNotMatch(result.stderr, /Aborted|core dumped|Segmentation/);
});

test('kestrel train fashion-mnist --model mnist-cnn --epochs 3 reaches at least 89% test accuracy', {
  skip: existsSync(DEBIAN_FASHION_MNIST_DIR) ? undefined : `${DEBIAN_FASHION_MNIST_DIR} missing (apt-get install dataset-fashion-mnist)`,
}, () => {
  const out = join(temp(), 'fashion');
  const result = kestrel('train', 'fashion-mnist', '--model', 'mnist-cnn', '--epochs', '3', '--out', out);
  assert.equal(result.code, 0, result.stderr);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { epochs: { accuracy: number }[] };
  const final = metrics.epochs[2].accuracy;
  assert.ok(final >= 0.89, `test accuracy ${final} >= 0.89`);
});
