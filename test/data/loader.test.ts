import test from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader, loadSample } from '../../src/data/index.js';
import { dispose, memory } from '../../src/tensor/index.js';
import { batchIndices, counting, samplesOf } from './counting.js';

test('batch counts, last batch and dropLast', () => {
  const ds = counting(10);
  assert.deepEqual(samplesOf(new DataLoader(ds, { batchSize: 4 })), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  const dropping = new DataLoader(ds, { batchSize: 4, dropLast: true });
  assert.equal(dropping.length, 2);
  assert.equal(dropping.numSamples, 8);
  assert.deepEqual(samplesOf(dropping).flat(), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.throws(() => new DataLoader(ds, { batchSize: 0 }), /batchSize must be a positive integer, got 0/);
  // NOTE: README once had `const { train, test } = loadFashionMnist()`, which made `train` undefined.
  assert.throws(() => new DataLoader(undefined as never, { batchSize: 4 }), { message: "DataLoader: the first argument must be a Dataset (e.g. loadSample({ split: 'train' }) or a TensorDataset), got undefined" });
  assert.throws(() => new DataLoader({ train: ds } as never, { batchSize: 4 }), /must be a Dataset .*got Object with keys train$/);
  const exact = new DataLoader(ds, { batchSize: 5, dropLast: true });
  assert.deepEqual([exact.length, exact.numSamples], [2, 10], 'dropLast drops nothing when the batches divide evenly');
  const big = new DataLoader(ds, { batchSize: 64 });
  assert.deepEqual([big.length, big.numSamples], [1, 10]);
  assert.deepEqual(samplesOf(big), [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
  const none = new DataLoader(ds, { batchSize: 64, dropLast: true });
  assert.deepEqual([none.length, none.numSamples, samplesOf(none).length], [0, 0, 0]);
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

test('an epoch over the sample leaves no live tensors behind, sync or async, also after a break', async () => {
  const ds = loadSample({ split: 'train' });
  const before = memory().liveTensors;
  const loader = new DataLoader(ds, { batchSize: 256, shuffle: true, seed: 1 });
  let seen = 0;
  for await (const batch of loader) {
    assert.deepEqual(batch.x.shape.slice(1), [1, 28, 28]);
    seen += batch.y.shape[0];
    dispose(batch);
  }
  assert.equal(seen, 3000);
  assert.equal(memory().liveTensors, before);
  for (const batch of loader) dispose(batch);
  assert.equal(memory().liveTensors, before);
  for await (const batch of loader) {
    dispose(batch);
    break;
  }
  assert.equal(memory().liveTensors, before);
  assert.equal(loader.epoch, 3, 'a pass broken off still counts as started');
  ds.dispose();
});

test('sync and async iteration give the same batches; async lets timers run between batches', async () => {
  const ds = counting(40);
  const syncOrder = samplesOf(new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 11 }));
  const asyncOrder: number[][] = [];
  let timerFired = false;
  setTimeout(() => { timerFired = true; }, 0);
  let firedDuringEpoch = false;
  for await (const batch of new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 11 })) {
    asyncOrder.push(batchIndices(batch));
    dispose(batch);
    firedDuringEpoch ||= timerFired;
  }
  assert.deepEqual(asyncOrder, syncOrder);
  assert.ok(firedDuringEpoch, 'a timer ran while the epoch was being iterated');
  ds.dispose();
});

test('every sample once per epoch, for several epochs, with a different order each time', () => {
  const ds = counting(37);
  const loader = new DataLoader(ds, { batchSize: 5, shuffle: true, seed: 2 });
  const epochs = [samplesOf(loader), samplesOf(loader), samplesOf(loader)];
  const all = Array.from({ length: 37 }, (_, i) => i);
  for (const epoch of epochs) {
    assert.deepEqual(epoch.map((b) => b.length), [5, 5, 5, 5, 5, 5, 5, 2]);
    assert.deepEqual(epoch.flat().sort((a, b) => a - b), all);
  }
  assert.notDeepEqual(epochs[0], epochs[1]);
  assert.notDeepEqual(epochs[1], epochs[2]);
  assert.notDeepEqual(samplesOf(new DataLoader(ds, { batchSize: 5, shuffle: true, seed: 3 })), epochs[0], 'another seed, another order');
  assert.throws(() => loader.setState({ epoch: -1, rng: [1, 2, 3, 4] }), /state epoch must be a non-negative integer, got -1/);
  ds.dispose();
});
