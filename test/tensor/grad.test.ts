import test from 'node:test';
import assert from 'node:assert/strict';
import { cat, functional as F, manualSeed, noGrad, rand, randn, stack, tensor, tidy, where } from '../../src/tensor/index.js';
import { skipWithoutTorch } from '../helpers/torch.js';
import { type GradCase, checkGrads } from './gradcheck.js';
import { errorMessage } from './parity.js';

function inputs() {
  manualSeed(21);
  return {
    x: randn([3, 4]), y: randn([4]), u: randn([3, 4]), p: rand([3, 4]).add(0.2),
    bx: randn([2, 3, 4]), w: randn([4, 5]), bu: randn([2, 3, 5]),
    idx: tensor([[0, 3], [2, 2], [1, 0]], { dtype: 'int64' }), rows: tensor([2, 0, 2, 1], { dtype: 'int64' }),
    mask: randn([3, 4]).gt(0), ru: randn([4, 4]),
  };
}

test('gradients of elementwise ops match PyTorch', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    const cases: GradCase[] = [
      ['add', ['x', 'y'], (v) => v.x.add(v.y).mul(v.u).sum(), '((x + y) * u).sum()'],
      ['add_alpha', ['x', 'y'], (v) => v.x.add(v.y, -3).mul(v.u).sum(), '(torch.add(x, y, alpha=-3) * u).sum()'],
      ['sub', ['x', 'y'], (v) => v.x.sub(v.y).mul(v.u).sum(), '((x - y) * u).sum()'],
      ['mul', ['x', 'y'], (v) => v.x.mul(v.y).mul(v.u).sum(), '(x * y * u).sum()'],
      ['div', ['x', 'p'], (v) => v.x.div(v.p).mul(v.u).sum(), '(x / p * u).sum()'],
      ['scalar_ops', ['x'], (v) => v.x.mul(3).sub(1).div(2).add(5).mul(v.u).sum(), '((x * 3 - 1) / 2 + 5) .mul(u).sum()'],
      ['pow3', ['x'], (v) => v.x.pow(3).mul(v.u).sum(), '(x ** 3 * u).sum()'],
      ['pow_tensor', ['p', 'x'], (v) => v.p.pow(v.x).mul(v.u).sum(), '(p ** x * u).sum()'],
      ['exp', ['x'], (v) => v.x.exp().mul(v.u).sum(), '(x.exp() * u).sum()'],
      ['log', ['p'], (v) => v.p.log().mul(v.u).sum(), '(p.log() * u).sum()'],
      ['sqrt', ['p'], (v) => v.p.sqrt().mul(v.u).sum(), '(p.sqrt() * u).sum()'],
      ['abs', ['x'], (v) => v.x.abs().mul(v.u).sum(), '(x.abs() * u).sum()'],
      ['neg_square', ['x'], (v) => v.x.neg().square().mul(v.u).sum(), '((-x).square() * u).sum()'],
      ['relu', ['x'], (v) => v.x.relu().mul(v.u).sum(), '(x.relu() * u).sum()'],
      ['sigmoid', ['x'], (v) => v.x.sigmoid().mul(v.u).sum(), '(x.sigmoid() * u).sum()'],
      ['tanh', ['x'], (v) => v.x.tanh().mul(v.u).sum(), '(x.tanh() * u).sum()'],
      ['clamp', ['x'], (v) => v.x.clamp(-0.5, 0.5).mul(v.u).sum(), '(x.clamp(-0.5, 0.5) * u).sum()'],
      ['maximum', ['x', 'u'], (v) => v.x.maximum(v.u).sum(), 'torch.maximum(x, u).sum()'],
      ['where', ['x', 'u'], (v) => where(v.mask, v.x.mul(2), v.u.square()).sum(), 'torch.where(mask, x * 2, u.square()).sum()'],
      ['leaky_relu', ['x'], (v) => F.leakyRelu(v.x, 0.2).mul(v.u).sum(), '(F.leaky_relu(x, 0.2) * u).sum()'],
    ];
    checkGrads(cases, inputs(), '');
  });
});

test('gradients of matmul, reductions, softmax and indexing match PyTorch', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    const cases: GradCase[] = [
      ['matmul', ['bx', 'w'], (v) => v.bx.matmul(v.w).mul(v.bu).sum(), '((bx @ w) * bu).sum()'],
      ['mm', ['x', 'ru'], (v) => v.x.matmul(v.ru).mul(v.u).sum(), '((x @ ru) * u).sum()'],
      ['linear', ['x', 'ru', 'y'], (v) => F.linear(v.x, v.ru, v.y).mul(v.u).sum(), '(F.linear(x, ru, y) * u).sum()'],
      ['sum_dim', ['x'], (v) => v.x.sum(1).mul(v.x.sum(1)).sum(), '(x.sum(1) * x.sum(1)).sum()'],
      ['mean', ['x'], (v) => v.x.mean().mul(v.x.mean(0, true).sum()), 'x.mean() * x.mean(0, keepdim=True).sum()'],
      ['var', ['x'], (v) => v.x.var(1).mul(v.y.slice(0, 0, 3)).sum(), '(x.var(1) * y[:3]).sum()'],
      ['var_all_biased', ['x'], (v) => v.x.var(undefined, { unbiased: false }), 'x.var(unbiased=False)'],
      ['std', ['x'], (v) => v.x.std(0).mul(v.y).sum(), '(x.std(0) * y).sum()'],
      ['max_along', ['x'], (v) => v.x.maxAlong(1).values.mul(v.y.slice(0, 1)).sum(), '(x.max(1).values * y[1:]).sum()'],
      ['max_all', ['x'], (v) => v.x.max(), 'x.max()'],
      ['softmax', ['x'], (v) => v.x.softmax(1).mul(v.u).sum(), '(x.softmax(1) * u).sum()'],
      ['softmax_d0', ['x'], (v) => v.x.softmax(0).mul(v.u).sum(), '(x.softmax(0) * u).sum()'],
      ['log_softmax', ['x'], (v) => v.x.logSoftmax(1).mul(v.u).sum(), '(x.log_softmax(1) * u).sum()'],
      ['gather', ['x'], (v) => v.x.gather(1, v.idx).mul(v.u.slice(1, 0, 2)).sum(), '(x.gather(1, idx) * u[:, :2]).sum()'],
      ['index_select', ['x'], (v) => v.x.indexSelect(0, v.rows).mul(v.ru).sum(), '(x.index_select(0, rows) * ru).sum()'],
      ['index', ['x'], (v) => v.x.index([null, v.rows]).mul(v.ru.slice(0, 0, 3)).sum(), '(x[:, rows] * ru[:3]).sum()'],
      ['masked_select', ['x'], (v) => v.x.maskedSelect(v.mask).square().sum(), 'x.masked_select(mask).square().sum()'],
      ['views', ['x'], (v) => v.x.reshape(2, 6).permute(1, 0).slice(0, 1, 5).select(1, 1).mul(v.y).sum(),
        '(x.reshape(2, 6).permute(1, 0)[1:5, 1] * y).sum()'],
      ['expand_unsqueeze', ['y'], (v) => v.y.unsqueeze(0).expand(3, 4).mul(v.u).sum(), '(y.unsqueeze(0).expand(3, 4) * u).sum()'],
      ['cat_stack', ['x', 'u'], (v) => cat([v.x, v.u], 1).sum(1).mul(stack([v.x, v.u]).mean(0).sum(1)).sum(),
        '(torch.cat([x, u], 1).sum(1) * torch.stack([x, u]).mean(0).sum(1)).sum()'],
    ];
    checkGrads(cases, inputs(), '');
  });
});

test('gradients of conv, pooling, batch norm and dropout (functional) match PyTorch', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    manualSeed(22);
    const x = {
      img: randn([2, 3, 7, 7]), kw: randn([4, 3, 3, 3]), kb: randn([4]), gw: randn([4, 1, 3, 3]),
      up4: randn([2, 4, 4, 4]), up3: randn([2, 3, 3, 3]), up2: randn([2, 3, 2, 2]), bnw: randn([3]), bnb: randn([3]),
      img_up: randn([2, 3, 7, 7]),
    };
    const cases: GradCase[] = [
      ['conv', ['img', 'kw', 'kb'], (v) => F.conv2d(v.img, v.kw, v.kb, { stride: 2, padding: 1 }).mul(v.up4).sum(),
        '(F.conv2d(img, kw, kb, stride=2, padding=1) * up4).sum()'],
      ['conv_same_dilated', ['img', 'kw'], (v) => F.conv2d(v.img, v.kw, null, { padding: 'same', dilation: 2 }).sum(),
        'F.conv2d(img, kw, None, padding="same", dilation=2).sum()'],
      ['conv_grouped', ['img', 'kw'], (v) => F.conv2d(v.img.slice(1, 0, 2), v.kw.slice(1, 0, 1), null, { groups: 2 }).square().sum(),
        'F.conv2d(img[:, :2], kw[:, :1], None, groups=2).square().sum()'],
      ['max_pool', ['img'], (v) => F.maxPool2d(v.img, 2).mul(v.up3).sum(), '(F.max_pool2d(img, 2) * up3).sum()'],
      ['max_pool_stride_pad', ['img'], (v) => F.maxPool2d(v.img, 3, { stride: 2, padding: 1 }).mul(v.up4.slice(1, 0, 3)).sum(),
        '(F.max_pool2d(img, 3, stride=2, padding=1) * up4[:, :3]).sum()'],
      ['avg_pool', ['img'], (v) => F.avgPool2d(v.img, 2).mul(v.up3).sum(), '(F.avg_pool2d(img, 2) * up3).sum()'],
      ['avg_pool_pad', ['img'], (v) => F.avgPool2d(v.img, 3, { stride: 2, padding: 1, countIncludePad: false }).mul(v.up4.slice(1, 0, 3)).sum(),
        '(F.avg_pool2d(img, 3, stride=2, padding=1, count_include_pad=False) * up4[:, :3]).sum()'],
      ['adaptive_avg', ['img'], (v) => F.adaptiveAvgPool2d(v.img, 2).mul(v.up2).sum(), '(F.adaptive_avg_pool2d(img, 2) * up2).sum()'],
      ['batch_norm_train', ['img', 'bnw', 'bnb'], (v) => F.batchNorm(v.img, null, null, v.bnw, v.bnb, { training: true }).mul(v.img_up).sum(),
        '(F.batch_norm(img, None, None, bnw, bnb, training=True) * img_up).sum()'],
      ['dropout_p0', ['img'], (v) => F.dropout(v.img, 0, true).mul(v.img_up).sum(), '(F.dropout(img, 0.0, True) * img_up).sum()'],
      ['dropout_eval', ['img'], (v) => F.dropout(v.img, 0.5, false).mul(v.img_up).sum(), '(F.dropout(img, 0.5, False) * img_up).sum()'],
    ];
    checkGrads(cases, x, '');
  });
});

test('autograd bookkeeping: accumulation, setGrad, noGrad, detach, retainGraph', () => {
  tidy(() => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    assert.equal(x.requiresGrad, true);
    assert.equal(x.grad, null, 'no gradient before backward');
    x.mul(x).sum().backward();
    assert.deepEqual(x.grad!.toList(), [2, 4, 6]);
    x.mul(3).sum().backward();
    assert.deepEqual(x.grad!.toList(), [5, 7, 9], 'gradients accumulate like PyTorch');
    x.setGrad(null);
    assert.equal(x.grad, null);
    x.mul(2).backward(tensor([1, 0, -1]));
    assert.deepEqual(x.grad!.toList(), [2, 0, -2], 'backward with an explicit upstream gradient');
    assert.equal(noGrad(() => x.mul(2)).requiresGrad, false);
    assert.equal(x.mul(2).detach().requiresGrad, false);
    const y = x.square().sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    assert.match(errorMessage(() => y.backward()), /Trying to backward through the graph a second time/);
    assert.match(errorMessage(() => tensor([1, 2]).sum().backward()), /does not require grad/);
    assert.match(errorMessage(() => x.mul(2).backward()), /grad can be implicitly created only for scalar outputs/);
  });
});
