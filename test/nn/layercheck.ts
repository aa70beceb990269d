/** Layer parity: the same weights and input through a Kestrel module and a torch.nn module. */
import { type Tensor, arange, op } from '../../src/tensor/index.js';
import type { Module } from '../../src/nn/index.js';
import { runTorch } from '../helpers/torch.js';
import { type Tolerance, assertAllClose, pythonScript } from '../tensor/parity.js';

/** One layer case: Kestrel's module, the Python expression building the torch.nn equivalent, an input. */
export interface LayerCase {
  name: string;
  module: Module;
  /** e.g. `nn.Conv2d(3, 4, 3, stride=2)`; its weights are overwritten with Kestrel's. */
  torch: string;
  input: Tensor;
  /** Training mode (default true). */
  train?: boolean;
  /** Forward/backward passes to run (default 1), to see running statistics evolve. */
  steps?: number;
  tolerance?: Tolerance;
}

/** sin(0), sin(1), ... shaped like `y`: a fixed, non-symmetric upstream gradient for both sides. */
function upstream(y: Tensor): Tensor {
  return op('aten::sin', '', [arange(0, y.size, 1, { dtype: 'float32' }).reshape(y.shape).handle]);
}

const PY_HELPERS = `
  import torch.nn as nn
  def load(m, prefix):
      sd = {k[len(prefix):]: v for k, v in inp.items() if k.startswith(prefix)}
      m.load_state_dict(sd, strict=True)
  def upstream(y):
      return torch.arange(y.numel(), dtype=torch.float32).reshape(y.shape).sin()
`;

/**
 * Copies each module's initial state dict into its torch.nn twin, runs forward and backward
 * of sum(y * sin(k)) on both (in train or eval mode), and compares outputs, input gradients,
 * parameter gradients (by PyTorch's parameter names) and buffers afterwards. Call inside tidy().
 */
export function checkLayers(cases: LayerCase[]): void {
  const inputs: Record<string, Tensor> = {};
  const actual: Record<string, Tensor> = {};
  const python: string[] = [];
  const overrides: Record<string, Tolerance> = {};
  for (const c of cases) {
    const { name, module } = c;
    const train = c.train ?? true;
    const steps = c.steps ?? 1;
    for (const [key, t] of module.stateDict()) inputs[`${name}.sd.${key}`] = t.clone();
    inputs[`${name}.x`] = c.input;
    module.train(train);
    const x = c.input.clone().setRequiresGrad(true);
    for (let step = 0; step < steps; step++) {
      const y = module.forward(x);
      y.mul(upstream(y)).sum().backward();
      if (step === steps - 1) actual[`${name}.y`] = y.detach();
    }
    actual[`${name}.xgrad`] = x.grad!;
    for (const [key, p] of module.namedParameters()) {
      if (p.requiresGrad) actual[`${name}.grad.${key}`] = p.grad!;
    }
    for (const [key, b] of module.namedBuffers()) actual[`${name}.buf.${key}`] = b.clone();
    python.push(`
      m = ${c.torch}
      load(m, '${name}.sd.')
      m.train(${train ? 'True' : 'False'})
      x = inp['${name}.x'].clone().requires_grad_()
      for step in range(${steps}):
          y = m(x)
          (y * upstream(y)).sum().backward()
      out['${name}.y'] = y
      out['${name}.xgrad'] = x.grad
      for k, p in m.named_parameters():
          if p.requires_grad: out['${name}.grad.' + k] = p.grad
      for k, b in m.named_buffers():
          out['${name}.buf.' + k] = b
    `);
  }
  const expected = runTorch(pythonScript(PY_HELPERS, ...python), inputs);
  for (const c of cases) {
    if (!c.tolerance) continue;
    for (const key of Object.keys(expected)) if (key.startsWith(`${c.name}.`)) overrides[key] = c.tolerance;
  }
  assertAllClose(actual, expected, {}, overrides);
}
