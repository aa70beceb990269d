import test from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, memory, noGrad, randint, randn, tensor, tidy } from '../../src/tensor/index.js';
import {
  AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential, crossEntropy, mseLoss, nllLoss, oneHot,
} from '../../src/nn/index.js';

function smallCnn(): Sequential {
  return new Sequential(
    new Conv2d(1, 4, 3, { padding: 1 }), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
    new Conv2d(4, 8, 3, { padding: 'same' }), new ReLU(), new AdaptiveAvgPool2d(2), new Flatten(), new Dropout(0.3), new Linear(32, 3),
  );
}

test('200 forward+backward+update iterations inside tidy keep liveTensors and inUseBytes flat', () => {
  manualSeed(71);
  const model = smallCnn();
  const x = randn([8, 1, 12, 12]);
  const y = randint(0, 3, [8]);
  const step = () => tidy(() => {
    model.zeroGrad();
    const loss = crossEntropy(model.forward(x), y, { labelSmoothing: 0.1 });
    loss.backward();
    noGrad(() => { for (const p of model.parameters()) p.add_(p.grad!, -0.01); });
    return loss.item();
  });
  for (let i = 0; i < 5; i++) step();
  const baseline = memory();
  const losses: number[] = [];
  for (let i = 0; i < 200; i++) {
    losses.push(step());
    if (i % 50 === 49) {
      const now = memory();
      assert.equal(now.liveTensors, baseline.liveTensors, `live tensors at iteration ${i}`);
      assert.equal(now.inUseBytes, baseline.inUseBytes, `in-use bytes at iteration ${i}`);
    }
  }
  assert.ok(losses.every(Number.isFinite));
  assert.ok(losses[losses.length - 1] < losses[0], `the loop trains (loss ${losses[0]} -> ${losses[losses.length - 1]})`);
  model.dispose();
  x.dispose(); y.dispose();
});

test('gradients kept across iterations (no zeroGrad) do not add tensors either', () => {
  const model = new Sequential(new Linear(5, 4), new ReLU(), new Linear(4, 1));
  const x = randn([6, 5]);
  const t = randn([6, 1]);
  tidy(() => mseLoss(model.forward(x), t).backward());
  const baseline = memory().liveTensors;
  for (let i = 0; i < 50; i++) tidy(() => mseLoss(model.forward(x), t).backward());
  assert.equal(memory().liveTensors, baseline);
  model.dispose(); x.dispose(); t.dispose();
});

test('layers, losses and helpers leave no tensors behind (also when they throw)', () => {
  const model = smallCnn();
  const x = randn([2, 1, 12, 12]);
  const labels = tensor([0, 2], { dtype: 'int64' });
  const before = memory().liveTensors;
  noGrad(() => tidy(() => { model.eval(); model.forward(x); model.train(); }));
  tidy(() => crossEntropy(model.forward(x), labels).backward());
  tidy(() => { nllLoss(model.forward(x).logSoftmax(1), tensor([0, -100], { dtype: 'int64' })); });
  assert.equal(memory().liveTensors, before);
  const out = oneHot([1, 0], 3);
  assert.equal(memory().liveTensors, before + 1, 'oneHot frees its index tensor');
  out.dispose();
  const mismatched = new Sequential(new Linear(4, 4), new Linear(5, 1));
  for (const bad of [
    () => model.forward(randn([2, 3, 12, 12])),
    () => crossEntropy(randn([2, 3]), tensor([0, 7], { dtype: 'int64' })),
    () => mismatched.forward(randn([1, 4])),
  ]) {
    const start = memory().liveTensors;
    assert.throws(() => tidy(bad));
    assert.equal(memory().liveTensors, start, `no leak from ${bad.toString().slice(6, 60)}`);
  }
  mismatched.dispose();
  model.summary([1, 12, 12], { print: false });
  model.loadStateDict(model.stateDict());
  assert.equal(memory().liveTensors, before);
  model.dispose(); x.dispose(); labels.dispose();
});
