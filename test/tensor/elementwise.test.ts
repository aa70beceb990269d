import test from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, manualSeed, rand, randn, randint, tensor, tidy } from '../../src/tensor/index.js';
import { skipWithoutTorch } from '../helpers/torch.js';
import { type Case, checkCases } from './parity.js';

const PRELUDE = `
  a, b, c, p, q = inp['a'], inp['b'], inp['c'], inp['p'], inp['q']
  i, j = inp['i'], inp['j']
`;

function inputs(): Record<string, Tensor> {
  manualSeed(7);
  return {
    a: randn([3, 4]), // general values
    b: randn([4]), // broadcasts over rows
    c: randn([3, 1]), // broadcasts over columns
    p: rand([3, 4]).add(0.1), // positive, for log/sqrt/pow
    q: rand([4]).add(0.5),
    i: randint(-5, 6, [3, 4]), // int64
    j: randint(1, 4, [4]),
  };
}

test('elementwise arithmetic and broadcasting match PyTorch', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    const x = inputs();
    const { a, b, c, p, q, i, j } = x;
    const cases: Case[] = [
      ['add_row', () => a.add(b), 'a + b'],
      ['add_col', () => a.add(c), 'a + c'],
      ['add_outer', () => c.add(b), 'c + b'],
      ['add_alpha', () => a.add(b, 2.5), 'torch.add(a, b, alpha=2.5)'],
      ['add_scalar', () => a.add(1.5), 'a + 1.5'],
      ['sub', () => a.sub(c), 'a - c'],
      ['sub_alpha', () => a.sub(b, 0.5), 'torch.sub(a, b, alpha=0.5)'],
      ['sub_scalar', () => a.sub(3), 'a - 3'],
      ['mul', () => a.mul(b), 'a * b'],
      ['mul_scalar', () => a.mul(-2), 'a * -2'],
      ['div', () => a.div(q), 'a / q'],
      ['div_scalar', () => a.div(4), 'a / 4'],
      ['pow_2', () => a.pow(2), 'a ** 2'],
      ['pow_half', () => p.pow(0.5), 'p ** 0.5'],
      ['pow_neg', () => p.pow(-1.5), 'p ** -1.5'],
      ['pow_tensor', () => p.pow(a), 'p ** a'],
      ['maximum', () => a.maximum(c), 'torch.maximum(a, c)'],
      ['minimum', () => a.minimum(b), 'torch.minimum(a, b)'],
      ['neg', () => a.neg(), '-a'],
      ['exp', () => a.exp(), 'a.exp()'],
      ['log', () => p.log(), 'p.log()'],
      ['log_negative_nan', () => a.log(), 'a.log()'],
      ['sqrt', () => p.sqrt(), 'p.sqrt()'],
      ['abs', () => a.abs(), 'a.abs()'],
      ['square', () => a.square(), 'a.square()'],
      ['relu', () => a.relu(), 'a.relu()'],
      ['sigmoid', () => a.sigmoid(), 'a.sigmoid()'],
      ['tanh', () => a.tanh(), 'a.tanh()'],
      ['clamp_both', () => a.clamp(-0.5, 0.5), 'a.clamp(-0.5, 0.5)'],
      ['clamp_min', () => a.clamp(0), 'a.clamp(min=0)'],
      ['clamp_max', () => a.clamp(null, 0.2), 'a.clamp(max=0.2)'],
      ['is_nan', () => a.log().isNaN(), 'a.log().isnan()'],
      ['is_finite', () => a.div(0).isFinite(), '(a / 0).isfinite()'],
      // Integer tensors follow PyTorch's type promotion.
      ['int_add', () => i.add(j), 'i + j'],
      ['int_mul_scalar', () => i.mul(3), 'i * 3'],
      ['int_add_float_scalar', () => i.add(2.5), 'i + 2.5'],
      ['int_true_div', () => i.div(j), 'i / j'],
      ['int_add_float_tensor', () => i.add(a), 'i + a'],
      ['int_abs', () => i.abs(), 'i.abs()'],
      ['int_clamp', () => i.clamp(-2, 2), 'i.clamp(-2, 2)'],
      ['int_pow', () => i.pow(2), 'i ** 2'],
    ];
    checkCases(cases, x, PRELUDE);
  });
});

test('comparisons give bool tensors like PyTorch', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    const x = inputs();
    const { a, b, c, i } = x;
    const cases: Case[] = [
      ['eq', () => a.eq(a.clamp(-0.5, 0.5)), 'a == a.clamp(-0.5, 0.5)'],
      ['eq_scalar', () => i.eq(0), 'i == 0'],
      ['ne', () => i.ne(1), 'i != 1'],
      ['lt', () => a.lt(b), 'a < b'],
      ['le', () => a.le(c), 'a <= c'],
      ['gt', () => a.gt(0), 'a > 0'],
      ['ge', () => i.ge(2), 'i >= 2'],
      ['int_vs_float', () => i.lt(a), 'i < a'],
    ];
    checkCases(cases, x, PRELUDE);
  });
});

test('matmul (2-D, batched, broadcast, vector) matches PyTorch', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    manualSeed(11);
    const x = { m: randn([3, 4]), n: randn([4, 5]), bm: randn([2, 3, 4]), bn: randn([2, 4, 5]), v: randn([4]), big: randn([64, 128]), bigT: randn([128, 32]) };
    const { m, n, bm, bn, v, big, bigT } = x;
    const cases: Case[] = [
      ['mm', () => m.matmul(n), 'm @ n'],
      ['bmm', () => bm.matmul(bn), 'bm @ bn'],
      ['batch_times_matrix', () => bm.matmul(n), 'bm @ n'],
      ['matrix_times_batch', () => m.matmul(bn), 'm @ bn'],
      ['vector_matrix', () => v.matmul(n), 'v @ n'],
      ['matrix_vector', () => m.matmul(v), 'm @ v'],
      ['dot', () => v.matmul(v), 'v @ v'],
      ['transpose', () => m.t(), 'm.t()'],
      ['mm_transposed', () => n.t().matmul(m.t()), 'n.t() @ m.t()'],
      ['mm_large', () => big.matmul(bigT), 'big @ bigT'],
    ];
    checkCases(cases, x, `
      m, n, bm, bn, v, big, bigT = (inp[k] for k in ['m', 'n', 'bm', 'bn', 'v', 'big', 'bigT'])
    `);
  });
});

test('operations return new tensors and leave their inputs unchanged', () => {
  tidy(() => {
    const a = tensor([[1, -2], [3, -4]]);
    const before = Array.from(a.toArray() as Float32Array);
    a.add(1); a.mul(a); a.relu(); a.clamp(0, 1); a.neg(); a.exp();
    assert.deepEqual(Array.from(a.toArray() as Float32Array), before);
    assert.deepEqual(a.add(1).toList(), [[2, -1], [4, -3]]);
    assert.deepEqual(a.relu().toList(), [[1, 0], [3, 0]]);
  });
});
