import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import {
  DataLoader, FLIP_THRESHOLD, TensorDataset, flipCheck, flipCheckDataset, flipCheckSource, loadSample, readDigitsCsv,
} from '../../../src/data/index.js';
import { type Tensor, dispose, manualSeed, memory, randn, tensor, tidy } from '../../../src/tensor/index.js';

const DIGITS = '/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz';

/** Noisy 8x8 images of class templates; `mirrored` makes class 1 the mirror image of class 0. */
function templates(mirrored: boolean): { x: Tensor; y: Tensor } {
  manualSeed(5);
  const arrow = new Float32Array(64);
  for (let r = 0; r < 8; r++) arrow[r * 8 + Math.abs(r - 4)] = 1; // a '<' shape at the left
  const mirror = new Float32Array(64);
  for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) mirror[r * 8 + c] = arrow[r * 8 + 7 - c];
  const bars = [new Float32Array(64).fill(0).map((_, i) => (Math.floor(i / 8) === 3 ? 1 : 0)), new Float32Array(64).map((_, i) => (i % 8 === 3 || i % 8 === 4 ? 1 : 0))];
  const shapes = mirrored ? [arrow, mirror] : bars;
  return tidy(() => {
    const labels = Int32Array.from({ length: 200 }, (_, i) => i % 2);
    const clean = tensor(Float32Array.from({ length: 200 * 64 }, (_, i) => shapes[labels[Math.floor(i / 64)]][i % 64]), [200, 1, 8, 8]);
    return { x: clean.add(randn([200, 1, 8, 8]).mul(0.3)), y: tensor(labels).long() };
  });
}

test('flipCheck: classes that are mirror images of each other fail it, left-right symmetric classes pass', () => {
  const asymmetric = templates(true);
  const lopsided = flipCheck(asymmetric.x, asymmetric.y, 2);
  assert.ok(lopsided.accuracy > 0.95, `originals recognised (${lopsided.accuracy})`);
  assert.ok(lopsided.flippedAccuracy < 0.05, `a mirrored '<' is taken for a '>' (${lopsided.flippedAccuracy})`);
  assert.equal(lopsided.flip, false);
  const symmetric = templates(false);
  const even = flipCheck(symmetric.x, symmetric.y, 2);
  assert.ok(even.ratio > 0.95, `bars look the same mirrored (ratio ${even.ratio})`);
  assert.equal(even.flip, true);
  assert.equal(even.samples, 200);
  const before = memory().liveTensors;
  flipCheck(symmetric.x, symmetric.y, 3);
  assert.equal(memory().liveTensors, before, 'no tensor left behind; an absent class is never predicted');
  assert.throws(() => flipCheck(symmetric.x, symmetric.y.slice(0, 0, 5), 2), /needs images \[N, C, H, W\] and labels \[N\]/);
  dispose([asymmetric, symmetric]);
});

test('flipCheck on real data: Fashion-MNIST keeps flips (0.70 threshold)', async () => {
  const train = loadSample({ split: 'train' });
  const check = flipCheckDataset(train);
  assert.ok(check.ratio > 0.75 && check.ratio < 0.95, `Fashion-MNIST sample ratio ${check.ratio} (0.83 measured: mirrored shoes still look like shoes)`);
  assert.equal(check.flip, true);
  assert.equal(check.samples, 3000);
  assert.equal(FLIP_THRESHOLD, 0.7);
  const loader = new DataLoader(train, { batchSize: 256 });
  const fromSource = await flipCheckSource(loader, train.classes.length, { samples: 3000 });
  assert.ok(Math.abs(fromSource.ratio - check.ratio) < 1e-6, 'a batch source in order gives the same measurement');
  assert.equal(flipCheckDataset(train, { threshold: 0.9 }).flip, false, 'the threshold is an option');
  train.dispose();
});

test('flipCheck on real data: digits turn flips off', { skip: existsSync(DIGITS) ? undefined : `${DIGITS} missing (apt-get install python3-sklearn)` }, async () => {
  const digits = await readDigitsCsv(DIGITS);
  const dataset = new TensorDataset(digits.images, digits.labels!);
  const check = flipCheckDataset(dataset);
  assert.ok(check.ratio < 0.5, `mirrored digits are mostly not recognised (ratio ${check.ratio}, 0.40 measured)`);
  assert.equal(check.flip, false);
  dataset.dispose();
});
