import test from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, rand, randint, randn, tensor, tidy, zeros } from '../../src/tensor/index.js';
import { argmax, binaryCrossEntropyWithLogits as bce, crossEntropy, mseLoss, nllLoss, oneHot } from '../../src/nn/index.js';
import { skipWithoutTorch } from '../helpers/torch.js';
import { type GradCase, checkGrads } from '../tensor/gradcheck.js';
import { type Case, checkCases, errorMessage } from '../tensor/parity.js';

function inputs() {
  manualSeed(51);
  return {
    z: randn([6, 4]).mul(2), t: tensor([0, 3, 1, 1, 2, 3], { dtype: 'int64' }), cw: rand([4]).add(0.5), u: randn([6]),
    soft: randn([6, 4]).softmax(1), ti: tensor([0, -100, 1, 3, -100, 2], { dtype: 'int64' }),
    seg: randn([2, 4, 3, 3]), segt: randint(0, 4, [2, 3, 3]),
    b: randn([6, 3]), bt: rand([6, 3]).gt(0.5).float(), bw: rand([6, 3]), pw: rand([3]).add(0.5),
    r: randn([5, 2]), rt: randn([5, 2]),
  };
}

test('crossEntropy and nllLoss forward and gradients match PyTorch', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    const cases: GradCase[] = [
      ['ce', ['z'], (v) => crossEntropy(v.z, v.t), 'F.cross_entropy(z, t)'],
      ['ce_smooth', ['z'], (v) => crossEntropy(v.z, v.t, { labelSmoothing: 0.1 }), 'F.cross_entropy(z, t, label_smoothing=0.1)'],
      ['ce_weight', ['z'], (v) => crossEntropy(v.z, v.t, { weight: v.cw }), 'F.cross_entropy(z, t, weight=cw)'],
      ['ce_weight_smooth', ['z'], (v) => crossEntropy(v.z, v.t, { weight: v.cw, labelSmoothing: 0.1 }), 'F.cross_entropy(z, t, weight=cw, label_smoothing=0.1)'],
      ['ce_none', ['z'], (v) => crossEntropy(v.z, v.t, { reduction: 'none' }).mul(v.u).sum(), "(F.cross_entropy(z, t, reduction='none') * u).sum()"],
      ['ce_sum', ['z'], (v) => crossEntropy(v.z, v.t, { reduction: 'sum' }), "F.cross_entropy(z, t, reduction='sum')"],
      ['ce_sum_smooth', ['z'], (v) => crossEntropy(v.z, v.t, { reduction: 'sum', labelSmoothing: 0.1 }), "F.cross_entropy(z, t, reduction='sum', label_smoothing=0.1)"],
      ['ce_ignore_default', ['z'], (v) => crossEntropy(v.z, v.ti), 'F.cross_entropy(z, ti)'],
      ['ce_ignore_index', ['z'], (v) => crossEntropy(v.z, v.t, { ignoreIndex: 3 }), 'F.cross_entropy(z, t, ignore_index=3)'],
      ['ce_soft', ['z'], (v) => crossEntropy(v.z, v.soft), 'F.cross_entropy(z, soft)'],
      ['ce_soft_smooth', ['z'], (v) => crossEntropy(v.z, v.soft, { labelSmoothing: 0.1 }), 'F.cross_entropy(z, soft, label_smoothing=0.1)'],
      ['ce_spatial', ['seg'], (v) => crossEntropy(v.seg, v.segt), 'F.cross_entropy(seg, segt)'],
      ['nll', ['z'], (v) => nllLoss(v.z.logSoftmax(1), v.t), 'F.nll_loss(z.log_softmax(1), t)'],
      ['nll_weight', ['z'], (v) => nllLoss(v.z.logSoftmax(1), v.t, { weight: v.cw }), 'F.nll_loss(z.log_softmax(1), t, weight=cw)'],
      ['nll_sum', ['z'], (v) => nllLoss(v.z.logSoftmax(1), v.t, { reduction: 'sum' }), "F.nll_loss(z.log_softmax(1), t, reduction='sum')"],
      ['nll_none', ['z'], (v) => nllLoss(v.z.logSoftmax(1), v.t, { reduction: 'none' }).mul(v.u).sum(), "(F.nll_loss(z.log_softmax(1), t, reduction='none') * u).sum()"],
      ['nll_ignore', ['z'], (v) => nllLoss(v.z.logSoftmax(1), v.ti), 'F.nll_loss(z.log_softmax(1), ti)'],
    ];
    checkGrads(cases, inputs(), '');
  });
});

test('binaryCrossEntropyWithLogits and mseLoss forward and gradients match PyTorch', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    const cases: GradCase[] = [
      ['bce', ['b'], (v) => bce(v.b, v.bt), 'F.binary_cross_entropy_with_logits(b, bt)'],
      ['bce_soft_targets', ['b', 'bw'], (v) => bce(v.b, v.bw), 'F.binary_cross_entropy_with_logits(b, bw)'],
      ['bce_weight', ['b'], (v) => bce(v.b, v.bt, { weight: v.bw }), 'F.binary_cross_entropy_with_logits(b, bt, weight=bw)'],
      ['bce_pos_weight', ['b'], (v) => bce(v.b, v.bt, { posWeight: v.pw }), 'F.binary_cross_entropy_with_logits(b, bt, pos_weight=pw)'],
      ['bce_sum', ['b'], (v) => bce(v.b, v.bt, { reduction: 'sum' }), "F.binary_cross_entropy_with_logits(b, bt, reduction='sum')"],
      ['bce_none', ['b'], (v) => bce(v.b, v.bt, { reduction: 'none' }).mul(v.bw).sum(), "(F.binary_cross_entropy_with_logits(b, bt, reduction='none') * bw).sum()"],
      ['bce_large_logits', ['b'], (v) => bce(v.b.mul(100), v.bt), 'F.binary_cross_entropy_with_logits(b * 100, bt)'],
      ['mse', ['r', 'rt'], (v) => mseLoss(v.r, v.rt), 'F.mse_loss(r, rt)'],
      ['mse_sum', ['r'], (v) => mseLoss(v.r, v.rt, { reduction: 'sum' }), "F.mse_loss(r, rt, reduction='sum')"],
      ['mse_none', ['r'], (v) => mseLoss(v.r, v.rt, { reduction: 'none' }).mul(v.rt).sum(), "(F.mse_loss(r, rt, reduction='none') * rt).sum()"],
    ];
    checkGrads(cases, inputs(), '');
  });
});

test('oneHot and argmax match F.one_hot and torch.argmax', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    const x = inputs();
    const cases: Case[] = [
      ['one_hot', () => oneHot(x.t, 4), 'F.one_hot(t, 4).float()'],
      ['one_hot_list', () => oneHot([2, 0, 1], 5), 'F.one_hot(torch.tensor([2, 0, 1]), 5).float()'],
      ['one_hot_2d', () => oneHot(x.segt, 4), 'F.one_hot(segt, 4).float()'],
      ['argmax', () => argmax(x.z), 'z.argmax(-1)'],
      ['argmax_d1', () => argmax(x.seg, 1), 'seg.argmax(1)'],
      ['onecold_roundtrip', () => argmax(oneHot(x.t, 4)), 't'],
    ];
    checkCases(cases, x, `
      import torch.nn.functional as F
      t, z, seg, segt = inp['t'], inp['z'], inp['seg'], inp['segt']
    `, { rtol: 0, atol: 0 });
  });
});

test('known loss values', () => {
  tidy(() => {
    // Uniform logits over 4 classes: cross-entropy is ln 4 whatever the label.
    assert.ok(Math.abs(crossEntropy(zeros([3, 4]), tensor([0, 1, 3], { dtype: 'int64' })).item() - Math.log(4)) < 1e-6);
    assert.ok(Math.abs(mseLoss(tensor([1, 2]), tensor([0, 0])).item() - 2.5) < 1e-6);
    assert.ok(Math.abs(bce(zeros([2]), tensor([0, 1])).item() - Math.log(2)) < 1e-6);
    assert.ok(Number.isNaN(crossEntropy(zeros([0, 3]), zeros([0], { dtype: 'int64' })).item()), 'an empty batch gives NaN like PyTorch, not a crash');
    assert.deepEqual(oneHot([], 3).shape, [0, 3], 'no labels give an empty one-hot matrix');
  });
});

test('loss errors: labels out of range, bad shapes and dtypes are JS Errors', () => {
  tidy(() => {
    const z = randn([3, 4]);
    assert.match(errorMessage(() => crossEntropy(z, tensor([0, 4, 1], { dtype: 'int64' }))),
      /crossEntropy: label out of range: labels must be in \[0, 3\] for 4 classes, got 4/);
    assert.match(errorMessage(() => crossEntropy(z, tensor([0, -1, 1], { dtype: 'int64' }))), /crossEntropy: label out of range.*got -1/);
    assert.match(errorMessage(() => crossEntropy(z, tensor([0, 9, 1], { dtype: 'int64' }), { ignoreIndex: 1 })), /crossEntropy: label out of range.*got 9/);
    assert.match(errorMessage(() => nllLoss(z, tensor([5, 0, 0], { dtype: 'int64' }))), /nllLoss: label out of range.*got 5/);
    assert.match(errorMessage(() => crossEntropy(z, tensor([0, 1], { dtype: 'int64' }))), /Expected input batch_size \(3\) to match target batch_size \(2\)/);
    assert.match(errorMessage(() => crossEntropy(z, tensor([0, 1, 2], { dtype: 'int32' }))), /expected scalar type Long but found Int|Int/);
    assert.match(errorMessage(() => mseLoss(z, randn([4, 3]))), /size|match/);
    assert.match(errorMessage(() => oneHot([0, 4], 4)), /oneHot: label 4 out of range for 4 classes/);
  });
});
