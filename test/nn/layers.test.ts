import test from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, manualSeed, noGrad, randn, tensor, tidy } from '../../src/tensor/index.js';
import {
  AdaptiveAvgPool2d, AvgPool2d, Conv2d, Flatten, LeakyReLU, Linear, MaxPool2d, ReLU, Sequential, Sigmoid, Softmax, Tanh,
} from '../../src/nn/index.js';
import { mnistCnn } from '../../src/vision/simple.js';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { assertAllClose } from '../tensor/parity.js';
import { checkLayers } from './layercheck.js';

test('Linear and Conv2d (stride, padding, same, dilation, groups, no bias) match torch.nn forward and backward', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    manualSeed(31);
    const img = randn([2, 4, 9, 9]);
    checkLayers([
      { name: 'linear', module: new Linear(6, 3), torch: 'nn.Linear(6, 3)', input: randn([5, 6]) },
      { name: 'linear_3d', module: new Linear(6, 2), torch: 'nn.Linear(6, 2)', input: randn([2, 3, 6]) },
      { name: 'linear_nobias', module: new Linear(6, 4, { bias: false }), torch: 'nn.Linear(6, 4, bias=False)', input: randn([3, 6]) },
      { name: 'conv', module: new Conv2d(4, 5, 3), torch: 'nn.Conv2d(4, 5, 3)', input: img },
      { name: 'conv_s2p1', module: new Conv2d(4, 6, 3, { stride: 2, padding: 1 }), torch: 'nn.Conv2d(4, 6, 3, stride=2, padding=1)', input: img },
      { name: 'conv_same', module: new Conv2d(4, 3, 3, { padding: 'same' }), torch: 'nn.Conv2d(4, 3, 3, padding="same")', input: img },
      { name: 'conv_same_even', module: new Conv2d(4, 3, [2, 4], { padding: 'same' }), torch: 'nn.Conv2d(4, 3, (2, 4), padding="same")', input: img },
      { name: 'conv_valid', module: new Conv2d(4, 3, 5, { padding: 'valid' }), torch: 'nn.Conv2d(4, 3, 5, padding="valid")', input: img },
      { name: 'conv_dilated', module: new Conv2d(4, 4, 3, { dilation: 2 }), torch: 'nn.Conv2d(4, 4, 3, dilation=2)', input: img },
      { name: 'conv_same_dilated', module: new Conv2d(4, 4, 3, { padding: 'same', dilation: 2 }), torch: 'nn.Conv2d(4, 4, 3, padding="same", dilation=2)', input: img },
      { name: 'conv_groups', module: new Conv2d(4, 6, 3, { groups: 2 }), torch: 'nn.Conv2d(4, 6, 3, groups=2)', input: img },
      { name: 'conv_depthwise', module: new Conv2d(4, 4, 3, { groups: 4, padding: 1 }), torch: 'nn.Conv2d(4, 4, 3, groups=4, padding=1)', input: img },
      { name: 'conv_nobias', module: new Conv2d(4, 2, 3, { bias: false, stride: [1, 2] }), torch: 'nn.Conv2d(4, 2, 3, bias=False, stride=(1, 2))', input: img },
      { name: 'conv_rect', module: new Conv2d(4, 2, [3, 1], { padding: [1, 0] }), torch: 'nn.Conv2d(4, 2, (3, 1), padding=(1, 0))', input: img },
      { name: 'conv_unbatched', module: new Conv2d(4, 2, 3), torch: 'nn.Conv2d(4, 2, 3)', input: randn([4, 6, 6]) },
    ]);
  });
});

test('pooling, activations, Flatten and Sequential match torch.nn forward and backward', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    manualSeed(32);
    const img = randn([2, 3, 9, 9]);
    const x = randn([4, 7]);
    checkLayers([
      { name: 'maxpool', module: new MaxPool2d(2), torch: 'nn.MaxPool2d(2)', input: img },
      { name: 'maxpool_s1', module: new MaxPool2d(3, { stride: 1 }), torch: 'nn.MaxPool2d(3, stride=1)', input: img },
      { name: 'maxpool_pad', module: new MaxPool2d(3, { stride: 2, padding: 1 }), torch: 'nn.MaxPool2d(3, stride=2, padding=1)', input: img },
      { name: 'maxpool_ceil', module: new MaxPool2d(2, { ceilMode: true }), torch: 'nn.MaxPool2d(2, ceil_mode=True)', input: img },
      { name: 'maxpool_dilated', module: new MaxPool2d(2, { dilation: 2, stride: 1 }), torch: 'nn.MaxPool2d(2, stride=1, dilation=2)', input: img },
      { name: 'avgpool', module: new AvgPool2d(2), torch: 'nn.AvgPool2d(2)', input: img },
      { name: 'avgpool_pad', module: new AvgPool2d(3, { stride: 2, padding: 1 }), torch: 'nn.AvgPool2d(3, stride=2, padding=1)', input: img },
      { name: 'avgpool_nopad', module: new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }),
        torch: 'nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)', input: img },
      { name: 'adaptive1', module: new AdaptiveAvgPool2d(1), torch: 'nn.AdaptiveAvgPool2d(1)', input: img },
      { name: 'adaptive_uneven', module: new AdaptiveAvgPool2d([4, 2]), torch: 'nn.AdaptiveAvgPool2d((4, 2))', input: img },
      { name: 'flatten', module: new Flatten(), torch: 'nn.Flatten()', input: img },
      { name: 'flatten_range', module: new Flatten(0, 2), torch: 'nn.Flatten(0, 2)', input: img },
      { name: 'relu', module: new ReLU(), torch: 'nn.ReLU()', input: x },
      { name: 'leaky', module: new LeakyReLU(), torch: 'nn.LeakyReLU()', input: x },
      { name: 'leaky_02', module: new LeakyReLU(0.2), torch: 'nn.LeakyReLU(0.2)', input: x },
      { name: 'sigmoid', module: new Sigmoid(), torch: 'nn.Sigmoid()', input: x },
      { name: 'tanh', module: new Tanh(), torch: 'nn.Tanh()', input: x },
      { name: 'softmax', module: new Softmax(), torch: 'nn.Softmax(-1)', input: x },
      { name: 'softmax_d0', module: new Softmax(0), torch: 'nn.Softmax(0)', input: x },
      {
        name: 'sequential',
        module: new Sequential(new Conv2d(3, 4, 3, { padding: 1 }), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(64, 5), new Tanh()),
        torch: 'nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 5), nn.Tanh())',
        input: img,
      },
    ]);
  });
});

test('the same seed gives the same initial weights as PyTorch (same construction order)', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    manualSeed(1234);
    const a = new Linear(20, 7);
    const b = new Conv2d(3, 8, 5, { stride: 2 });
    const c = new Conv2d(8, 6, 3, { groups: 2, bias: false });
    const model = mnistCnn();
    const ours: Record<string, Tensor> = {};
    for (const [prefix, m] of [['a', a], ['b', b], ['c', c], ['cnn', model]] as const) {
      for (const [key, t] of m.stateDict()) ours[`${prefix}.${key}`] = t;
    }
    const ref = runTorch(`
      import torch.nn as nn
      torch.manual_seed(1234)
      a = nn.Linear(20, 7)
      b = nn.Conv2d(3, 8, 5, stride=2)
      c = nn.Conv2d(8, 6, 3, groups=2, bias=False)
      cnn = nn.Sequential(
          nn.Conv2d(1, 24, 3, padding='same'), nn.ReLU(), nn.MaxPool2d(2),
          nn.Conv2d(24, 36, 3, padding='same'), nn.ReLU(), nn.MaxPool2d(2),
          nn.Flatten(), nn.Linear(36 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
      for prefix, m in [('a', a), ('b', b), ('c', c), ('cnn', cnn)]:
          for k, v in m.state_dict().items():
              out[prefix + '.' + k] = v
    `);
    assertAllClose(ours, ref, { rtol: 0, atol: 0 });
    for (const m of [a, b, c, model]) m.dispose();
  });
});

test('layers compute known values', () => {
  tidy(() => {
    const linear = new Linear(2, 1);
    noGrad(() => { linear.weight.copy_(tensor([[2, -1]])); linear.bias!.fill_(0.5); });
    assert.deepEqual(linear.forward(tensor([[1, 1], [3, 2]])).toList(), [[1.5], [4.5]]);
    assert.deepEqual(new MaxPool2d(2).forward(tensor([[[[1, 5], [3, 2]]]])).toList(), [[[[5]]]]);
    assert.deepEqual(new AvgPool2d(2).forward(tensor([[[[1, 5], [3, 3]]]])).toList(), [[[[3]]]]);
    assert.deepEqual(new LeakyReLU(0.5).forward(tensor([-2, 2])).toList(), [-1, 2]);
    assert.deepEqual(new Flatten().forward(randn([2, 3, 4, 5])).shape, [2, 60]);
    linear.dispose();
  });
});
