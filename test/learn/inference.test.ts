import test from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader, TensorDataset } from '../../src/data/index.js';
import { Inference, Learner } from '../../src/learn/index.js';
import { BatchNorm2d, Conv2d, Flatten, Linear, Module, ReLU, Sequential } from '../../src/nn/index.js';
import { type Tensor, dispose, manualSeed, maxAbsDiff, memory, noGrad, op, randint, randn, tidy } from '../../src/tensor/index.js';

/** Records what reaches it (passes its input through). */
class Probe extends Module {
  readonly seen: { channelsLast: boolean; inference: boolean; requiresGrad: boolean }[] = [];
  override forward(x: Tensor): Tensor {
    this.seen.push({ channelsLast: x.isChannelsLast, inference: x.isInference, requiresGrad: x.requiresGrad });
    return op('aten::alias', '', [x.handle]);
  }
}

function setup(): { learn: Learner; probe: Probe; data: DataLoader } {
  manualSeed(21);
  const probe = new Probe();
  const model = new Sequential(new Conv2d(3, 5, 3, { padding: 1 }), new BatchNorm2d(5), new ReLU(), probe, new Flatten(), new Linear(5 * 6 * 6, 4));
  // batch-norm statistics away from their initial values, so folding has something to fold
  noGrad(() => tidy(() => model.forward(randn([8, 3, 6, 6]).mul(3).add(1))));
  probe.seen.length = 0;
  const data = new DataLoader(tidy(() => new TensorDataset(randn([12, 3, 6, 6]), randint(0, 4, [12]))), { batchSize: 5 });
  return { learn: new Learner(model, { train: data, valid: data }, { progress: false }), probe, data };
}

test('evaluate, getPreds and predict run in inference mode (no autograd graph) on channels-last batches', async () => {
  const { learn, probe, data } = setup();
  await learn.evaluate(data);
  const preds = await learn.getPreds(data);
  assert.equal(probe.seen.length, 6);
  assert.ok(probe.seen.every((s) => s.inference && !s.requiresGrad && s.channelsLast), JSON.stringify(probe.seen));
  assert.equal(preds.probs.isInference, false, 'results are normal tensors');
  const x = tidy(() => randn([3, 3, 6, 6]));
  const probs = learn.predict(x);
  assert.deepEqual([probs.isInference, probs.requiresGrad, probs.dtype], [false, false, 'float32']);
  // usable in later autograd computations (an inference tensor could not be saved for backward)
  tidy(() => {
    const w = randn([4]).setRequiresGrad();
    probs.mul(w).sum().backward();
    assert.ok(w.grad);
  });
  dispose([preds, probs, x]);
  learn.model.dispose();
});

test('predict with folded batch norm equals the plain eval forward within 1e-5; no-grad guard and no folding are switchable', () => {
  const { learn, probe } = setup();
  tidy(() => {
    const x = randn([4, 3, 6, 6]);
    learn.model.eval();
    const plain = noGrad(() => learn.model.forward(x).softmax(1));
    learn.model.train();
    const first = memory().liveTensors;
    learn.predict(x).dispose();
    assert.equal(memory().liveTensors, first + 2, 'the folded weight and bias are cached');
    const before = memory().liveTensors;
    const probs = learn.predict(x);
    assert.equal(memory().liveTensors, before + 1, 'then predict leaves only its result');
    assert.ok(maxAbsDiff(probs, plain) <= 1e-5, `folded: ${maxAbsDiff(probs, plain)}`);
    assert.equal(learn.model.training, true, 'predict restores training mode');
    learn.model.eval();
    const noFold = new Inference(learn.model, { foldBatchNorm: false, guard: 'no-grad' });
    probe.seen.length = 0;
    const exact = noFold.run(x, (out) => out.softmax(1));
    assert.equal(maxAbsDiff(exact, plain), 0, 'without folding it is the plain forward');
    assert.deepEqual(probe.seen.map((s) => [s.inference, s.requiresGrad]), [[false, false]], 'no-grad guard: normal tensors, no graph');
    const live = memory().liveTensors;
    learn.inference.dispose();
    assert.equal(memory().liveTensors, live - 2, 'dispose() frees the cached folded weights');
    assert.throws(() => new Inference(learn.model, { precision: 'auto' as 'fp32' }), /inference precision must be fp32, bf16 or fp16; got 'auto'/);
    assert.throws(() => new Inference(learn.model, { guard: 'none' as 'no-grad' }), /guard must be 'inference-mode' or 'no-grad'; got 'none'/);
  });
  learn.inference.dispose();
  learn.model.dispose();
});
