import test from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader } from '../../src/data/index.js';
import { Learner, NonFiniteLossError, type Callback } from '../../src/learn/index.js';
import { Flatten, Linear, Sequential, crossEntropy } from '../../src/nn/index.js';
import { SGD } from '../../src/optim/index.js';
import { manualSeed, memory } from '../../src/tensor/index.js';
import { blobs } from './fixtures.js';

function makeLearner(options: ConstructorParameters<typeof Learner>[2] = {}): Learner {
  manualSeed(0);
  const model = new Sequential(new Flatten(), new Linear(4, 8), new Linear(8, 2));
  const train = new DataLoader(blobs(256, 1), { batchSize: 32, shuffle: true, seed: 1 });
  const valid = new DataLoader(blobs(128, 2), { batchSize: 64 });
  return new Learner(model, { train, valid }, { progress: false, optimizer: (params, lr) => new SGD(params, { lr }), ...options });
}

test('fit trains, records history per epoch and leaves no tensors behind', async () => {
  const learn = makeLearner();
  const before = memory().liveTensors;
  const history = await learn.fit(3, 0.1);
  assert.equal(history.length, 3);
  assert.deepEqual(history.map((r) => r.epoch), [1, 2, 3]);
  for (const record of history) {
    for (const key of ['trainLoss', 'validLoss', 'seconds', 'samplesPerSecond', 'lr'] as const) assert.ok(Number.isFinite(record[key]), key);
    assert.equal(record.lr, 0.1);
  }
  assert.ok(history[2].trainLoss < history[0].trainLoss);
  assert.ok((history[2].metrics.accuracy ?? 0) > 0.95, `separable blobs: accuracy ${history[2].metrics.accuracy}`);
  assert.equal(history[2].accuracy, history[2].metrics.accuracy);
  // Only the optimizer's state (momentum-free SGD keeps none) may remain.
  assert.equal(memory().liveTensors, before);
});

test('a NaN loss stops training with a message naming the epoch and batch', async () => {
  let calls = 0;
  const learn = makeLearner({
    lossFn: (pred, target) => {
      calls++;
      const loss = crossEntropy(pred, target);
      // Poison the 3rd training batch of epoch 2 (8 batches per epoch, 2 validation batches).
      return calls === 8 + 2 + 3 ? loss.mul(NaN) : loss;
    },
  });
  await assert.rejects(learn.fit(3, 0.1), (error: unknown) => {
    assert.ok(error instanceof NonFiniteLossError);
    assert.equal(error.epoch, 2);
    assert.equal(error.batch, 3);
    assert.match(error.message, /loss is NaN at epoch 2, batch 3: training stopped/);
    return true;
  });
  assert.equal(learn.history.length, 1, 'the completed epoch is kept');
});

test('an infinite loss is named too', async () => {
  const learn = makeLearner({ lossFn: (pred, target) => crossEntropy(pred, target).div(0) });
  await assert.rejects(learn.fit(1, 0.1), /loss is \+Infinity at epoch 1, batch 1/);
});

test('callbacks see events in loop order, sorted by order', async () => {
  const seen: string[] = [];
  const make = (name: string, order: number): Callback => ({
    name, order,
    beforeFit: () => { seen.push(`${name}:beforeFit`); },
    afterLoss: (learn) => { if (learn.training && learn.batchIndex === 0 && learn.epoch === 0) seen.push(`${name}:afterLoss`); },
    afterEpoch: () => { seen.push(`${name}:afterEpoch`); },
  });
  const learn = makeLearner({ callbacks: [make('late', 10), make('early', -5)] });
  await learn.fit(1, 0.1);
  assert.deepEqual(seen, ['early:beforeFit', 'late:beforeFit', 'early:afterLoss', 'late:afterLoss', 'early:afterEpoch', 'late:afterEpoch']);
  assert.match(learn.showTrainingLoop(), /afterLoss\s+early, late/);
});

test('learn.step runs one optimisation step for a hand-written loop', () => {
  const learn = makeLearner({ lr: 0.1 });
  const data = blobs(64, 3);
  const batch = data.getBatch(Int32Array.from({ length: 64 }, (_, i) => i));
  const first = learn.step(batch.x, batch.y);
  let last = first;
  for (let i = 0; i < 20; i++) last = learn.step(batch.x, batch.y);
  assert.ok(last < first / 2, `loss ${first} -> ${last}`);
  batch.x.dispose(); batch.y.dispose(); data.dispose();
});
