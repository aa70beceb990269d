import test from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, dispose, manualSeed, maxAbsDiff, memory, noGrad, randn, tensor, tidy } from '../../src/tensor/index.js';
import { crossEntropy } from '../../src/nn/index.js';
import { InvertedResidual, makeDivisible, mobilenetV2 } from '../../src/vision/mobilenet.js';
import { assertClose, runTorch, skipWithoutTorch } from '../helpers/torch.js';

function decodeJson<T>(t: Tensor): T {
  return JSON.parse(new TextDecoder().decode(t.toArray() as Uint8Array)) as T;
}

// A seeded torchvision mobilenet_v2 (its initial weights), then batch-norm weights and running
// stats randomised so eval mode is a real test; keys, eval logits, train logits, a gradient.
const SCRIPT = `
import json, torchvision
torch.manual_seed(0)
m = torchvision.models.mobilenet_v2(num_classes=10)
text = json.dumps([[k, list(v.shape)] for k, v in m.state_dict().items()])
out['keys'] = torch.tensor(list(text.encode()), dtype=torch.uint8)
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
    m.classifier[1].weight.uniform_(-0.1, 0.1, generator=g)
for k, v in m.state_dict().items():
    out['w.' + k] = v.clone()
m.eval()
with torch.no_grad():
    out['eval'] = m(inp['x'])
# NOTE: gradients in float64: PyTorch's own float32 NCHW depthwise backward is off by ~4% of the
# largest value here (Kestrel's channels-last path is within 0.02%), so float64 is the reference.
m = m.double().train()
m.classifier[0].p = 0.0
logits = m(inp['x'].double())
loss = torch.nn.functional.cross_entropy(logits, inp['y'])
loss.backward()
out['train'] = logits.detach()
out['grad.dw'] = m.features[3].conv[1][0].weight.grad
out['grad.fc'] = m.classifier[1].weight.grad
out['rm'] = m.features[5].conv[3].running_mean
`;

test('mobilenetV2 matches torchvision: names and shapes, seeded init, eval and train logits, gradients', { skip: skipWithoutTorch() }, () => {
  manualSeed(3);
  const x = randn([2, 3, 64, 64]);
  const y = tensor([3, 7], { dtype: 'int64' });
  const ref = runTorch(SCRIPT, { x, y });

  manualSeed(0);
  const model = mobilenetV2(10);
  assert.deepEqual([...model.stateDict()].map(([k, v]) => [k, v.shape]), decodeJson<[string, number[]][]>(ref.keys));
  assert.equal(model.numParameters(), 2_236_682);
  for (const [name, value] of model.stateDict()) assert.equal(maxAbsDiff(value, ref[`init.${name}`]), 0, `initial ${name}`);

  model.loadStateDict(new Map(Object.entries(ref).filter(([k]) => k.startsWith('w.')).map(([k, v]) => [k.slice(2), v])));
  const before = memory().liveTensors;
  model.eval();
  noGrad(() => tidy(() => assertClose(model.forward(x), ref.eval, { rtol: 1e-4, atol: 1e-4, label: 'eval logits' })));
  assert.equal(memory().liveTensors, before, 'eval forward leaves no live tensors');

  model.train();
  (model.classifier[0] as unknown as { p: number }).p = 0;
  tidy(() => {
    const logits = model.forward(x);
    crossEntropy(logits, y).backward();
    assertClose(logits, ref.train, { rtol: 1e-4, atol: 1e-4, label: 'train logits' });
    const dw = (model.features[3] as InvertedResidual).conv[1] as unknown as { 0: { weight: Tensor } };
    const scale = (t: Tensor) => tidy(() => t.abs().max().item());
    assertClose(dw[0].weight.grad!, ref['grad.dw'], { rtol: 1e-3, atol: 1e-3 * scale(ref['grad.dw']), label: 'depthwise grad' });
    const fc = model.classifier[1] as unknown as { weight: Tensor };
    assertClose(fc.weight.grad!, ref['grad.fc'], { rtol: 1e-3, atol: 1e-4 * scale(ref['grad.fc']), label: 'classifier grad' });
    const bn = (model.features[5] as InvertedResidual).conv[3] as unknown as { running_mean: Tensor };
    assertClose(bn.running_mean, ref.rm, { rtol: 1e-5, atol: 1e-6, label: 'running mean' });
  });
  model.zeroGrad();
  dispose([x, y, ref]);
  model.dispose();
});

test('mobilenetV2 structure: torchvision widths, strides and skips; bad input is a clear error', () => {
  assert.equal(makeDivisible(32), 32);
  assert.equal(makeDivisible(1280), 1280);
  assert.equal(makeDivisible(24 * 0.75), 24);
  const model = mobilenetV2(4);
  assert.equal(model.features.length, 19);
  const blocks = model.features.layers.slice(1, 18) as InvertedResidual[];
  assert.deepEqual(blocks.map((b) => b.oup), [16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320]);
  assert.deepEqual(blocks.map((b) => b.stride), [1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1]);
  assert.equal(blocks.filter((b) => b.useResConnect).length, 10);
  tidy(() => {
    const out = noGrad(() => model.eval().forward(randn([2, 3, 32, 32])));
    assert.deepEqual(out.shape, [2, 4]);
    assert.throws(() => model.forward(randn([2, 1, 32, 32])), /mobilenet\.ts: expects images shaped \[N, 3, H, W\], got \[2, 1, 32, 32\]/);
  });
  assert.throws(() => mobilenetV2(0), /numClasses must be a positive integer/);
  model.dispose();
});
