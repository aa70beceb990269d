import test from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, cat, functional as F, randn, tensor, tidy } from '../../src/tensor/index.js';
import { AvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential, crossEntropy } from '../../src/nn/index.js';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { decodeMessage, errorMessage, pythonScript } from '../tensor/parity.js';

test('layers name the expected and actual shapes when the input does not fit', () => {
  tidy(() => {
    const linear = new Linear(10, 4);
    assert.equal(errorMessage(() => linear.forward(randn([2, 12]))),
      'Linear(10 -> 4) expects 10 input features in the last dimension, got input of shape [2, 12]');
    const conv = new Conv2d(3, 8, 3);
    assert.equal(errorMessage(() => conv.forward(randn([2, 1, 28, 28]))),
      'Conv2d(3 -> 8) expects 3 input channels, got input of shape [2, 1, 28, 28]');
    assert.equal(errorMessage(() => conv.forward(randn([2, 3]))), 'Conv2d expects NCHW input (4 dims), got shape [2, 3]');
    assert.match(errorMessage(() => conv.forward(randn([1, 3, 2, 2]))), /Kernel size can't be greater than actual input size/);
    assert.match(errorMessage(() => new BatchNorm2d(8).forward(randn([2, 3, 4, 4]))), /BatchNorm2d\(8\) expects input of rank 4 with 8 channels/);
    assert.match(errorMessage(() => new MaxPool2d(4).forward(randn([1, 1, 2, 2]))), /Output size is too small/);
    assert.match(errorMessage(() => new AvgPool2d(2).forward(randn([3, 5]))), /Dimension out of range/);
    for (const t of [linear, conv]) t.dispose();
  });
});

test('Sequential errors name the failing layer index, type and input shape', () => {
  tidy(() => {
    const model = new Sequential(new Conv2d(1, 4, 3), new ReLU(), new Flatten(), new Linear(100, 10));
    const message = errorMessage(() => model.forward(randn([2, 1, 8, 8])));
    assert.equal(message, 'layer 3 (Linear(100 -> 10)) got input of shape [2, 144]: ' +
      'Linear(100 -> 10) expects 100 input features in the last dimension, got input of shape [2, 144]');
    assert.match(errorMessage(() => model.forward(randn([2, 3, 8, 8]))), /^layer 0 \(Conv2d\(1 -> 4, kernel=3x3\)\) got input of shape \[2, 3, 8, 8\]: /);
    const nested = new Sequential(new Linear(4, 4), new Sequential(new ReLU(), new Linear(5, 2)));
    assert.match(errorMessage(() => nested.forward(randn([1, 4]))), /^layer 1 \(Linear\(5 -> 2\)\) got input of shape \[1, 4\]/,
      'the innermost failing layer is named (its index within its own Sequential)');
    model.dispose(); nested.dispose();
  });
});

test('bad constructor arguments are refused with the layer and argument named', () => {
  assert.equal(errorMessage(() => new Linear(0, 3)), 'Linear: inFeatures must be a positive integer, got 0');
  assert.equal(errorMessage(() => new Linear(2.5, 3)), 'Linear: inFeatures must be a positive integer, got 2.5');
  assert.equal(errorMessage(() => new Conv2d(3, 4, 0)), 'Conv2d: kernelHeight must be a positive integer, got 0');
  assert.match(errorMessage(() => new Conv2d(3, 4, 3, { groups: 2 })), /Conv2d: inChannels \(3\) and outChannels \(4\) must be divisible by groups \(2\)/);
  assert.match(errorMessage(() => new Conv2d(3, 4, 3, { padding: 'same', stride: 2 })), /padding 'same' needs stride 1/);
  assert.equal(errorMessage(() => new Dropout(1.2)), 'Dropout: p must be in [0, 1), got 1.2');
  assert.equal(errorMessage(() => new Sequential(new ReLU(), {} as never)), 'Sequential: item 1 is not a Module');
});

// Engine errors must surface PyTorch's own message as a JS Error (never an abort).
const ENGINE_ERRORS: [name: string, ours: () => unknown, python: string][] = [
  ['mm', () => randn([2, 3]).matmul(randn([4, 5])), 'torch.randn(2, 3) @ torch.randn(4, 5)'],
  ['bmm', () => randn([2, 2, 3]).matmul(randn([2, 4, 5])), 'torch.randn(2, 2, 3) @ torch.randn(2, 4, 5)'],
  ['mv', () => randn([2, 3]).matmul(randn([4])), 'torch.randn(2, 3) @ torch.randn(4)'],
  ['dot', () => randn([3]).matmul(randn([4])), 'torch.randn(3) @ torch.randn(4)'],
  ['broadcast', () => randn([2, 3]).add(randn([4])), 'torch.randn(2, 3) + torch.randn(4)'],
  ['reshape', () => randn([2, 3]).reshape(5), 'torch.randn(2, 3).reshape(5)'],
  ['cat', () => cat([randn([2, 3]), randn([2, 4])]), 'torch.cat([torch.randn(2, 3), torch.randn(2, 4)])'],
  ['gather', () => randn([2, 3]).gather(1, tensor([[5]], { dtype: 'int64' })), 'torch.randn(2, 3).gather(1, torch.tensor([[5]]))'],
  ['index_select', () => randn([2, 3]).indexSelect(0, tensor([7], { dtype: 'int64' })), 'torch.randn(2, 3).index_select(0, torch.tensor([7]))'],
  ['conv_channels', () => F.conv2d(randn([1, 2, 5, 5]), randn([4, 3, 3, 3])), 'F.conv2d(torch.randn(1, 2, 5, 5), torch.randn(4, 3, 3, 3))'],
  ['linear', () => F.linear(randn([2, 5]), randn([3, 4])), 'F.linear(torch.randn(2, 5), torch.randn(3, 4))'],
  ['ce_bounds', () => crossEntropy(randn([2, 3]), tensor([0, 9], { dtype: 'int64' }), { ignoreIndex: 9 }).add(
    crossEntropy(randn([2, 3]), tensor([-5, 1], { dtype: 'int64' }), { ignoreIndex: -100 })), 'F.cross_entropy(torch.randn(2, 3), torch.tensor([-5, 1]))'],
];

test('engine errors are JS Errors carrying PyTorch\'s exact message', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    const ref = runTorch(pythonScript('import torch.nn.functional as F', ...ENGINE_ERRORS.map(([name, , python]) => `out['${name}'] = message(lambda: ${python})`)));
    for (const [name, ours] of ENGINE_ERRORS) {
      const expected = decodeMessage(ref[name] as Tensor);
      assert.ok(expected.length > 0, `${name}: PyTorch raises too`);
      const actual = errorMessage(ours);
      if (name === 'ce_bounds') {
        // NOTE: Kestrel checks labels itself before the kernel, with a clearer message.
        assert.match(actual, /crossEntropy: label out of range: labels must be in \[0, 2\] for 3 classes, got -5/);
        continue;
      }
      assert.equal(actual, expected, name);
    }
  });
});
