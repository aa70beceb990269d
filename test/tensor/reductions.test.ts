import test from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, randn, randint, randperm, tensor, tidy } from '../../src/tensor/index.js';
import { skipWithoutTorch } from '../helpers/torch.js';
import { type Case, checkCases } from './parity.js';

test('sum/mean/var/std with and without dims match PyTorch', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    manualSeed(3);
    const x = { a: randn([3, 4, 5]), i: randint(-9, 10, [3, 4]), m: randint(0, 2, [3, 4]).gt(0) };
    const { a, i, m } = x;
    const cases: Case[] = [
      ['sum', () => a.sum(), 'a.sum()'],
      ['sum_d1', () => a.sum(1), 'a.sum(1)'],
      ['sum_neg', () => a.sum(-1), 'a.sum(-1)'],
      ['sum_d02', () => a.sum([0, 2]), 'a.sum([0, 2])'],
      ['sum_keep', () => a.sum(1, true), 'a.sum(1, keepdim=True)'],
      ['sum_int', () => i.sum(), 'i.sum()'],
      ['sum_int_dim', () => i.sum(0), 'i.sum(0)'],
      ['sum_bool', () => m.sum(), 'm.sum()'],
      ['mean', () => a.mean(), 'a.mean()'],
      ['mean_d2', () => a.mean(2), 'a.mean(2)'],
      ['mean_d01_keep', () => a.mean([0, 1], true), 'a.mean([0, 1], keepdim=True)'],
      ['var', () => a.var(), 'a.var()'],
      ['var_biased', () => a.var(undefined, { unbiased: false }), 'a.var(unbiased=False)'],
      ['var_d1', () => a.var(1), 'a.var(1)'],
      ['var_d1_keep', () => a.var(1, { keepDim: true }), 'a.var(1, keepdim=True)'],
      ['var_d02_biased', () => a.var([0, 2], { unbiased: false }), 'a.var([0, 2], unbiased=False)'],
      ['std', () => a.std(), 'a.std()'],
      ['std_biased', () => a.std(undefined, { unbiased: false }), 'a.std(unbiased=False)'],
      ['std_d0', () => a.std(0), 'a.std(0)'],
      ['std_d2_keep', () => a.std(2, { keepDim: true }), 'a.std(2, keepdim=True)'],
    ];
    checkCases(cases, x, "a, i, m = inp['a'], inp['i'], inp['m']");
  });
});

test('max/min/argmax/argmin/topk match PyTorch (values and indices)', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    manualSeed(4);
    // NOTE: a permutation has no ties, so indices are unambiguous.
    const x = { a: randperm(24).float().reshape(4, 6), i: randperm(12).reshape(3, 4) };
    const { a, i } = x;
    const cases: Case[] = [
      ['max', () => a.max(), 'a.max()'],
      ['min', () => a.min(), 'a.min()'],
      ['int_max', () => i.max(), 'i.max()'],
      ['max_along_values', () => a.maxAlong(1).values, 'a.max(1).values'],
      ['max_along_indices', () => a.maxAlong(1).indices, 'a.max(1).indices'],
      ['max_along_keep', () => a.maxAlong(0, true).values, 'a.max(0, keepdim=True).values'],
      ['argmax', () => a.argmax(), 'a.argmax()'],
      ['argmax_d1', () => a.argmax(1), 'a.argmax(1)'],
      ['argmax_d0_keep', () => a.argmax(0, true), 'a.argmax(0, keepdim=True)'],
      ['argmin', () => a.argmin(), 'a.argmin()'],
      ['argmin_d1', () => a.argmin(-1), 'a.argmin(-1)'],
      ['int_argmax', () => i.argmax(1), 'i.argmax(1)'],
      ['topk_values', () => a.topk(3).values, 'a.topk(3).values'],
      ['topk_indices', () => a.topk(3).indices, 'a.topk(3).indices'],
      ['topk_d0_values', () => a.topk(2, 0).values, 'a.topk(2, 0).values'],
      ['topk_d0_indices', () => a.topk(2, 0).indices, 'a.topk(2, 0).indices'],
    ];
    checkCases(cases, x, "a, i = inp['a'], inp['i']", { rtol: 0, atol: 0 });
  });
});

test('reductions of small known tensors', () => {
  tidy(() => {
    const a = tensor([[1, 2, 3], [4, 5, 6]]);
    assert.equal(a.sum().item(), 21);
    assert.deepEqual(a.sum(0).toList(), [5, 7, 9]);
    assert.deepEqual(a.mean(1, true).shape, [2, 1]);
    assert.ok(Math.abs(tensor([1, 2, 3, 4]).var().item() - 5 / 3) < 1e-6);
    assert.ok(Math.abs(tensor([1, 2, 3, 4]).std(undefined, { unbiased: false }).item() - Math.sqrt(1.25)) < 1e-6);
    assert.equal(a.argmax().dtype, 'int64');
    assert.equal(a.argmax().item(), 5);
    const { values, indices } = tensor([3, 1, 4, 1, 5]).topk(2);
    assert.deepEqual(values.toList(), [5, 4]);
    assert.deepEqual(indices.toList(), [4, 2]);
  });
});
