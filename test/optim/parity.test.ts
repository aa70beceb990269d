import test from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, dispose, maxAbsDiff, tidy } from '../../src/tensor/index.js';
import type { Sequential } from '../../src/nn/index.js';
import { Adam, AdamW, type Optimizer, SGD } from '../../src/optim/index.js';
import { assertClose, runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { TORCH_PRELUDE, disposeFixture, makeFixture, makeModel, torchInputs, train } from './fixture.js';

/** One optimizer configuration, built the same way in Kestrel and in PyTorch. */
interface Case {
  name: string;
  kestrel: (model: Sequential) => Optimizer;
  /** Python expression for the optimizer, with `m` the model and `P` its parameter list. */
  torch: string;
  /** Parameter names frozen (requiresGrad false) before training. */
  freeze?: string[];
  schedule?: (optimizer: Optimizer, step: number) => void;
  /** Python body of schedule(opt, i) (one line). */
  torchSchedule?: string;
}

const STEPS = 6;

const cases: Case[] = [
  { name: 'sgd_plain', kestrel: (m) => new SGD(m.parameters(), { lr: 0.1 }), torch: 'torch.optim.SGD(P, lr=0.1)' },
  { name: 'sgd_momentum', kestrel: (m) => new SGD(m.parameters(), { lr: 0.05, momentum: 0.9 }), torch: 'torch.optim.SGD(P, lr=0.05, momentum=0.9)' },
  { name: 'sgd_nesterov', kestrel: (m) => new SGD(m.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true }), torch: 'torch.optim.SGD(P, lr=0.05, momentum=0.9, nesterov=True)' },
  { name: 'sgd_wd', kestrel: (m) => new SGD(m.parameters(), { lr: 0.1, weightDecay: 0.05 }), torch: 'torch.optim.SGD(P, lr=0.1, weight_decay=0.05)' },
  {
    name: 'sgd_dampening',
    kestrel: (m) => new SGD(m.parameters(), { lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0.01 }),
    torch: 'torch.optim.SGD(P, lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)',
  },
  { name: 'adam', kestrel: (m) => new Adam(m.parameters(), { lr: 0.01 }), torch: 'torch.optim.Adam(P, lr=0.01)' },
  {
    name: 'adam_wd',
    kestrel: (m) => new Adam(m.parameters(), { lr: 0.01, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 }),
    torch: 'torch.optim.Adam(P, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)',
  },
  {
    name: 'adam_amsgrad',
    kestrel: (m) => new Adam(m.parameters(), { lr: 0.01, weightDecay: 0.01, amsgrad: true }),
    torch: 'torch.optim.Adam(P, lr=0.01, weight_decay=0.01, amsgrad=True)',
  },
  { name: 'adamw', kestrel: (m) => new AdamW(m.parameters(), { lr: 0.01 }), torch: 'torch.optim.AdamW(P, lr=0.01)' },
  {
    name: 'adamw_amsgrad',
    kestrel: (m) => new AdamW(m.parameters(), { lr: 0.02, weightDecay: 0.1, amsgrad: true }),
    torch: 'torch.optim.AdamW(P, lr=0.02, weight_decay=0.1, amsgrad=True)',
  },
  {
    name: 'sgd_groups_frozen',
    freeze: ['0.bias'],
    kestrel: (m) => {
      const [w0, b0, w1, b1] = m.parameters();
      return new SGD([{ params: [w0, b0], lr: 0.05 }, { params: [w1, b1], weightDecay: 0.1, nesterov: true }], { lr: 0.1, momentum: 0.9 });
    },
    torch: "torch.optim.SGD([{'params': P[:2], 'lr': 0.05}, {'params': P[2:], 'weight_decay': 0.1, 'nesterov': True}], lr=0.1, momentum=0.9)",
  },
  {
    name: 'adam_groups_frozen',
    freeze: ['2.bias'],
    kestrel: (m) => {
      const [w0, b0, w1, b1] = m.parameters();
      return new Adam([{ params: [w0, w1], weightDecay: 0.05 }, { params: [b0, b1], lr: 0.03, betas: [0.5, 0.9] }], { lr: 0.01 });
    },
    torch: "torch.optim.Adam([{'params': [P[0], P[2]], 'weight_decay': 0.05}, {'params': [P[1], P[3]], 'lr': 0.03, 'betas': (0.5, 0.9)}], lr=0.01)",
  },
  {
    name: 'adamw_groups',
    kestrel: (m) => {
      const [w0, b0, w1, b1] = m.parameters();
      return new AdamW([{ params: [w0, w1] }, { params: [b0, b1], weightDecay: 0, amsgrad: true }], { lr: 0.02, weightDecay: 0.2 });
    },
    torch: "torch.optim.AdamW([{'params': [P[0], P[2]]}, {'params': [P[1], P[3]], 'weight_decay': 0, 'amsgrad': True}], lr=0.02, weight_decay=0.2)",
  },
  {
    name: 'sgd_scheduled',
    kestrel: (m) => new SGD(m.parameters(), { lr: 0.1, momentum: 0.5 }),
    schedule: (opt, i) => { for (const g of opt.paramGroups) { g.lr = 0.1 * 0.7 ** i; g.momentum = 0.5 + 0.1 * i; } },
    torch: 'torch.optim.SGD(P, lr=0.1, momentum=0.5)',
    torchSchedule: "[g.update(lr=0.1 * 0.7 ** i, momentum=0.5 + 0.1 * i) for g in opt.param_groups]",
  },
  {
    name: 'adam_scheduled',
    kestrel: (m) => new Adam(m.parameters(), { lr: 0.01 }),
    schedule: (opt, i) => { for (const g of opt.paramGroups) { g.lr = 0.01 * (i + 1) / 5; g.betas![0] = 0.95 - 0.05 * i; } },
    torch: 'torch.optim.Adam(P, lr=0.01)',
    torchSchedule: "[g.update(lr=0.01 * (i + 1) / 5, betas=(0.95 - 0.05 * i, g['betas'][1])) for g in opt.param_groups]",
  },
];

function torchScript(): string {
  const lines = [TORCH_PRELUDE];
  for (const c of cases) {
    lines.push(`m = make()`, `P = list(m.parameters())`);
    for (const name of c.freeze ?? []) lines.push(`m.get_parameter('${name}').requires_grad_(False)`);
    lines.push(`opt = ${c.torch}`);
    lines.push(c.torchSchedule ? `train(m, opt, ${STEPS}, lambda opt, i: ${c.torchSchedule})` : `train(m, opt, ${STEPS})`);
    lines.push(`for j, p in enumerate(P): out[f'${c.name}__param_{j}'] = p.detach().clone()`);
    lines.push(`for idx, st in opt.state_dict()['state'].items():`);
    lines.push(`    for k, v in st.items():`);
    lines.push(`        if v is not None: out[f'${c.name}__state_{idx}_{k}'] = v`);
  }
  return lines.join('\n');
}

test('SGD, Adam and AdamW match torch.optim over 6 steps (params and state)', { skip: skipWithoutTorch() }, () => {
  const fixture = makeFixture();
  try {
    const expected = runTorch(torchScript(), torchInputs(fixture));
    let worst = 0;
    for (const c of cases) {
      tidy(() => {
        const model = makeModel(fixture);
        if (c.freeze) model.freeze(...c.freeze);
        const optimizer = c.kestrel(model);
        train(model, optimizer, fixture, STEPS, c.schedule);
        model.namedParameters().forEach(([name, p], j) => {
          const want = expected[`${c.name}__param_${j}`];
          assertClose(p, want, { rtol: 1e-5, atol: 1e-6, label: `${c.name} ${name}` });
          worst = Math.max(worst, maxAbsDiff(p, want));
          if (c.freeze?.includes(name)) assert.equal(maxAbsDiff(p, fixture.initial.get(name)!), 0, `${c.name}: frozen ${name} moved`);
        });
        // Same state names, indices (frozen parameters keep their index) and values as PyTorch's state_dict.
        const ours = optimizer.stateDict();
        const theirs = Object.keys(expected).filter((k) => k.startsWith(`${c.name}__state_`)).sort();
        const ourNames = [...ours.tensors.keys()].map((k) => `${c.name}__${k.replace(/\./g, '_')}`).sort();
        assert.deepEqual(ourNames, theirs, `${c.name}: state tensor names`);
        for (const [key, value] of ours.tensors) {
          assertClose(value, expected[`${c.name}__${key.replace(/\./g, '_')}`], { rtol: 1e-5, atol: 1e-6, label: `${c.name} ${key}` });
        }
        optimizer.dispose();
        model.dispose();
      });
    }
    console.log(`largest |kestrel - torch| over all parameters: ${worst}`);
    dispose(Object.values(expected) as Tensor[]);
  } finally {
    disposeFixture(fixture);
  }
});
