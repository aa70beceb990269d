import test from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { crossEntropy } from '../../src/nn/index.js';
import { dispose, manualSeed, memory, randint, randn, tensor, tidy } from '../../src/tensor/index.js';
import { SmallResNet, smallResNet } from '../../src/vision/small-resnet.js';
import { defaultArchitectures } from '../../src/io/index.js';
import { assertClose, runTorch, skipWithoutTorch } from '../helpers/torch.js';

const BENCH = fileURLToPath(new URL('../../../bench', import.meta.url));

test('SmallResNet equals bench/recipe.py\'s PyTorch model: names, seeded weights, outputs and gradients (train and eval)', { skip: skipWithoutTorch() }, () => {
  manualSeed(3);
  const model = smallResNet(7, { inChannels: 3, widths: [8, 16, 24] });
  manualSeed(4);
  const x = randn([5, 3, 28, 28]);
  const y = randint(0, 7, [5]);
  const names = [...model.stateDict().keys()];
  const initial = tidy(() => [...model.stateDict().values()].map((v) => v.float().clone()));
  const loss = crossEntropy(model.forward(x), y);
  loss.backward();
  const stemGrad = model.stem.conv.weight.grad!;
  const fcGrad = model.fc.weight.grad!;
  model.eval();
  const evalOut = tidy(() => model.forward(x));
  const ref = runTorch(`
import sys
sys.path.insert(0, ${JSON.stringify(BENCH)})
from recipe import SmallResNet
torch.manual_seed(3)
m = SmallResNet(7, 3, (8, 16, 24))
out['names'] = torch.tensor(list(' '.join(m.state_dict().keys()).encode()), dtype=torch.uint8)
for i, v in enumerate(m.state_dict().values()): out['p%d' % i] = v.float().clone()
loss = torch.nn.functional.cross_entropy(m(inp['x']), inp['y'])
loss.backward()
out['loss'] = loss.detach()
out['stem'] = m.stem.conv.weight.grad
out['fc'] = m.fc.weight.grad
m.eval()
with torch.no_grad(): out['eval'] = m(inp['x'])`, { x, y });
  assert.equal(names.join(' '), new TextDecoder().decode(ref.names.toArray() as Uint8Array), 'state-dict names and order');
  initial.forEach((v, i) => assertClose(v, ref[`p${i}`], { rtol: 0, atol: 0, label: `seeded ${names[i]}` }));
  assert.ok(Math.abs(loss.item() - ref.loss.item()) < 1e-5, `loss ${loss.item()} vs ${ref.loss.item()}`);
  assertClose(stemGrad, ref.stem, { rtol: 1e-3, atol: 1e-5, label: 'stem gradient' });
  assertClose(fcGrad, ref.fc, { rtol: 1e-3, atol: 1e-5, label: 'fc gradient' });
  assertClose(evalOut, ref.eval, { rtol: 1e-4, atol: 1e-5, label: 'eval logits' });
  dispose([x, y, loss, evalOut, initial, Object.values(ref)]);
  model.dispose();
});

test('SmallResNet: parameter count, sizes 28-64 px, grey and colour, the registry rebuilds it, clear shape errors', () => {
  const model = smallResNet();
  assert.equal(model.numParameters(), 408_170);
  assert.match(String(model), /^SmallResNet\(widths=\[32, 64, 128\], classes=10/);
  const before = memory().liveTensors;
  for (const [c, side] of [[1, 28], [3, 32], [3, 64], [1, 8]] as const) {
    const m = new SmallResNet(4, { inChannels: c, widths: [4, 8, 8] });
    tidy(() => assert.deepEqual(m.forward(randn([2, c, side, side])).shape, [2, 4]));
    m.dispose();
  }
  assert.equal(memory().liveTensors, before);
  const rebuilt = defaultArchitectures['small-resnet']({ numClasses: 5, input: { channels: 3, height: 32, width: 32 }, widths: [8, 16, 32] });
  assert.ok(rebuilt instanceof SmallResNet);
  assert.deepEqual([(rebuilt as SmallResNet).widths, (rebuilt as SmallResNet).inChannels, (rebuilt as SmallResNet).numClasses], [[8, 16, 32], 3, 5]);
  assert.throws(() => defaultArchitectures['small-resnet']({ widths: [8, 16] }), /option 'widths' must be three positive integers/);
  assert.throws(() => new SmallResNet(10, { widths: [8, 0, 8] }), /widths must be three positive channel counts/);
  const x = tensor(new Float32Array(2 * 3 * 28 * 28), [2, 3, 28, 28]);
  assert.throws(() => model.forward(x), /expects images shaped \[N, 1, H, W\] with H, W >= 8, got \[2, 3, 28, 28\]/);
  dispose([x]);
  model.dispose(); rebuilt.dispose();
});
