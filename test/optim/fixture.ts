/** Shared fixture for optimizer tests: a tiny MLP, fixed data, a training loop and its PyTorch twin. */
import { type Tensor, dispose, keep, manualSeed, randn, tidy } from '../../src/tensor/index.js';
import { Linear, Sequential, Tanh, mseLoss } from '../../src/nn/index.js';
import type { Optimizer } from '../../src/optim/index.js';

/** Fixed data and initial weights (kept; free with disposeFixture). */
export interface Fixture {
  /** Inputs [8, 4]. */
  x: Tensor;
  /** Regression targets [8, 3]. */
  y: Tensor;
  /** Initial parameters: 0.weight [6, 4], 0.bias [6], 2.weight [3, 6], 2.bias [3]. */
  initial: Map<string, Tensor>;
}

/** Builds the fixture from a fixed seed. */
export function makeFixture(): Fixture {
  return tidy(() => {
    manualSeed(7);
    const model = makeModel();
    const initial = new Map([...model.stateDict()].map(([name, p]) => [name, keep(p.detach().clone())]));
    model.dispose();
    return { x: keep(randn([8, 4])), y: keep(randn([8, 3])), initial };
  });
}

/** Frees the fixture's tensors. */
export function disposeFixture(fixture: Fixture): void {
  dispose([fixture.x, fixture.y, ...fixture.initial.values()]);
}

/** Linear(4, 6) -> Tanh -> Linear(6, 3), with the fixture's initial weights when given. */
export function makeModel(fixture?: Fixture): Sequential {
  const model = new Sequential(new Linear(4, 6), new Tanh(), new Linear(6, 3));
  if (fixture) model.loadStateDict(fixture.initial);
  return model;
}

/** Runs `steps` steps of MSE training; `schedule` may change hyper-parameters before each step. */
export function train(model: Sequential, optimizer: Optimizer, fixture: Fixture, steps: number, schedule?: (optimizer: Optimizer, step: number) => void): void {
  for (let i = 0; i < steps; i++) {
    schedule?.(optimizer, i);
    optimizer.zeroGrad();
    tidy(() => mseLoss(model.forward(fixture.x), fixture.y).backward());
    optimizer.step();
  }
}

/** Python defining make() (the same model and weights) and train(opt_builder, steps, schedule). */
export const TORCH_PRELUDE = `
import torch.nn as nn
import torch.nn.functional as F
def make():
    m = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    with torch.no_grad():
        for name, p in m.named_parameters():
            p.copy_(inp[name.replace('.', '_')])
    return m
def train(m, opt, steps, schedule=None):
    for i in range(steps):
        if schedule: schedule(opt, i)
        opt.zero_grad()
        F.mse_loss(m(inp['x']), inp['y']).backward()
        opt.step()
`;

/** The fixture as runTorch inputs (parameter names with `.` as `_`). */
export function torchInputs(fixture: Fixture): Record<string, Tensor> {
  const inputs: Record<string, Tensor> = { x: fixture.x, y: fixture.y };
  for (const [name, t] of fixture.initial) inputs[name.replace('.', '_')] = t;
  return inputs;
}
