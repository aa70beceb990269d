import test from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, dispose, manualSeed, maxAbsDiff, memory, noGrad, randn, tensor, tidy } from '../../src/tensor/index.js';
import { crossEntropy } from '../../src/nn/index.js';
import { BasicBlock, Bottleneck, resnet18, resnet34, resnet50 } from '../../src/vision/resnet.js';
import { assertClose, runTorch, skipWithoutTorch } from '../helpers/torch.js';

type KeyShapes = [string, number[]][];

function decodeJson<T>(t: Tensor): T {
  return JSON.parse(new TextDecoder().decode(t.toArray() as Uint8Array)) as T;
}

function keyShapes(model: { stateDict(): Map<string, Tensor> }): KeyShapes {
  return [...model.stateDict()].map(([k, v]) => [k, v.shape]);
}

const KEYS_SCRIPT = `
import json, torchvision
def key_shapes(m):
    text = json.dumps([[k, list(v.shape)] for k, v in m.state_dict().items()])
    return torch.tensor(list(text.encode()), dtype=torch.uint8)
out['r18'] = key_shapes(torchvision.models.resnet18())
out['r34'] = key_shapes(torchvision.models.resnet34(num_classes=7))
out['r50'] = key_shapes(torchvision.models.resnet50())
`;

test('resnet18/34/50 state-dict names, order and shapes equal torchvision', { skip: skipWithoutTorch() }, () => {
  const ref = runTorch(KEYS_SCRIPT);
  const cases: [string, () => ReturnType<typeof resnet18>, number][] = [
    ['r18', () => resnet18(), 11_689_512],
    ['r34', () => resnet34(7), 21_288_263],
    ['r50', () => resnet50(), 25_557_032],
  ];
  for (const [name, build, count] of cases) {
    const model = build();
    assert.deepEqual(keyShapes(model), decodeJson<KeyShapes>(ref[name]), `${name} keys`);
    assert.equal(model.numParameters(), count, `${name} parameters`);
    model.dispose();
  }
  dispose(ref);
});

// A seeded torchvision resnet18 (its initial weights), then batch-norm weights and running stats
// randomised so eval mode is a real test, evaluated and trained one step on the same batch.
const PARITY_SCRIPT = `
import torchvision
torch.manual_seed(0)
m = torchvision.models.resnet18(num_classes=10)
for k, v in m.state_dict().items():
    out['init.' + k] = v.clone()
g = torch.Generator().manual_seed(1)
with torch.no_grad():
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.weight.uniform_(0.5, 1.5, generator=g)
            mod.bias.uniform_(-0.2, 0.2, generator=g)
            mod.running_mean.uniform_(-0.2, 0.2, generator=g)
            mod.running_var.uniform_(0.5, 2.0, generator=g)
for k, v in m.state_dict().items():
    out['w.' + k] = v.clone()
m.eval()
with torch.no_grad():
    out['eval'] = m(inp['x'])
m.train()
logits = m(inp['x'])
loss = torch.nn.functional.cross_entropy(logits, inp['y'])
loss.backward()
out['train'] = logits.detach()
out['loss'] = loss.detach()
out['grad.conv1'] = m.conv1.weight.grad
out['grad.l4'] = m.layer4[1].conv2.weight.grad
out['grad.fc'] = m.fc.weight.grad
out['bn1.running_mean'] = m.bn1.running_mean
out['l2.ds.running_var'] = m.layer2[0].downsample[1].running_var
`;

test('resnet18 matches torchvision: seeded init, eval and train outputs, gradients, running stats', { skip: skipWithoutTorch() }, () => {
  manualSeed(42);
  const x = randn([2, 3, 64, 64]);
  const y = tensor([3, 7], { dtype: 'int64' });
  const ref = runTorch(PARITY_SCRIPT, { x, y });

  // Same seed, same construction order => the same initial weights, bit for bit.
  manualSeed(0);
  const model = resnet18(10);
  for (const [name, value] of model.stateDict()) {
    assert.equal(maxAbsDiff(value, ref[`init.${name}`]), 0, `initial ${name}`);
  }

  const weights = new Map(Object.entries(ref).filter(([k]) => k.startsWith('w.')).map(([k, v]) => [k.slice(2), v]));
  model.loadStateDict(weights);

  const before = memory().liveTensors;
  model.eval();
  noGrad(() => tidy(() => assertClose(model.forward(x), ref.eval, { rtol: 1e-4, atol: 1e-4, label: 'eval logits' })));
  assert.equal(memory().liveTensors, before, 'eval forward leaves no live tensors');

  model.train();
  tidy(() => {
    const logits = model.forward(x);
    const loss = crossEntropy(logits, y);
    loss.backward();
    assertClose(logits, ref.train, { rtol: 1e-4, atol: 1e-4, label: 'train logits' });
    assertClose(loss, ref.loss, { rtol: 1e-5, atol: 1e-5, label: 'loss' });
    // NOTE: Kestrel keeps conv weights channels-last, so oneDNN sums the first layer's gradient
    // (over 16 blocks of backprop) in another order than PyTorch's NCHW path: atol 5e-5.
    assertClose(model.conv1.weight.grad!, ref['grad.conv1'], { rtol: 1e-3, atol: 5e-5, label: 'conv1 grad' });
    assertClose((model.layer4[1] as BasicBlock).conv2.weight.grad!, ref['grad.l4'], { rtol: 1e-3, atol: 1e-5, label: 'layer4.1.conv2 grad' });
    assertClose(model.fc.weight.grad!, ref['grad.fc'], { rtol: 1e-3, atol: 1e-5, label: 'fc grad' });
    assertClose(model.bn1.running_mean!, ref['bn1.running_mean'], { rtol: 1e-5, atol: 1e-6, label: 'bn1 running mean' });
    const ds = (model.layer2[0] as BasicBlock).downsample!;
    assertClose((ds[1] as unknown as { running_var: Tensor }).running_var, ref['l2.ds.running_var'], { rtol: 1e-5, atol: 1e-6, label: 'downsample running var' });
  });
  model.zeroGrad();
  assert.equal(memory().liveTensors, before, 'train step leaves no live tensors beyond the model');
  dispose([x, y, ref]);
  model.dispose();
});

test('zeroInitResidual zeroes the last batch norm of every block; blocks have torchvision widths', () => {
  const model = resnet50(5, { zeroInitResidual: true });
  const blocks = [model.layer1, model.layer2, model.layer3, model.layer4].flatMap((s) => s.layers) as Bottleneck[];
  assert.equal(blocks.length, 16);
  for (const block of blocks) {
    assert.ok(block instanceof Bottleneck);
    tidy(() => assert.equal(block.bn3.weight!.abs().max().item(), 0));
    tidy(() => assert.equal(block.bn2.weight!.min().item(), 1));
  }
  assert.deepEqual(model.fc.weight.shape, [5, 2048]);
  model.dispose();
});

test('resnet rejects bad input with a clear error and accepts other input channels', () => {
  const model = resnet18(4, { inChannels: 1 });
  tidy(() => {
    assert.throws(() => model.forward(randn([2, 3, 32, 32])), /resnet\.ts: expects images shaped \[N, 1, H, W\], got \[2, 3, 32, 32\]/);
    assert.throws(() => model.forward(randn([1, 32, 32])), /resnet\.ts/);
    const out = noGrad(() => model.eval().forward(randn([2, 1, 32, 32])));
    assert.deepEqual(out.shape, [2, 4]);
  });
  assert.throws(() => resnet18(0), /resnet\.ts: numClasses must be a positive integer/);
  assert.throws(() => resnet18(10, { inChannels: 0 }), /resnet\.ts: inChannels/);
  model.dispose();
});
