import test from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, dispose, memory, ones, randn, tensor, tidy } from '../../src/tensor/index.js';
import { Parameter } from '../../src/nn/index.js';
import { Adam, AdamW, type Optimizer, SGD } from '../../src/optim/index.js';
import { disposeFixture, makeFixture, makeModel, train } from './fixture.js';

const builders: [string, (params: Parameter[]) => Optimizer][] = [
  ['SGD', (p) => new SGD(p, { lr: 0.01 })],
  ['SGD momentum nesterov wd', (p) => new SGD(p, { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 1e-4 })],
  ['Adam amsgrad wd', (p) => new Adam(p, { amsgrad: true, weightDecay: 1e-4 })],
  ['AdamW', (p) => new AdamW(p)],
];

for (const [label, build] of builders) {
  test(`${label}: liveTensors flat across 100 steps; dispose() frees the state`, () => {
    const fixture = makeFixture();
    const model = makeModel(fixture);
    const baseline = memory().liveTensors;
    const opt = build(model.parameters());
    train(model, opt, fixture, 1);
    const afterFirst = memory().liveTensors;
    train(model, opt, fixture, 100);
    assert.equal(memory().liveTensors, afterFirst, 'steps must not leak');
    opt.zeroGrad();
    opt.dispose();
    assert.equal(memory().liveTensors, baseline, 'dispose() must free every state tensor');
    model.dispose(); disposeFixture(fixture);
  });
}

test('step skips parameters without a gradient or with requiresGrad false (even with a stale grad)', () => {
  const a = new Parameter(tensor([1, 2, 3]));
  const b = new Parameter(tensor([4, 5]));
  const frozen = new Parameter(tensor([7, 8]), false);
  frozen.setGrad(tidy(() => ones([2])));
  a.setGrad(tidy(() => tensor([1, 1, 1])));
  const opt = new SGD([a, b, frozen], { lr: 0.5, momentum: 0.9 });
  opt.step();
  assert.deepEqual(Array.from(a.toArray() as Float32Array), [0.5, 1.5, 2.5]);
  assert.deepEqual(Array.from(b.toArray() as Float32Array), [4, 5]);
  assert.deepEqual(Array.from(frozen.toArray() as Float32Array), [7, 8]);
  const state = opt.stateDict();
  assert.deepEqual([...state.tensors.keys()], ['state.0.momentum_buffer']);
  dispose([...state.tensors.values()]);
  opt.zeroGrad();
  assert.equal(a.grad, null);
  assert.equal(frozen.grad, null);
  opt.dispose(); dispose([a, b, frozen]);
});

test('defaults, groups and addParamGroup fill hyper-parameters like PyTorch; betas are per group', () => {
  const [w, b, c] = [randn([3, 2]), randn([3]), randn([2])].map((t) => new Parameter(t));
  const adam = new Adam([{ params: [w] }, { params: [b], lr: 0.1, betas: [0.5, 0.6] }], { eps: 1e-6 });
  assert.deepEqual(adam.paramGroups.map(({ params, ...hyper }) => ({ n: params.length, ...hyper })), [
    { n: 1, lr: 1e-3, betas: [0.9, 0.999], eps: 1e-6, weightDecay: 0, amsgrad: false },
    { n: 1, lr: 0.1, betas: [0.5, 0.6], eps: 1e-6, weightDecay: 0, amsgrad: false },
  ]);
  adam.addParamGroup({ params: [c], weightDecay: 0.5 });
  adam.paramGroups[2].betas[0] = 0.2;
  assert.equal(adam.paramGroups[0].betas[0], 0.9, 'groups must not share the defaults betas array');
  assert.equal(new AdamW([w]).paramGroups[0].weightDecay, 1e-2);
  const sgd = new SGD([{ params: [w], lr: 0.3 }, { params: [b], lr: 0.2, momentum: 0.5 }]);
  assert.deepEqual(sgd.paramGroups.map((g) => [g.lr, g.momentum, g.dampening, g.nesterov, g.weightDecay]), [[0.3, 0, 0, false, 0], [0.2, 0.5, 0, false, 0]]);
  assert.equal(adam.toString(), [
    'Adam (',
    'Parameter Group 0', '    params: 1 tensors (6 elements)', '    lr: 0.001', '    betas: [0.9, 0.999]', '    eps: 0.000001', '    weightDecay: 0', '    amsgrad: false',
    'Parameter Group 1', '    params: 1 tensors (3 elements)', '    lr: 0.1', '    betas: [0.5, 0.6]', '    eps: 0.000001', '    weightDecay: 0', '    amsgrad: false',
    'Parameter Group 2', '    params: 1 tensors (2 elements)', '    lr: 0.001', '    betas: [0.2, 0.999]', '    eps: 0.000001', '    weightDecay: 0.5', '    amsgrad: false',
    ')',
  ].join('\n'));
  dispose([w, b, c]);
});

test('bad hyper-parameters and parameter lists give clear errors', () => {
  const p = new Parameter(randn([2, 2]));
  const q = new Parameter(randn([2]));
  const cases: [() => unknown, RegExp][] = [
    [() => new SGD([p]), /SGD: parameter group 0: no lr given/],
    [() => new SGD([p], { lr: -0.1 }), /SGD: parameter group 0: invalid learning rate -0\.1 \(must be a number >= 0\)/],
    [() => new SGD([p], { lr: 0.1, momentum: -1 }), /invalid momentum -1/],
    [() => new SGD([p], { lr: 0.1, weightDecay: -1 }), /invalid weightDecay -1/],
    [() => new SGD([p], { lr: NaN }), /invalid learning rate NaN/],
    [() => new SGD([p], { lr: 0.1, nesterov: true }), /Nesterov momentum requires momentum > 0 and dampening 0 \(got momentum 0, dampening 0\)/],
    [() => new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), /Nesterov momentum requires/],
    [() => new SGD([{ params: [p] }, { params: [q], lr: -2 }], { lr: 0.1 }), /SGD: parameter group 1: invalid learning rate -2/],
    [() => new Adam([p], { lr: -1 }), /Adam: parameter group 0: invalid learning rate -1/],
    [() => new Adam([p], { eps: -1e-8 }), /invalid epsilon -1e-8/],
    [() => new Adam([p], { betas: [1, 0.999] }), /invalid beta parameter at index 0: 1 \(must be in \[0, 1\)\)/],
    [() => new AdamW([p], { betas: [0.9, -0.1] }), /AdamW: parameter group 0: invalid beta parameter at index 1: -0\.1/],
    [() => new Adam([p], { betas: [0.9] as unknown as [number, number] }), /betas must be two numbers/],
    [() => new AdamW([p], { weightDecay: -0.1 }), /invalid weightDecay -0\.1/],
    [() => new Adam([p], { amsgrad: 'yes' as unknown as boolean }), /amsgrad must be true or false, got yes/],
    [() => new Adam([]), /Adam: got an empty parameter list/],
    [() => new Adam([{ params: [p] }, { params: [q, p] }]), /parameter group 1: params\[1\] already belongs to another parameter group/],
    [() => new Adam([p, p]), /params\[1\] appears twice in the group/],
    [() => new Adam([{ params: [p] }, { lr: 1 } as unknown as { params: Tensor[] }]), /parameter group 1 needs a params array/],
    [() => new Adam([{ params: [p] }, q] as unknown as Tensor[]), /parameter group 1 needs a params array/],
    [() => new Adam([5 as unknown as Tensor]), /params\[0\] is not a tensor/],
    [() => tidy(() => new Adam([p.mul(2)])), /params\[0\] is not a leaf tensor/],
  ];
  const before = memory().liveTensors;
  for (const [fn, message] of cases) assert.throws(fn, message);
  assert.equal(memory().liveTensors, before);
  const opt = new SGD([p], { lr: 0.1 });
  assert.throws(() => opt.addParamGroup({ params: [p] }), /SGD: parameter group 1: params\[0\] already belongs to another parameter group/);
  assert.equal(opt.paramGroups.length, 1);
  dispose([p, q]);
});

test('updates run under noGrad and keep parameters leaves that require grad', () => {
  const fixture = makeFixture();
  const model = makeModel(fixture);
  const opt = new AdamW(model.parameters(), { lr: 0.01 });
  train(model, opt, fixture, 2);
  for (const p of model.parameters()) assert.equal(p.requiresGrad, true);
  // A further backward works: the update did not record into the graph.
  train(model, opt, fixture, 1);
  opt.dispose(); model.dispose(); disposeFixture(fixture);
});

test('Adam and AdamW update a group with _foreach_ ops bit for bit as one parameter at a time; a group at mixed steps falls back', () => {
  /** The same optimizer, forced to the one-parameter-at-a-time path of the base class. */
  const perParam = <T extends Optimizer>(opt: T): T => {
    const base = Object.getPrototypeOf(Object.getPrototypeOf(Object.getPrototypeOf(opt))) as { stepGroup(g: unknown): void };
    (opt as unknown as { stepGroup(g: unknown): void }).stepGroup = (g) => base.stepGroup.call(opt, g);
    return opt;
  };
  for (const [name, make] of [
    ['Adam wd', (p: Parameter[]) => new Adam(p, { lr: 0.01, weightDecay: 0.1, betas: [0.8, 0.99] })],
    ['AdamW', (p: Parameter[]) => new AdamW(p, { lr: 0.02, weightDecay: 0.05 })],
    ['AdamW no wd', (p: Parameter[]) => new AdamW(p, { lr: 0.02, weightDecay: 0 })],
  ] as const) {
    tidy(() => {
      const shapes = [[4, 3, 3, 3], [4], [10, 7], [7]];
      const initial = shapes.map((s) => randn(s));
      const grads = Array.from({ length: 5 }, () => shapes.map((s) => randn(s)));
      const [a, b] = [0, 1].map(() => initial.map((t) => new Parameter(t.clone())));
      const fast = make(a);
      const slow = perParam(make(b));
      const stepBoth = (given: (Tensor | null)[]) => {
        for (const params of [a, b]) params.forEach((p, i) => p.setGrad(given[i] === null ? null : given[i]!.clone()));
        fast.step();
        slow.step();
      };
      const same = (when: string) => {
        a.forEach((p, i) => assert.equal(p.sub(b[i]).abs().max().item(), 0, `${name}, ${when}: parameter ${i}`));
        const sb = slow.stateDict().tensors;
        for (const [key, t] of fast.stateDict().tensors) assert.equal(t.sub(sb.get(key)!).abs().max().item(), 0, `${name}, ${when}: ${key}`);
      };
      for (const step of grads) stepBoth(step);
      same('5 steps');
      // parameter 1 alone takes a step, so the group is at steps 6 and 5: updated one at a time, each at its own step
      stepBoth(grads[0].map((g, i) => (i === 1 ? g : null)));
      stepBoth(grads[1]);
      same('mixed steps');
      assert.deepEqual(fast.stateDict().meta.steps, [6, 7, 6, 6]);
    });
  }
});
