import test from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, manualSeed, memory, randn, tensor, tidy, zeros } from '../../src/tensor/index.js';
import {
  BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, Parameter, ReLU, Sequential,
} from '../../src/nn/index.js';
import { mnistCnn } from '../../src/vision/simple.js';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { assertAllClose, decodeMessage, errorMessage, pythonScript } from '../tensor/parity.js';

/** A model with named fields, a nested Sequential and an array of blocks, like a torch.nn.Module subclass. */
class Net extends Module {
  readonly features = new Sequential(new Conv2d(3, 4, 3, { padding: 1 }), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2));
  readonly blocks = [new Linear(16, 8), new Linear(8, 8)];
  readonly head = new Sequential(new Flatten(), new Sequential(new Dropout(0.2), new BatchNorm1d(8)), new Linear(8, 3));
  override forward(x: Tensor): Tensor {
    let out = this.features.forward(x).flatten(1);
    for (const block of this.blocks) out = block.forward(out).relu();
    return this.head.forward(out);
  }
}

const PY_NET = `
  import torch.nn as nn
  class Net(nn.Module):
      def __init__(self):
          super().__init__()
          self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2))
          self.blocks = nn.ModuleList([nn.Linear(16, 8), nn.Linear(8, 8)])
          self.head = nn.Sequential(nn.Flatten(), nn.Sequential(nn.Dropout(0.2), nn.BatchNorm1d(8)), nn.Linear(8, 3))
      def forward(self, x):
          out = self.features(x).flatten(1)
          for block in self.blocks:
              out = block(out).relu()
          return self.head(out)
`;

test('state dict names and order match PyTorch, and a PyTorch state dict loads and reproduces its outputs', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    manualSeed(61);
    const net = new Net().eval();
    const x = randn([2, 3, 4, 4]);
    const ref = runTorch(pythonScript(PY_NET, `
      torch.manual_seed(7)
      net = Net()
      with torch.no_grad():
          for b in net.buffers():
              if b.is_floating_point(): b.uniform_(0.5, 1.5)
      net.eval()
      out['keys'] = text('\\n'.join(net.state_dict().keys()))
      out['params'] = text('\\n'.join(k for k, _ in net.named_parameters()))
      out['y'] = net(inp['x'])
      for k, v in net.state_dict().items():
          out['sd.' + k] = v
    `), { x });
    const keys = decodeMessage(ref.keys).split('\n');
    assert.deepEqual([...net.stateDict().keys()], keys);
    assert.deepEqual(net.namedParameters().map(([k]) => k), decodeMessage(ref.params).split('\n'));
    const loaded = Object.fromEntries(keys.map((k) => [k, ref[`sd.${k}`]]));
    assert.deepEqual(net.loadStateDict(loaded), { missing: [], unexpected: [] });
    assertAllClose({ y: net.forward(x) }, { y: ref.y });
    net.dispose();
  });
});

test('loadStateDict copies values, converts dtypes, and reports missing/unexpected/shape mismatches', () => {
  tidy(() => {
    const a = new Sequential(new Linear(3, 2), new BatchNorm1d(2));
    const b = new Sequential(new Linear(3, 2), new BatchNorm1d(2));
    b.loadStateDict(a.stateDict());
    for (const [key, t] of a.stateDict()) assert.deepEqual(b.stateDict().get(key)!.toList(), t.toList(), key);
    assert.notEqual(b.stateDict().get('0.weight'), a.stateDict().get('0.weight'), 'copies, not shared tensors');
    b.loadStateDict({ '0.weight': zeros([2, 3], { dtype: 'float64' }), '0.bias': tensor([1, 2]), '1.weight': tensor([1, 1]), '1.bias': tensor([0, 0]),
      '1.running_mean': tensor([0, 0]), '1.running_var': tensor([1, 1]), '1.num_batches_tracked': tensor([5], { dtype: 'int64' }).reshape([]) });
    assert.equal(b[0].stateDict().get('weight')!.dtype, 'float32', 'float64 values are converted to the parameter dtype');
    assert.deepEqual(b.stateDict().get('0.bias')!.toList(), [1, 2]);
    assert.equal(b.stateDict().get('1.num_batches_tracked')!.item(), 5);
    assert.equal(b[0].stateDict().get('weight') instanceof Parameter, true);
    assert.equal(b.parameters()[0].requiresGrad, true, 'loading keeps parameters trainable');

    const partial = new Map(a.stateDict());
    partial.delete('1.running_var');
    partial.set('extra.weight', zeros([1]));
    const message = errorMessage(() => b.loadStateDict(partial));
    assert.match(message, /cannot load state dict into Sequential/);
    assert.match(message, /missing 1\.running_var/);
    assert.match(message, /unexpected extra\.weight/);
    assert.deepEqual(b.loadStateDict(partial, { strict: false }), { missing: ['1.running_var'], unexpected: ['extra.weight'] });
    const wrong = new Map(a.stateDict());
    wrong.set('0.weight', zeros([3, 3]));
    assert.match(errorMessage(() => b.loadStateDict(wrong, { strict: false })), /shape mismatch 0\.weight: model \[2, 3\] vs given \[3, 3\]/);
    a.dispose(); b.dispose();
  });
});

test('train/eval toggle every descendant; freeze/unfreeze by prefix; numParameters; zeroGrad', () => {
  tidy(() => {
    const net = new Net();
    const modes = () => net.namedModules().map(([, m]) => m.training);
    assert.ok(modes().every((m) => m), 'modules start in training mode');
    assert.equal(net.eval(), net, 'eval() returns the module');
    assert.ok(modes().every((m) => !m));
    net.train();
    assert.ok(modes().every((m) => m));
    net.head.eval();
    assert.equal(net.training, true);
    assert.equal((net.head[1] as Sequential)[0].training, false, 'eval() on a child reaches its descendants only');

    const total = 3 * 4 * 9 + 4 + 4 + 4 + 16 * 8 + 8 + 8 * 8 + 8 + 8 + 8 + 8 * 3 + 3;
    assert.equal(net.numParameters(), total);
    assert.equal(net.numParameters(true), total);
    net.freeze('features', 'blocks.0');
    const frozen = net.namedParameters().filter(([, p]) => !p.requiresGrad).map(([k]) => k);
    assert.deepEqual(frozen, ['features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias', 'blocks.0.weight', 'blocks.0.bias']);
    assert.equal(net.numParameters(true), total - (3 * 4 * 9 + 4 + 8 + 16 * 8 + 8));
    net.train();
    net.forward(randn([4, 3, 4, 4])).sum().backward();
    assert.equal(net.features[0].stateDict().get('weight')!.requiresGrad, false);
    assert.equal((net.features[0] as Conv2d).weight.grad, null, 'frozen parameters get no gradient');
    assert.notEqual(net.blocks[1].weight.grad, null);
    net.unfreeze('blocks');
    assert.equal(net.blocks[0].weight.requiresGrad, true);
    assert.equal(net.features[1].parameters()[0].requiresGrad, false);
    net.unfreeze();
    assert.equal(net.numParameters(true), total);
    net.freeze();
    assert.equal(net.numParameters(true), 0);
    net.zeroGrad();
    assert.ok(net.parameters().every((p) => p.grad === null), 'zeroGrad clears every gradient');
    net.dispose();
  });
});

test('toString shows the module tree, configuration and parameter counts', () => {
  const model = new Sequential(new Conv2d(1, 8, 3, { stride: 2, padding: 1, bias: false }), new BatchNorm2d(8), new ReLU(), new Flatten(), new Linear(72, 10), new Dropout(0.25));
  const text = model.toString();
  assert.equal(text, [
    'Sequential(  # 818 params',
    '  (0): Conv2d(1 -> 8, kernel=3x3, stride=2, padding=1, bias=false)  # 72 params',
    '  (1): BatchNorm2d(8, eps=0.00001, momentum=0.1)  # 16 params',
    '  (2): ReLU()',
    '  (3): Flatten()',
    '  (4): Linear(72 -> 10)  # 730 params',
    '  (5): Dropout(p=0.25)',
    ')',
  ].join('\n'));
  model.dispose();
});

test('summary() of the mnist-cnn: rows, output shapes, parameter counts (235,262), no side effects', () => {
  const model = mnistCnn();
  model[9].eval();
  const before = memory().liveTensors;
  const summary = model.summary([1, 28, 28], { print: false });
  assert.equal(memory().liveTensors, before, 'summary frees its probe batch');
  assert.deepEqual(summary.rows.map((r) => [r.name, r.type, r.outputShape, r.parameters]), [
    ['0', 'Conv2d', [-1, 24, 28, 28], 240],
    ['1', 'ReLU', [-1, 24, 28, 28], 0],
    ['2', 'MaxPool2d', [-1, 24, 14, 14], 0],
    ['3', 'Conv2d', [-1, 36, 14, 14], 7812],
    ['4', 'ReLU', [-1, 36, 14, 14], 0],
    ['5', 'MaxPool2d', [-1, 36, 7, 7], 0],
    ['6', 'Flatten', [-1, 1764], 0],
    ['7', 'Linear', [-1, 128], 225920],
    ['8', 'ReLU', [-1, 128], 0],
    ['9', 'Dropout', [-1, 128], 0],
    ['10', 'Linear', [-1, 10], 1290],
  ]);
  assert.equal(summary.totalParameters, 235262);
  assert.equal(summary.trainableParameters, 235262);
  assert.match(summary.text, /Total params: 235,262/);
  assert.match(summary.text, /Non-trainable params: 0/);
  assert.match(summary.text, /7 \(Linear\)\s+\[None, 128\]\s+225,920/);
  assert.equal(model.training, true, 'training mode restored');
  assert.equal(model[9].training, false, 'a layer that was already in eval stays in eval');
  assert.ok(model.layers.every((layer) => !Object.hasOwn(layer, 'forward')), 'no patched forward left behind');
  model.freeze('0');
  assert.equal(model.summary([1, 28, 28], { print: false }).trainableParameters, 235262 - 240);
  model.dispose();
});

test('parameters created inside tidy survive it; dispose() frees every parameter and buffer', () => {
  const before = memory().liveTensors;
  const model = tidy(() => new Sequential(new Linear(4, 3), new BatchNorm1d(3)));
  assert.equal(memory().liveTensors, before + 7, '2 linear parameters, 2 batch-norm parameters, 3 buffers');
  assert.ok(model.parameters().every((p) => !p.isDisposed));
  model.dispose();
  assert.equal(memory().liveTensors, before);
  assert.match(errorMessage(() => model.forward(randn([2, 4]))), /tensor used after dispose/);
});

test('a layer used twice: parameters listed and counted once (like PyTorch), every state-dict name kept', { skip: skipWithoutTorch() }, () => {
  tidy(() => {
    const shared = new Linear(3, 3);
    const model = new Sequential(shared, new ReLU(), shared);
    const ref = runTorch(pythonScript(`
      import torch.nn as nn
      shared = nn.Linear(3, 3)
      model = nn.Sequential(shared, nn.ReLU(), shared)
      out['params'] = text('\\n'.join(k for k, _ in model.named_parameters()))
      out['keys'] = text('\\n'.join(model.state_dict().keys()))
      out['count'] = torch.tensor(sum(p.numel() for p in model.parameters()))
    `));
    assert.deepEqual(model.namedParameters().map(([k]) => k), decodeMessage(ref.params).split('\n'));
    assert.deepEqual([...model.stateDict().keys()], decodeMessage(ref.keys).split('\n'));
    assert.equal(model.numParameters(), ref.count.item());
    const rows = model.summary([3], { print: false }).rows;
    assert.deepEqual(rows.map((r) => r.name), ['0', '1', '0'], 'one summary row per call of the shared layer');
    model.dispose();
  });
});
