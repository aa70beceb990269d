import test from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, manualSeed, memory, noGrad, randn, randint, tidy } from '../../src/tensor/index.js';
import {
  BatchNorm2d, Conv2d, GlobalAvgPool2d, GraphModel, Identity, Linear, Module, ReLU, add, concatenate, crossEntropy, input,
} from '../../src/nn/index.js';

/** A layer that makes a new tensor (x * 1) and records how many tensors are alive when it runs. */
class Probe extends Module {
  readonly seen: number[] = [];
  constructor(private readonly baseline: () => number) { super(); }
  override forward(x: Tensor): Tensor {
    this.seen.push(memory().liveTensors - this.baseline());
    return x.mul(1);
  }
}

test('inference frees each intermediate after its last reader: live tensors stay flat along a chain, a skip is held until read', () => {
  let base = 0;
  const probes = Array.from({ length: 8 }, () => new Probe(() => base));
  const x = input([16]);
  let h = x;
  for (const p of probes.slice(0, 4)) h = p.apply(h);
  const skip = h;
  for (const p of probes.slice(4)) h = p.apply(h);
  const model = new GraphModel({ inputs: x, outputs: add(h, skip) });
  const batch = randn([4, 16]);
  base = memory().liveTensors;
  const out = noGrad(() => model.forward(batch));
  // NOTE: probe i runs while its input is alive (the caller's batch for probe 0); the skip (probe 3's
  // output) stays alive through probes 4-7 and is freed after the add.
  assert.deepEqual(probes.map((p) => p.seen.at(-1)), [0, 1, 1, 1, 1, 2, 2, 2]);
  assert.equal(memory().liveTensors, base + 1, 'only the output is left');
  assert.equal(batch.isDisposed, false, "the caller's input is never freed");
  out.dispose(); batch.dispose();
});

test('forward and backward inside tidy leave no tensor behind (training, shared layer, concatenation)', () => {
  manualSeed(83);
  const x = input([3, 8, 8]);
  const conv = new Conv2d(3, 4, 3, { padding: 1 });
  const a = new ReLU().apply(new BatchNorm2d(4).apply(conv.apply(x)));
  const b = new Conv2d(4, 4, 1).apply(a);
  const joined = concatenate([add(a, b), new Identity().apply(a)]);
  const model = new GraphModel({ inputs: x, outputs: new Linear(8, 3).apply(new GlobalAvgPool2d().apply(joined)) });
  const xb = randn([4, 3, 8, 8]);
  const yb = randint(0, 3, [4]);
  const step = () => tidy(() => {
    model.zeroGrad();
    const loss = crossEntropy(model.forward(xb), yb);
    loss.backward();
    return loss.item();
  });
  step();
  const before = memory();
  for (let i = 0; i < 5; i++) step();
  assert.equal(memory().liveTensors, before.liveTensors);
  assert.equal(memory().inUseBytes, before.inUseBytes);
  model.eval();
  noGrad(() => tidy(() => { model.forward(xb); }));
  assert.equal(memory().liveTensors, before.liveTensors);
  const out = noGrad(() => model.forward(xb));
  assert.equal(memory().liveTensors, before.liveTensors + 1, 'outside tidy, inference leaves only its output');
  out.dispose();
  model.dispose(); xb.dispose(); yb.dispose();
});

test('a graph that returns its input (Identity, an input as output) hands back the caller\'s tensor and frees nothing of it', () => {
  const x = input([5]);
  const idModel = new GraphModel({ inputs: x, outputs: new Identity().apply(new Identity().apply(x)) });
  const both = new GraphModel({ inputs: x, outputs: [x, new ReLU().apply(x)] });
  const t = randn([2, 5]);
  const before = memory().liveTensors;
  assert.equal(idModel.forward(t), t);
  const [same, relu] = both.forwardAll([t]);
  assert.equal(same, t);
  assert.equal(t.isDisposed, false);
  assert.equal(memory().liveTensors, before + 1);
  relu.dispose(); t.dispose();
});
