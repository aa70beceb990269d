import test from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, manualSeed, noGrad, ones, rand, randn, tidy } from '../../src/tensor/index.js';
import { BatchNorm1d, BatchNorm2d, Dropout, functional as F } from '../../src/nn/index.js';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { assertAllClose, errorMessage } from '../tensor/parity.js';
import { checkLayers } from './layercheck.js';

/** Random affine parameters and running statistics, so eval mode is a real test. */
function randomise<T extends BatchNorm1d | BatchNorm2d>(bn: T): T {
  noGrad(() => {
    bn.weight?.copy_(randn([bn.numFeatures]));
    bn.bias?.copy_(randn([bn.numFeatures]));
    bn.running_mean?.copy_(randn([bn.numFeatures]));
    bn.running_var?.copy_(rand([bn.numFeatures]).add(0.5));
    bn.num_batches_tracked?.fill_(3);
  });
  return bn;
}

test('BatchNorm1d/2d in train mode: outputs, gradients, running stats and num_batches_tracked match torch.nn', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    manualSeed(41);
    checkLayers([
      { name: 'bn1d', module: new BatchNorm1d(5), torch: 'nn.BatchNorm1d(5)', input: randn([8, 5]).mul(3).add(1) },
      { name: 'bn1d_seq', module: new BatchNorm1d(3), torch: 'nn.BatchNorm1d(3)', input: randn([4, 3, 6]) },
      { name: 'bn2d', module: new BatchNorm2d(4), torch: 'nn.BatchNorm2d(4)', input: randn([3, 4, 5, 5]).mul(2).sub(1) },
      { name: 'bn2d_random', module: randomise(new BatchNorm2d(4)), torch: 'nn.BatchNorm2d(4)', input: randn([2, 4, 3, 3]) },
      { name: 'bn2d_3steps', module: new BatchNorm2d(3), torch: 'nn.BatchNorm2d(3)', input: randn([2, 3, 4, 4]).add(2), steps: 3 },
      { name: 'bn2d_momentum', module: new BatchNorm2d(3, { momentum: 0.5, eps: 1e-3 }), torch: 'nn.BatchNorm2d(3, momentum=0.5, eps=1e-3)', input: randn([2, 3, 4, 4]), steps: 2 },
      { name: 'bn2d_noaffine', module: new BatchNorm2d(3, { affine: false }), torch: 'nn.BatchNorm2d(3, affine=False)', input: randn([2, 3, 4, 4]) },
      { name: 'bn2d_nostats', module: new BatchNorm2d(3, { trackRunningStats: false }), torch: 'nn.BatchNorm2d(3, track_running_stats=False)', input: randn([2, 3, 4, 4]) },
      { name: 'bn1d_pair', module: new BatchNorm1d(2), torch: 'nn.BatchNorm1d(2)', input: randn([2, 2]) },
    ]);
  });
});

test('BatchNorm in eval mode uses running statistics like torch.nn', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    manualSeed(42);
    checkLayers([
      { name: 'bn1d_eval', module: randomise(new BatchNorm1d(5)), torch: 'nn.BatchNorm1d(5)', input: randn([6, 5]), train: false },
      { name: 'bn2d_eval', module: randomise(new BatchNorm2d(4)), torch: 'nn.BatchNorm2d(4)', input: randn([2, 4, 3, 3]), train: false },
      { name: 'bn2d_eval_single', module: randomise(new BatchNorm2d(2)), torch: 'nn.BatchNorm2d(2)', input: randn([1, 2, 1, 1]), train: false },
      { name: 'bn2d_eval_nostats', module: new BatchNorm2d(2, { trackRunningStats: false }), torch: 'nn.BatchNorm2d(2, track_running_stats=False)', input: randn([3, 2, 2, 2]), train: false },
    ]);
  });
});

test('BatchNorm train steps then eval, and bookkeeping of num_batches_tracked', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    manualSeed(43);
    const batches = [randn([4, 3, 2, 2]).add(1), randn([4, 3, 2, 2]).mul(2), randn([4, 3, 2, 2])];
    const bn = new BatchNorm2d(3);
    noGrad(() => { bn.forward(batches[0]); bn.forward(batches[1]); });
    bn.eval();
    const evalOut = noGrad(() => bn.forward(batches[2]));
    assert.equal(bn.num_batches_tracked!.item(), 2, 'eval forwards do not count');
    assert.equal(bn.num_batches_tracked!.dtype, 'int64');
    const ref = runTorch(`
      import torch.nn as nn
      bn = nn.BatchNorm2d(3)
      with torch.no_grad():
          bn(inp['b0']); bn(inp['b1'])
          bn.eval()
          out['eval'] = bn(inp['b2'])
      out['running_mean'] = bn.running_mean
      out['running_var'] = bn.running_var
      out['num_batches_tracked'] = bn.num_batches_tracked
    `, { b0: batches[0], b1: batches[1], b2: batches[2] });
    assertAllClose({ eval: evalOut, running_mean: bn.running_mean!, running_var: bn.running_var!, num_batches_tracked: bn.num_batches_tracked! }, ref);
    assert.deepEqual(bn.namedBuffers().map(([k]) => k), ['running_mean', 'running_var', 'num_batches_tracked']);
    bn.dispose();
  });
});

test('BatchNorm refuses one value per channel in training (PyTorch raises too) and wrong channels', () => {
  tidy(() => {
    const bn = new BatchNorm1d(3);
    const before = bn.running_var!.toList();
    assert.match(errorMessage(() => bn.forward(randn([1, 3]))), /BatchNorm1d: expected more than 1 value per channel when training, got input of shape \[1, 3\]/);
    assert.deepEqual(bn.running_var!.toList(), before, 'running stats untouched by the refused batch');
    assert.equal(bn.num_batches_tracked!.item(), 0);
    bn.eval();
    assert.deepEqual(bn.forward(randn([1, 3])).shape, [1, 3], 'a single sample is fine in eval mode');
    assert.match(errorMessage(() => new BatchNorm2d(3).forward(randn([2, 4, 5, 5]))), /BatchNorm2d\(3\) expects input of rank 4 with 3 channels in dim 1, got shape \[2, 4, 5, 5\]/);
    assert.match(errorMessage(() => new BatchNorm2d(3).forward(randn([2, 3, 5]))), /BatchNorm2d\(3\) expects input of rank 4/);
    assert.match(errorMessage(() => new BatchNorm1d(0)), /BatchNorm1d: numFeatures must be a positive integer, got 0/);
    bn.dispose();
  });
});

test('Dropout with the same seed draws the same mask as torch.nn.Dropout, and gradients follow it', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    manualSeed(9);
    const u = randn([4, 250]);
    manualSeed(5);
    const dropout = new Dropout(0.3);
    const x = ones([4, 250]).mul(2).setRequiresGrad(true);
    const y = dropout.forward(x);
    y.mul(u).sum().backward();
    const ours: Record<string, Tensor> = { y: y.detach(), grad: x.grad!, after: rand([5]), f_p1: F.dropout(ones([3]), 1, true), f_p0: F.dropout(u, 0, true) };
    dropout.eval();
    ours.eval = dropout.forward(u);
    const ref = runTorch(`
      import torch.nn as nn
      import torch.nn.functional as F
      u = inp['u']
      torch.manual_seed(5)
      drop = nn.Dropout(0.3)
      x = (torch.ones(4, 250) * 2).requires_grad_()
      y = drop(x)
      (y * u).sum().backward()
      out['y'] = y
      out['grad'] = x.grad
      out['after'] = torch.rand(5)
      out['f_p1'] = F.dropout(torch.ones(3), 1.0, True)
      out['f_p0'] = F.dropout(u, 0.0, True)
      drop.eval()
      out['eval'] = drop(u)
    `, { u }); // NOTE: not \`d\`: the helper's prelude keeps its temp directory in \`d\`.
    assertAllClose(ours, ref, { rtol: 0, atol: 0 });
    const kept = ours.y.ne(0).float().mean().item();
    assert.ok(Math.abs(kept - 0.7) < 0.05, `about 70% kept, got ${kept}`);
    assert.ok(Math.abs(ours.y.maxAlong(1).values.max().item() - 2 / 0.7) < 1e-5, 'kept values are scaled by 1/(1-p)');
  });
});

test('Dropout p=0 in training and any p in eval is the identity; bad p is refused', () => {
  tidy(() => {
    const x = randn([3, 4]);
    assert.deepEqual(new Dropout(0).forward(x).toList(), x.toList());
    assert.deepEqual(new Dropout(0.9).eval().forward(x).toList(), x.toList());
    for (const p of [-0.1, 1, 1.5, NaN]) assert.match(errorMessage(() => new Dropout(p)), /Dropout: p must be in \[0, 1\), got/);
    for (const p of [-0.1, 1.5, NaN]) assert.match(errorMessage(() => F.dropout(x, p, true)), /dropout probability must be in \[0, 1\], got/);
  });
});
