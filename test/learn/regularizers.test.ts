import test from 'node:test';
import assert from 'node:assert/strict';
import { GradientClipping, LabelSmoothingCrossEntropy, type Learner, MixUp, clipGradNorm } from '../../src/learn/index.js';
import { crossEntropy } from '../../src/nn/index.js';
import { type Tensor, dispose, manualSeed, memory, noGrad, op, randint, randn, stack, tidy } from '../../src/tensor/index.js';
import { assertClose, runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { blobLearner, mlp } from './fixtures.js';
import type { DataLoader, TensorDataset } from '../../src/data/index.js';

test('clipGradNorm matches torch.nn.utils.clip_grad_norm_ (2-norm, 1-norm, inf-norm; clipping and not)', { skip: skipWithoutTorch() }, () => {
  manualSeed(3);
  const grads = tidy(() => [randn([4, 3]).mul(2), randn([3]), randn([2, 2, 2]).mul(0.1)]);
  const cases: [number, number][] = [[0.5, 2], [1000, 2], [1.5, 1], [0.7, Infinity]];
  const script = cases.map(([maxNorm, type], i) => `
ps = [torch.nn.Parameter(torch.zeros_like(inp['g%d' % k])) for k in range(3)]
for k, p in enumerate(ps): p.grad = inp['g%d' % k].clone()
out['norm${i}'] = torch.nn.utils.clip_grad_norm_(ps, ${maxNorm}, norm_type=${type === Infinity ? "float('inf')" : type})
for k, p in enumerate(ps): out['c${i}_%d' % k] = p.grad`).join('\n');
  const expected = runTorch(script, { g0: grads[0], g1: grads[1], g2: grads[2] });
  for (const [i, [maxNorm, type]] of cases.entries()) {
    const params = grads.map((g) => tidy(() => g.mul(0).setRequiresGrad(true)));
    // NOTE: the clone's own handle is freed at once (the parameter keeps the gradient); left to the GC, it
    // would be finalized during a later test's fit and upset that test's live-tensor count.
    params.forEach((p, k) => { const g = grads[k].clone(); p.setGrad(g); g.dispose(); });
    const norm = clipGradNorm(params, maxNorm, type);
    assert.ok(Math.abs(norm - expected[`norm${i}`].item()) <= 1e-6 * norm, `norm ${i}: ${norm} vs ${expected[`norm${i}`].item()}`);
    params.forEach((p, k) => tidy(() => assertClose(p.grad!, expected[`c${i}_${k}`], { rtol: 0, atol: 0, label: `case ${i} grad ${k}` })));
    dispose(params);
  }
  dispose(grads); dispose(expected);
});

test('GradientClipping clips every step of a fit to maxNorm', async () => {
  const norms: number[] = [];
  const clipper = new GradientClipping(0.05);
  const learn = blobLearner({
    callbacks: [clipper, {
      order: 50,
      beforeStep: (l) => { norms.push(tidy(() => stack(l.model.parameters().map((p) => op('aten::norm', 'Scalar', [p.grad!.handle, 2]))).square().sum().sqrt().item())); },
    }],
  });
  const before = memory().liveTensors;
  await learn.fit(1, 0.1);
  assert.equal(norms.length, 8);
  assert.ok(clipper.lastNorm > 0.05, `raw norm ${clipper.lastNorm} is above the limit, so clipping happened`);
  for (const n of norms) assert.ok(n <= 0.05 * (1 + 1e-5), `clipped norm ${n}`);
  assert.equal(memory().liveTensors, before);
  freeLearner(learn);
});

/**
 * Frees a blobLearner's weights and data now.
 * NOTE: left to the garbage collector, they would be finalized during a later test's fit and upset that
 * test's live-tensor count.
 */
function freeLearner(learn: Learner): void {
  learn.model.dispose();
  for (const source of [learn.data.train, learn.data.valid]) ((source as DataLoader | undefined)?.dataset as TensorDataset | undefined)?.dispose();
}

test('MixUp mixes inputs and losses exactly as fastai/torch do with the same seed', { skip: skipWithoutTorch() }, () => {
  manualSeed(11);
  const x = randn([6, 1, 2, 2]);
  const y = randint(0, 3, [6]);
  const w = randn([4, 3]);
  const mix = new MixUp({ alpha: 0.4 });
  const state = { training: true, xb: x, yb: y, pred: undefined as Tensor | undefined, loss: undefined as Tensor | undefined };
  const learn = state as unknown as Learner;
  const result = tidy(() => {
    manualSeed(5);
    mix.beforeBatch(learn);
    state.pred = state.xb.flatten(1).matmul(w);
    state.loss = crossEntropy(state.pred, y);
    mix.afterLoss(learn);
    return { xb: state.xb, loss: state.loss!, lam: mix.currentLam! };
  });
  const expected = runTorch(`
from torch.distributions.beta import Beta
torch.manual_seed(5)
x, y, w = inp['x'], inp['y'], inp['w']
lam = Beta(torch.tensor(0.4), torch.tensor(0.4)).sample((6,)).squeeze()
lam = torch.stack([lam, 1 - lam], 1).max(1)[0]
shuffle = torch.randperm(6)
xb = torch.lerp(x[shuffle], x, lam.view(6, 1, 1, 1))
pred = xb.flatten(1) @ w
F = torch.nn.functional
loss = torch.lerp(F.cross_entropy(pred, y[shuffle], reduction='none'), F.cross_entropy(pred, y, reduction='none'), lam).mean()
out['lam'] = lam; out['xb'] = xb; out['loss'] = loss`, { x, y, w });
  assertClose(result.lam, expected.lam, { rtol: 0, atol: 0, label: 'lam' });
  assertClose(result.xb, expected.xb, { rtol: 1e-6, atol: 1e-7, label: 'mixed x' });
  assertClose(result.loss, expected.loss, { rtol: 1e-6, atol: 1e-7, label: 'mixed loss' });
  assert.ok(Array.from(result.lam.toArray() as Float32Array).every((v) => v >= 0.5 && v <= 1));
  dispose([x, y, w, result, expected]);
});

test('MixUp trains without leaking tensors and leaves validation unmixed', async () => {
  const learn = blobLearner({ callbacks: [new MixUp({ alpha: 0.4 })] });
  manualSeed(1);
  const before = memory().liveTensors;
  const history = await learn.fit(3, 0.2);
  assert.equal(memory().liveTensors, before);
  assert.ok((history[2].metrics.accuracy ?? 0) > 0.9, `accuracy ${history[2].metrics.accuracy}`);
  const plain = blobLearner({}, mlp());
  const evaluated = await plain.evaluate(plain.data.valid!);
  const mixed = blobLearner({ callbacks: [new MixUp()] }, mlp());
  assert.equal((await mixed.evaluate(mixed.data.valid!)).loss, evaluated.loss, 'same weights: same validation loss with MixUp on');
  for (const l of [learn, plain, mixed]) freeLearner(l);
});

test('LabelSmoothingCrossEntropy equals (1 - eps) * NLL + eps * mean(-log p) and torch label_smoothing', () => {
  manualSeed(2);
  tidy(() => {
    const logits = randn([5, 4]);
    const target = randint(0, 4, [5]);
    const smoothed = LabelSmoothingCrossEntropy(0.1)(logits, target).item();
    const logp = logits.logSoftmax(1);
    const nll = crossEntropy(logits, target).item();
    const uniform = noGrad(() => logp.neg().mean(1).mean().item());
    assert.ok(Math.abs(smoothed - (0.9 * nll + 0.1 * uniform)) < 1e-6, `${smoothed} vs ${0.9 * nll + 0.1 * uniform}`);
    assert.equal(LabelSmoothingCrossEntropy(0)(logits, target).item(), nll);
  });
  assert.throws(() => LabelSmoothingCrossEntropy(1.5), /epsilon must be in \[0, 1\]/);
});
