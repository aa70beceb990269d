import test from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, memory, randn, tidy } from '../../src/tensor/index.js';
import {
  AdaptiveMaxPool2d, Add, Lambda, Permute, input, BatchNorm2d, Concatenate, Conv2d, GlobalAvgPool2d, Hardswish, Identity, Multiply, ReLU6, Reshape, SiLU, ZeroPad2d,
  add, concatenate, multiply,
} from '../../src/nn/index.js';
import { skipWithoutTorch } from '../helpers/torch.js';
import { errorMessage } from '../tensor/parity.js';
import { checkLayers } from './layercheck.js';

test('layers for imported models (ReLU6, Hardswish, SiLU, ZeroPad2d, Identity, Reshape, global/adaptive pooling, depthwise conv, batch norm eps) match torch.nn', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    manualSeed(84);
    const img = randn([2, 4, 7, 7]).mul(4);
    checkLayers([
      { name: 'relu6', module: new ReLU6(), torch: 'nn.ReLU6()', input: img },
      { name: 'hardswish', module: new Hardswish(), torch: 'nn.Hardswish()', input: img },
      { name: 'silu', module: new SiLU(), torch: 'nn.SiLU()', input: img },
      { name: 'pad_asym', module: new ZeroPad2d(1, 2, 0, 3), torch: 'nn.ZeroPad2d((1, 2, 0, 3))', input: img },
      { name: 'pad_all', module: new ZeroPad2d(2), torch: 'nn.ZeroPad2d(2)', input: img },
      { name: 'identity', module: new Identity(), torch: 'nn.Identity()', input: img },
      { name: 'reshape', module: new Reshape([2, 3, 4]), torch: 'nn.Unflatten(1, (2, 3, 4))', input: randn([3, 24]) },
      { name: 'reshape_flat', module: new Reshape([-1]), torch: 'nn.Flatten()', input: img },
      { name: 'permute', module: new Permute([0, 2, 3, 1]), torch: "type('P', (nn.Module,), {'forward': lambda self, x: x.permute(0, 2, 3, 1)})()", input: img },
      { name: 'gap', module: new GlobalAvgPool2d(), torch: 'nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())', input: img },
      { name: 'gap_keep', module: new GlobalAvgPool2d({ keepDim: true }), torch: 'nn.AdaptiveAvgPool2d(1)', input: img },
      { name: 'amax1', module: new AdaptiveMaxPool2d(1), torch: 'nn.AdaptiveMaxPool2d(1)', input: img },
      { name: 'amax_uneven', module: new AdaptiveMaxPool2d([3, 2]), torch: 'nn.AdaptiveMaxPool2d((3, 2))', input: img },
      { name: 'depthwise_x2', module: new Conv2d(4, 8, 3, { groups: 4, stride: 2, padding: 1, bias: false }), torch: 'nn.Conv2d(4, 8, 3, groups=4, stride=2, padding=1, bias=False)', input: img },
      { name: 'bn_eps_train', module: new BatchNorm2d(4, { eps: 1e-3, momentum: 0.01 }), torch: 'nn.BatchNorm2d(4, eps=1e-3, momentum=0.01)', input: img.div(8) },
      { name: 'bn_eps_eval', module: new BatchNorm2d(4, { eps: 1e-3 }), torch: 'nn.BatchNorm2d(4, eps=1e-3)', input: img.div(40), train: false },
    ]);
  });
});

test('merge layers work on real tensors: Add/Multiply fold any number of inputs (broadcasting), Concatenate joins along dim', () => {
  tidy(() => {
    const a = randn([2, 3, 4, 4]);
    const b = randn([2, 3, 4, 4]);
    const gate = randn([2, 3, 1, 1]);
    const close = (x: ReturnType<typeof randn>, y: ReturnType<typeof randn>) => x.sub(y).abs().max().item() < 1e-6;
    assert.ok(close(add(a, b, a), a.add(b).add(a)));
    assert.ok(close(new Add().forward(a, b), a.add(b)));
    assert.ok(close(multiply([a, gate]), a.mul(gate)), 'squeeze-and-excitation style broadcasting');
    assert.ok(close(new Multiply().apply(a, b), a.mul(b)));
    assert.deepEqual(concatenate([a, b]).shape, [2, 6, 4, 4]);
    assert.deepEqual(new Concatenate({ dim: -1 }).forward(a, b).shape, [2, 3, 4, 8]);
    assert.match(errorMessage(() => add(a)), /Add takes at least 2 inputs, got 1/);
    const mix = new Lambda((p, q) => p.mul(2).sub(q), '2p - q');
    assert.ok(close(mix.apply(a, b), a.mul(2).sub(b)));
    assert.equal(mix.toString(), 'Lambda(2p - q)');
    const x = input([3, 4, 4]);
    assert.deepEqual(new Lambda((t) => t.mean(1)).apply(x).shape, [null, 4, 4], 'a Lambda\'s shape is inferred like any layer\'s');
    const base = memory().inUseBytes;
    let during = -1;
    new Lambda((t) => { during = memory().inUseBytes - base; return t.mul(2); }).apply(input([1024, 1024]));
    assert.equal(during, 0, "shapes are inferred on 'meta' tensors where libtorch can: the 4 MB stand-in holds no data");
    assert.match(errorMessage(() => new Permute([1, 0, 2])), /Permute: dims must be a permutation of 0\.\.2 starting with the batch dim 0, got \[1,0,2\]/);
    assert.match(errorMessage(() => new ZeroPad2d(1.5)), /ZeroPad2d: padding must be integers, got \[1\.5, 1\.5, 1\.5, 1\.5\]/);
    assert.match(errorMessage(() => new Reshape([-1, -1])), /at most one -1/);
    assert.match(errorMessage(() => new GlobalAvgPool2d().forward(randn([2, 3]))), /GlobalAvgPool2d expects NCHW input \(4 dims\), got shape \[2, 3\]/);
  });
});
