import test from 'node:test';
import assert from 'node:assert/strict';
import { Learner, lrFind, minimumSuggestion, steepSuggestion, suggestLrs, valleySuggestion } from '../../src/learn/index.js';
import { Linear, mseLoss } from '../../src/nn/index.js';
import { Adam, SGD } from '../../src/optim/index.js';
import { dispose, getRngState, manualSeed, maxAbsDiff, memory, tidy } from '../../src/tensor/index.js';
import { TensorBatches, blobLearner, regression } from './fixtures.js';

/** Linear regression in 8-D with noise 0.1: SGD's stable lr range is known (roughly 1e-2 to 0.5). */
function regressionLearner(): { learn: Learner; sources: TensorBatches[] } {
  const { x, y } = regression(768, 1);
  const sources = tidy(() => [
    new TensorBatches(x.slice(0, 0, 512).clone(), y.slice(0, 0, 512).clone(), 32),
    new TensorBatches(x.slice(0, 512).clone(), y.slice(0, 512).clone(), 128),
  ]);
  dispose([x, y]);
  manualSeed(0);
  const learn = new Learner(new Linear(8, 1), { train: sources[0], valid: sources[1] }, {
    lossFn: (pred, target) => mseLoss(pred, target), metrics: [], progress: false, optimizer: (params, lr) => new SGD(params, { lr }),
  });
  return { learn, sources };
}

test('fastai suggestion functions on a hand-made curve', () => {
  const lrs = Array.from({ length: 10 }, (_, i) => 10 ** (i - 6));
  const losses = [3, 2.0, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4, 2, 4];
  // longest decreasing run ends at 7 with length 8; fastai's start is 7 - 8 = -1, so the index is
  // -1 + int(8 / 3) + int(8 / 6) = 2
  assert.deepEqual(valleySuggestion(lrs, losses), { lr: lrs[2], loss: 1.9 });
  assert.deepEqual(steepSuggestion(lrs, losses), { lr: lrs[0], loss: 3 });
  assert.deepEqual(minimumSuggestion(lrs, losses), { lr: lrs[7] / 10, loss: 1.4 });
  assert.throws(() => suggestLrs([1, 2, 3], [1, 1, 1], 3), /too few points/);
});

test('suggestions stop at the divergence: a steep fall from a spike after it is never suggested', () => {
  // 30 points, lr 1e-7 .. 10: flat, a descent to 0.5, then divergence with a spike (50) and a drop back (3).
  const lrs = Array.from({ length: 30 }, (_, i) => 1e-7 * 10 ** (8 * i / 29));
  const losses = [2.3, 2.3, 2.3, 2.3, 2.29, 2.25, 2.1, 1.8, 1.4, 1.0, 0.7, 0.55, 0.5, 0.52, 0.6, 0.9, 1.5, 2.4, 5, 50, 3, 2.9, 60, 80, 90, 95, 99, 100, 100, 100];
  const { valley, steep, minimum } = suggestLrs(lrs, losses, 30);
  for (const [name, point] of Object.entries({ valley, steep, minimum })) {
    assert.ok(point.loss <= losses[3], `${name} loss ${point.loss} is not above the starting loss`);
    assert.ok(point.lr <= lrs[12] * 1.0001, `${name} lr ${point.lr} is not past the minimum`);
  }
  assert.deepEqual(steep, { lr: lrs[7], loss: 1.8 }, 'the fastest fall of the descent (1.8 -> 1.4)');
  assert.deepEqual(minimum, { lr: lrs[12] / 10, loss: 0.5 });
});

test('lrFind on linear regression: exponential sweep, divergence stop, suggestion trains to convergence', async () => {
  const { learn, sources } = regressionLearner();
  const weights = tidy(() => learn.model.parameters().map((p) => p.clone()));
  const rng = getRngState();
  const before = memory().liveTensors;
  const result = await learn.lrFind();
  assert.equal(memory().liveTensors, before, 'lrFind frees everything it made');
  // the sweep: lr_i = 1e-7 * (1e8)^(i / 100), stopped early by divergence (lr far above 1)
  assert.ok(result.lrs.length > 50 && result.lrs.length < 100, `${result.lrs.length} iterations`);
  result.lrs.forEach((lr, i) => assert.ok(Math.abs(lr / (1e-7 * 1e8 ** (i / 100)) - 1) < 1e-9));
  assert.ok(result.losses[result.losses.length - 1] > 4 * Math.min(...result.losses), 'stopped on divergence');
  const { valley, steep, minimum } = result.suggestions;
  for (const [name, s] of Object.entries({ valley, minimum })) assert.ok(s.lr > 1e-3 && s.lr < 1, `${name} ${s.lr}`);
  // weights, optimizer (absent before) and RNG are restored
  learn.model.parameters().forEach((p, i) => assert.equal(maxAbsDiff(p, weights[i]), 0));
  assert.equal(learn.optimizer, undefined);
  const after = getRngState();
  assert.equal(maxAbsDiff(after, rng), 0);
  assert.equal(learn.history.length, 0);
  // SGD on this quadratic diverges for lr above about 2 / (largest Hessian eigenvalue, about 2-4 per batch)
  const lastLr = result.lrs[result.lrs.length - 1];
  assert.ok(lastLr > 0.3 && lastLr < 5, `diverged at lr ${lastLr}`);
  // training at the valley lr converges to the noise floor (mse 0.01) from an initial mse of about 14
  const history = await learn.fit(12, valley.lr);
  assert.ok(history[0].trainLoss > 1, `starts far away (${history[0].trainLoss})`);
  assert.ok(history[11].validLoss < 0.02, `valid mse ${history[11].validLoss} at lr ${valley.lr}`);
  dispose([weights, rng, after]);
  sources.forEach((s) => s.dispose());
});

test('lrFind restores an existing optimizer state exactly (Adam moments and step counts)', async () => {
  const learn = blobLearner({ optimizer: (params, lr) => new Adam(params, { lr }) });
  await learn.fit(1, 0.01);
  const saved = learn.optimizer!.stateDict();
  const trainState = (learn.data.train as unknown as { getState(): unknown }).getState();
  const result = await lrFind(learn, { numIt: 30, endLr: 1 });
  assert.equal(result.lrs.length, 30);
  const now = learn.optimizer!.stateDict();
  assert.deepEqual(now.meta, saved.meta);
  for (const [name, t] of saved.tensors) assert.equal(maxAbsDiff(t, now.tensors.get(name)!), 0, name);
  assert.deepEqual((learn.data.train as unknown as { getState(): unknown }).getState(), trainState, 'loader order restored');
  assert.equal(learn.optimizer!.paramGroups[0].lr, 0.01);
  dispose([...saved.tensors.values(), ...now.tensors.values()]);
});
