/** Table-driven gradient parity: backward through Kestrel and PyTorch from identical inputs. */
import type { Tensor } from '../../src/tensor/index.js';
import { runTorch } from '../helpers/torch.js';
import { type Tolerance, assertAllClose, pythonScript } from './parity.js';

/**
 * One gradient case: a name, the inputs that get gradients, Kestrel's scalar loss from fresh
 * leaf copies of them, and the same loss as a Python expression over the same names.
 */
export type GradCase = [name: string, leaves: string[], ours: (v: Record<string, Tensor>) => Tensor, python: string];

/**
 * Runs every case on both sides (one Python call) and compares the loss and every leaf's
 * `.grad`. Inputs not listed as leaves are plain tensors in both. Call inside tidy().
 */
export function checkGrads(cases: GradCase[], inputs: Record<string, Tensor>, prelude: string, tolerance: Tolerance = {},
  overrides: Record<string, Tolerance> = {}): void {
  const actual: Record<string, Tensor> = {};
  const python: string[] = [];
  for (const [name, leaves, ours, expression] of cases) {
    const vars: Record<string, Tensor> = { ...inputs };
    for (const leaf of leaves) vars[leaf] = inputs[leaf].clone().setRequiresGrad(true);
    const loss = ours(vars);
    loss.backward();
    actual[`${name}.loss`] = loss.detach();
    for (const leaf of leaves) {
      const grad = vars[leaf].grad;
      if (!grad) throw new Error(`${name}: Kestrel computed no gradient for ${leaf}`);
      actual[`${name}.${leaf}`] = grad;
    }
    python.push([
      ...leaves.map((leaf) => `${leaf} = inp['${leaf}'].clone().requires_grad_()`),
      `loss = ${expression}`,
      'loss.backward()',
      `out['${name}.loss'] = loss`,
      ...leaves.map((leaf) => `out['${name}.${leaf}'] = ${leaf}.grad.clone()`),
      // NOTE: later cases must see the plain input again, or their backward would add into this leaf's grad.
      ...leaves.map((leaf) => `${leaf} = inp['${leaf}']`),
    ].join('\n'));
  }
  const plain = Object.keys(inputs).map((k) => `${k} = inp['${k}']`).join('\n');
  const expected = runTorch(pythonScript('import torch.nn.functional as F', plain, prelude, ...python), inputs);
  const scaled: Record<string, Tolerance> = {};
  for (const [key, value] of Object.entries(overrides)) {
    for (const name of Object.keys(expected)) if (name.startsWith(`${key}.`)) scaled[name] = value;
  }
  assertAllClose(actual, expected, tolerance, scaled);
}
