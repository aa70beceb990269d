import test from 'node:test';
import assert from 'node:assert/strict';
import { Learner, tta, ttaViews } from '../../src/learn/index.js';
import { Flatten, Linear, Sequential } from '../../src/nn/index.js';
import { dispose, manualSeed, memory, randint, randn, tidy } from '../../src/tensor/index.js';
import { assertClose, runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { TensorBatches } from './fixtures.js';

test('ttaViews: original, shifted crops (replicate padding) and their horizontal flips, as torch computes them', { skip: skipWithoutTorch() }, () => {
  manualSeed(4);
  const x = randn([2, 3, 5, 6]);
  const views = ttaViews(x, { flips: true, crops: 1 });
  assert.equal(views.length, 10);
  const expected = runTorch(`
F = torch.nn.functional
x = inp['x']; s = 1; H, W = x.shape[2], x.shape[3]
p = F.pad(x, (s, s, s, s), mode='replicate')
bases = [x] + [p[:, :, s + dy:s + dy + H, s + dx:s + dx + W] for dy, dx in [(-s, 0), (s, 0), (0, -s), (0, s)]]
for i, v in enumerate(bases + [torch.flip(b, [3]) for b in bases]): out['v%d' % i] = v`, { x });
  views.forEach((v, i) => assertClose(v, expected[`v${i}`], { rtol: 0, atol: 0, label: `view ${i}` }));
  assert.equal(ttaViews(x, { flips: false }).length, 1);
  assert.throws(() => ttaViews(x, { crops: 5 }), /crops must be an integer shift in \[0, 4\]/);
  dispose([x, views, expected]);
});

test('tta averages softmax predictions over the views and keeps targets in order', async () => {
  manualSeed(9);
  const { x, y } = tidy(() => ({ x: randn([10, 1, 4, 4]), y: randint(0, 3, [10]) }));
  const source = new TensorBatches(x, y, 4);
  const learn = new Learner(new Sequential(new Flatten(), new Linear(16, 3)), { train: source }, { progress: false });
  const before = memory().liveTensors;
  const { probs, targets } = await tta(learn, source, { flips: true, crops: 1 });
  assert.equal(memory().liveTensors, before + 2);
  tidy(() => {
    const views = ttaViews(x, { flips: true, crops: 1 });
    const manual = views.map((v) => learn.predict(v)).reduce((a, b) => a.add(b)).div(views.length);
    assertClose(probs, manual, { rtol: 1e-6, atol: 1e-7, label: 'tta probs' });
    assertClose(targets, y, { rtol: 0, atol: 0, label: 'targets' });
    assertClose(probs.sum(1), manual.sum(1).mul(0).add(1), { atol: 1e-6, label: 'rows sum to 1' });
  });
  const plain = await tta(learn, source, { flips: false });
  const predicted = learn.predict(x);
  assertClose(plain.probs, predicted, { rtol: 1e-6, atol: 1e-7, label: 'no augmentation = predict' });
  dispose([probs, targets, plain, predicted]);
  source.dispose();
});
