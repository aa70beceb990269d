import test from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, autocast, bf16Support, dispose, manualSeed, randint, randn, tidy } from '../../src/tensor/index.js';
import { BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, crossEntropy } from '../../src/nn/index.js';
import { SGD } from '../../src/optim/index.js';
import { assertAllClose, pythonScript } from '../tensor/parity.js';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';

// NOTE: bfloat16 keeps 8 significant bits (one unit in the last place is 0.4%); 1% allows a rounding
// flip from another thread count's summation order. (Here both sides run the same libtorch kernels and
// agree to 1e-6; the dtype checks make sure Kestrel's side really ran in bfloat16.)
const BF16 = { rtol: 1e-2, atol: 1e-2 };
const skip = skipWithoutTorch() ?? (bf16Support().available ? undefined : `bfloat16 unsupported here: ${bf16Support().reason}`);

const PRELUDE = `
import torch.nn.functional as F
CL = torch.channels_last
def bf16(fn):
    with torch.autocast('cpu', dtype=torch.bfloat16):
        return fn()
def leaf(t):
    return t.clone().requires_grad_(True)
`;

test('bf16 autocast: conv2d, linear and batch norm outputs and gradients match PyTorch autocast', { skip }, () => {
  manualSeed(3);
  tidy(() => {
    const conv = new Conv2d(3, 6, 3, { padding: 1 });
    const bn = new BatchNorm2d(6);
    const linear = new Linear(24, 5);
    const x = randn([4, 3, 6, 6]).setRequiresGrad();
    const g = randn([4, 6, 6, 6]);
    const xl = randn([7, 24]).setRequiresGrad();
    const gl = randn([7, 5]);
    const ours: Record<string, Tensor> = {};
    const convOut = autocast(() => conv.forward(x));
    assert.equal(convOut.dtype, 'bfloat16');
    convOut.float().mul(g).sum().backward();
    Object.assign(ours, { conv_out: convOut.float(), conv_dx: x.grad!, conv_dw: conv.weight.grad!, conv_db: conv.bias!.grad! });
    x.setGrad(null); conv.weight.setGrad(null); conv.bias!.setGrad(null);
    // batch norm (training) on the bf16 output of a convolution, as in a CNN
    const bnOut = autocast(() => bn.forward(conv.forward(x)));
    bnOut.float().mul(g).sum().backward();
    Object.assign(ours, { bn_out: bnOut.float(), bn_dx: x.grad!, bn_dgamma: bn.weight!.grad!, bn_dbeta: bn.bias!.grad!, bn_mean: bn.running_mean!.clone(), bn_var: bn.running_var!.clone() });
    const linOut = autocast(() => linear.forward(xl));
    assert.equal(linOut.dtype, 'bfloat16');
    linOut.float().mul(gl).sum().backward();
    Object.assign(ours, { lin_out: linOut.float(), lin_dx: xl.grad!, lin_dw: linear.weight.grad!, lin_db: linear.bias!.grad! });
    for (const name of ['conv_dw', 'conv_db', 'bn_dgamma', 'lin_dw']) assert.equal(ours[name].dtype, 'float32', `${name}: gradients of float32 weights stay float32`);

    const expected = runTorch(pythonScript(PRELUDE, `
      w, b = inp['w'].contiguous(memory_format=CL).requires_grad_(True), leaf(inp['b'])
      x = leaf(inp['x'])
      y = bf16(lambda: F.conv2d(x.contiguous(memory_format=CL), w, b, padding=1))
      (y.float() * inp['g']).sum().backward()
      out.update(conv_out=y.float(), conv_dx=x.grad, conv_dw=w.grad, conv_db=b.grad)
      w.grad = b.grad = x.grad = None
      gamma, beta = leaf(inp['gamma']), leaf(inp['beta'])
      rm, rv = torch.zeros(6), torch.ones(6)
      z = bf16(lambda: F.batch_norm(F.conv2d(x.contiguous(memory_format=CL), w, b, padding=1), rm, rv, gamma, beta, training=True))
      (z.float() * inp['g']).sum().backward()
      out.update(bn_out=z.float(), bn_dx=x.grad, bn_dgamma=gamma.grad, bn_dbeta=beta.grad, bn_mean=rm, bn_var=rv)
      lw, lb, xl = leaf(inp['lw']), leaf(inp['lb']), leaf(inp['xl'])
      l = bf16(lambda: F.linear(xl, lw, lb))
      (l.float() * inp['gl']).sum().backward()
      out.update(lin_out=l.float(), lin_dx=xl.grad, lin_dw=lw.grad, lin_db=lb.grad)
    `), { w: conv.weight.clone(), b: conv.bias!, x, g, gamma: bn.weight!, beta: bn.bias!, lw: linear.weight, lb: linear.bias!, xl, gl });
    assertAllClose(ours, expected, BF16);
    dispose([conv, bn, linear].flatMap((m) => [...m.stateDict().values()]));
  });
});

test('bf16 autocast: one SGD step of a small CNN (loss in float32) matches PyTorch autocast + channels-last', { skip }, () => {
  manualSeed(5);
  tidy(() => {
    const model = new Sequential(
      new Conv2d(3, 8, 3, { padding: 1 }), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
      new Flatten(), new Linear(8 * 4 * 4, 5),
    );
    const initial = Object.fromEntries([...model.stateDict()].map(([k, t]) => [k.replaceAll('.', '_'), t.clone()]));
    const x = randn([16, 3, 8, 8]);
    const y = randint(0, 5, [16], { dtype: 'int64' });
    const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const logits = autocast(() => model.forward(x.contiguous('channels-last')));
    assert.equal(logits.dtype, 'bfloat16');
    const loss = crossEntropy(logits.float(), y);
    assert.equal(loss.dtype, 'float32');
    loss.backward();
    const ours: Record<string, Tensor> = { loss: loss.detach().reshape(1) };
    for (const [name, p] of model.namedParameters()) ours[`grad_${name.replaceAll('.', '_')}`] = p.grad!;
    optimizer.step();
    for (const [name, t] of model.stateDict()) ours[`after_${name.replaceAll('.', '_')}`] = t.clone();
    for (const p of model.parameters()) assert.equal(p.dtype, 'float32', 'weights stay float32');

    const expected = runTorch(pythonScript(PRELUDE, `
      from torch import nn
      m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(128, 5))
      m.load_state_dict({k: inp[k.replace('.', '_')] for k in m.state_dict()})
      m = m.to(memory_format=CL)
      opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
      logits = bf16(lambda: m(inp['x'].contiguous(memory_format=CL)))
      loss = F.cross_entropy(logits.float(), inp['y'])
      loss.backward()
      out['loss'] = loss.detach().reshape(1)
      for k, p in m.named_parameters(): out['grad_' + k.replace('.', '_')] = p.grad
      opt.step()
      for k, t in m.state_dict().items(): out['after_' + k.replace('.', '_')] = t
    `), { ...initial, x, y });
    assertAllClose(ours, expected, BF16);
    model.dispose();
  });
});
