import test from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader, TensorDataset, loadSample, splitDataset } from '../../src/data/index.js';
import { arange, dispose, memory, tidy } from '../../src/tensor/index.js';

function counting(n: number): TensorDataset {
  // Image i has every pixel equal to i, so batches reveal which samples they hold.
  return tidy(() => new TensorDataset(arange(n).to('uint8').reshape(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous(), arange(n).remainder(3), { classes: ['a', 'b', 'c'] }));
}

function samplesOf(loader: DataLoader): number[][] {
  const out: number[][] = [];
  for (const batch of loader) {
    out.push(Array.from(batch.x.select(1, 0).select(1, 0).select(1, 0).toArray() as Float32Array, (v) => Math.round(v * 255)));
    dispose(batch);
  }
  return out;
}

test('batch counts, last batch and dropLast', () => {
  const ds = counting(10);
  assert.deepEqual(samplesOf(new DataLoader(ds, { batchSize: 4 })), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  const dropping = new DataLoader(ds, { batchSize: 4, dropLast: true });
  assert.equal(dropping.length, 2);
  assert.equal(dropping.numSamples, 8);
  assert.deepEqual(samplesOf(dropping).flat(), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.throws(() => new DataLoader(ds, { batchSize: 0 }), /batchSize must be a positive integer, got 0/);
  ds.dispose();
});

test('shuffling is seeded, a new order each epoch, every sample once, and resumable', () => {
  const ds = counting(50);
  const a = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 5 });
  const b = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 5 });
  const first = samplesOf(a).flat();
  assert.deepEqual(first, samplesOf(b).flat(), 'same seed, same order');
  assert.deepEqual([...first].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i), 'each sample once');
  const state = a.getState();
  const second = samplesOf(a).flat();
  assert.notDeepEqual(second, first, 'a new order each epoch');
  const c = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 999 });
  c.setState(state);
  assert.deepEqual(samplesOf(c).flat(), second, 'restored state continues the same sequence');
  ds.dispose();
});

test('labels travel with their images and normalisation matches a hand computation', () => {
  const ds = counting(6).withNormalize({ mean: [0.5], std: [0.25] });
  const batch = ds.getBatch(Int32Array.from([5, 2]));
  assert.deepEqual(Array.from(batch.y.toArray() as BigInt64Array, Number), [2, 2]);
  const x = batch.x.toArray() as Float32Array;
  assert.ok(Math.abs(x[0] - (5 / 255 - 0.5) / 0.25) < 1e-6);
  assert.ok(Math.abs(x[4] - (2 / 255 - 0.5) / 0.25) < 1e-6);
  assert.deepEqual(batch.x.shape, [2, 1, 2, 2]);
  dispose(batch);
  ds.dispose();
});

test('an epoch over the sample leaves no live tensors behind; split is seeded and disjoint', async () => {
  const ds = loadSample({ split: 'train' });
  const before = memory().liveTensors;
  let seen = 0;
  for await (const batch of new DataLoader(ds, { batchSize: 256, shuffle: true, seed: 1 })) {
    seen += batch.y.shape[0];
    dispose(batch);
  }
  assert.equal(seen, 3000);
  assert.equal(memory().liveTensors, before);
  const { train, valid } = splitDataset(ds, { validPct: 0.2, seed: 3 });
  assert.equal(valid.length, 600);
  assert.equal(train.length, 2400);
  const again = splitDataset(ds, { validPct: 0.2, seed: 3 });
  const sum = (d: TensorDataset) => tidy(() => d.images.to('float64').sum().item());
  assert.equal(sum(again.valid), sum(valid));
  assert.equal(sum(train) + sum(valid), sum(ds), 'the parts partition the dataset');
  for (const d of [train, valid, again.train, again.valid, ds]) d.dispose();
});
