import test from 'node:test';
import assert from 'node:assert/strict';
import { cat, manualSeed, randn, split, stack, tensor, tidy, where } from '../../src/tensor/index.js';
import { skipWithoutTorch } from '../helpers/torch.js';
import { type Case, checkCases } from './parity.js';
import { errorMessage } from './parity.js';

const PRELUDE = `
  a, b, s, idx, gidx, mask = (inp[k] for k in ['a', 'b', 's', 'idx', 'gidx', 'mask'])
`;

function inputs() {
  manualSeed(5);
  return {
    a: randn([2, 3, 4]),
    b: randn([2, 3, 4]),
    s: randn([1, 3, 1, 2]),
    idx: tensor([2, 0, 2], { dtype: 'int64' }),
    gidx: tensor([[[3, 0], [1, 1], [2, 0]], [[0, 0], [3, 2], [1, 3]]], { dtype: 'int64' }),
    mask: randn([2, 3, 4]).gt(0),
  };
}

test('reshape/permute/transpose/flatten/squeeze/unsqueeze/expand/repeat match PyTorch', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    const x = inputs();
    const { a, s } = x;
    const cases: Case[] = [
      ['reshape', () => a.reshape(6, 4), 'a.reshape(6, 4)'],
      ['reshape_array', () => a.reshape([4, -1]), 'a.reshape(4, -1)'],
      ['view', () => a.view(2, 12), 'a.view(2, 12)'],
      ['flatten', () => a.flatten(), 'a.flatten()'],
      ['flatten_1', () => a.flatten(1), 'a.flatten(1)'],
      ['flatten_0_1', () => a.flatten(0, 1), 'a.flatten(0, 1)'],
      ['permute', () => a.permute(2, 0, 1), 'a.permute(2, 0, 1)'],
      ['permute_array', () => a.permute([1, 2, 0]), 'a.permute(1, 2, 0)'],
      ['transpose', () => a.transpose(0, 2), 'a.transpose(0, 2)'],
      ['transpose_neg', () => a.transpose(-1, -2), 'a.transpose(-1, -2)'],
      ['contiguous', () => a.transpose(0, 1).contiguous().view(-1), 'a.transpose(0, 1).contiguous().view(-1)'],
      ['squeeze_all', () => s.squeeze(), 's.squeeze()'],
      ['squeeze_dim', () => s.squeeze(2), 's.squeeze(2)'],
      ['squeeze_noop', () => s.squeeze(1), 's.squeeze(1)'],
      ['unsqueeze', () => a.unsqueeze(1), 'a.unsqueeze(1)'],
      ['unsqueeze_neg', () => a.unsqueeze(-1), 'a.unsqueeze(-1)'],
      ['expand', () => s.expand(4, 3, 5, 2), 's.expand(4, 3, 5, 2)'],
      ['expand_keep', () => s.expand([2, -1, 3, -1]), 's.expand(2, -1, 3, -1)'],
      ['repeat', () => s.repeat(2, 1, 3, 1), 's.repeat(2, 1, 3, 1)'],
    ];
    checkCases(cases, x, PRELUDE, { rtol: 0, atol: 0 });
  });
});

test('cat/stack/split/where match PyTorch', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    const x = inputs();
    const { a, b, mask } = x;
    const cases: Case[] = [
      ['cat0', () => cat([a, b]), 'torch.cat([a, b])'],
      ['cat2', () => cat([a, b, a], 2), 'torch.cat([a, b, a], 2)'],
      ['cat_neg', () => cat([a, b.slice(1, 0, 2)], 1), 'torch.cat([a, b[:, 0:2]], 1)'],
      ['stack0', () => stack([a, b]), 'torch.stack([a, b])'],
      ['stack_last', () => stack([a, b], -1), 'torch.stack([a, b], -1)'],
      ...split(a, 3, 2).map((part, k): Case => [`split${k}`, () => part, `torch.split(a, 3, 2)[${k}]`]),
      ...split(a, 1).map((part, k): Case => [`split_d0_${k}`, () => part, `torch.split(a, 1)[${k}]`]),
      ['where', () => where(mask, a, b), 'torch.where(mask, a, b)'],
    ];
    checkCases(cases, x, PRELUDE, { rtol: 0, atol: 0 });
    assert.equal(split(a, 3, 2).length, 2);
  });
});

test('slice/select/indexSelect/gather/index/maskedSelect match PyTorch', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    const x = inputs();
    const { a, idx, gidx, mask } = x;
    const rows = tensor([1, 0, 1], { dtype: 'int64' });
    const cols = tensor([3, 3, 0], { dtype: 'int64' });
    const cases: Case[] = [
      ['slice', () => a.slice(2, 1, 3), 'a[:, :, 1:3]'],
      ['slice_open_end', () => a.slice(1, 1), 'a[:, 1:]'],
      ['slice_open_start', () => a.slice(2, null, 2), 'a[:, :, :2]'],
      ['slice_negative', () => a.slice(2, -3, -1), 'a[:, :, -3:-1]'],
      ['slice_step', () => a.slice(2, 0, null, 2), 'a[:, :, ::2]'],
      ['slice_past_end', () => a.slice(2, 2, 100), 'a[:, :, 2:100]'],
      ['select', () => a.select(1, 2), 'a[:, 2]'],
      ['select_negative', () => a.select(2, -1), 'a[:, :, -1]'],
      ['at', () => a.at(1), 'a[1]'],
      ['index_select', () => a.indexSelect(1, idx), 'a.index_select(1, idx)'],
      ['index_select_last', () => a.indexSelect(2, idx), 'a.index_select(2, idx)'],
      ['gather', () => a.gather(2, gidx), 'a.gather(2, gidx)'],
      ['index_first', () => a.index([rows]), 'a[torch.tensor([1, 0, 1])]'],
      ['index_second', () => a.index([null, idx]), 'a[:, idx]'],
      ['index_pairs', () => a.index([rows, null, cols]), 'a[torch.tensor([1, 0, 1]), :, torch.tensor([3, 3, 0])]'],
      ['index_mask', () => a.index([mask]), 'a[mask]'],
      ['masked_select', () => a.maskedSelect(mask), 'a.masked_select(mask)'],
      ['masked_select_broadcast', () => a.maskedSelect(mask.select(0, 0)), 'a.masked_select(mask[0])'],
    ];
    checkCases(cases, x, PRELUDE, { rtol: 0, atol: 0 });
  });
});

test('softmax and logSoftmax along each dim match PyTorch', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    const x = inputs();
    const { a } = x;
    const big = a.mul(50); // large logits: must stay finite (stable kernels)
    const cases: Case[] = [
      ['softmax_last', () => a.softmax(-1), 'a.softmax(-1)'],
      ['softmax_0', () => a.softmax(0), 'a.softmax(0)'],
      ['softmax_1', () => a.softmax(1), 'a.softmax(1)'],
      ['log_softmax_last', () => a.logSoftmax(-1), 'a.log_softmax(-1)'],
      ['log_softmax_1', () => a.logSoftmax(1), 'a.log_softmax(1)'],
      ['softmax_large', () => big.softmax(2), '(a * 50).softmax(2)'],
      ['log_softmax_large', () => big.logSoftmax(2), '(a * 50).log_softmax(2)'],
    ];
    checkCases(cases, x, PRELUDE);
    assert.ok(a.softmax(2).sum(2).sub(1).abs().max().item() < 1e-6, 'softmax rows sum to 1');
  });
});

test('shape errors are JS Errors carrying PyTorch\'s message', () => {
  tidy(() => {
    const a = randn([2, 3]);
    assert.match(errorMessage(() => a.reshape(4, 2)), /shape '\[4, 2\]' is invalid for input of size 6/);
    assert.match(errorMessage(() => a.transpose(0, 1).view(6)), /view size is not compatible/);
    assert.match(errorMessage(() => cat([a, randn([2, 4])])), /Sizes of tensors must match/);
    assert.match(errorMessage(() => a.select(0, 5)), /out of range/);
    assert.match(errorMessage(() => a.indexSelect(0, tensor([0.5]))), /index_select\(\): Expected dtype int/);
    assert.match(errorMessage(() => a.permute(0)), /does not match the length of the desired ordering/);
  });
});
