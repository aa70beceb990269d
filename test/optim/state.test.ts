import test from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, dispose, memory, tidy, zeros } from '../../src/tensor/index.js';
import { Linear, type Sequential } from '../../src/nn/index.js';
import { Adam, AdamW, type Optimizer, type OptimizerStateDict, SGD } from '../../src/optim/index.js';
import { type Fixture, disposeFixture, makeFixture, makeModel, train } from './fixture.js';

type Build = (model: Sequential) => Optimizer;

const builders: [string, Build][] = [
  ['SGD nesterov + wd', (m) => new SGD(m.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
  ['SGD dampening', (m) => new SGD(m.parameters(), { lr: 0.05, momentum: 0.7, dampening: 0.2 })],
  ['Adam amsgrad + wd', (m) => new Adam(m.parameters(), { lr: 0.01, weightDecay: 0.01, amsgrad: true })],
  ['AdamW groups', (m) => {
    const [w0, b0, w1, b1] = m.parameters();
    return new AdamW([{ params: [w0, w1] }, { params: [b0, b1], weightDecay: 0, lr: 0.02 }], { lr: 0.01 });
  }],
];

/** Exact equality of every parameter (bit-identical floats). */
function assertSameParams(a: Sequential, b: Sequential, label: string): void {
  const pb = b.parameters();
  a.parameters().forEach((p, i) => assert.deepEqual(p.toArray(), pb[i].toArray(), `${label}: parameter ${i} differs`));
}

/** Copies a state dict's tensors so the original optimizer can be freed first; meta goes through JSON. */
function throughJson(state: OptimizerStateDict): OptimizerStateDict {
  return { tensors: state.tensors, meta: JSON.parse(JSON.stringify(state.meta)) as OptimizerStateDict['meta'] };
}

for (const [label, build] of builders) {
  test(`${label}: save after 4 steps, load into a fresh optimizer, 5 more == 9 uninterrupted (bit-exact)`, () => {
    const fixture = makeFixture();
    const before = memory().liveTensors;
    const straight = makeModel(fixture);
    const straightOpt = build(straight);
    // Hyper-parameters changed mid-run (as a scheduler would) must be restored too.
    const schedule = (opt: Optimizer, i: number) => { opt.paramGroups[0].lr *= i === 2 ? 0.5 : 1; };
    train(straight, straightOpt, fixture, 9, schedule);

    const resumed = makeModel(fixture);
    const first = build(resumed);
    train(resumed, first, fixture, 4, schedule);
    const saved = throughJson(first.stateDict());
    first.dispose();
    const second = build(resumed);
    second.paramGroups[0].lr = 123; // overwritten by the load
    second.loadStateDict(saved);
    dispose([...saved.tensors.values()]);
    assert.equal(second.paramGroups[0].lr, straightOpt.paramGroups[0].lr);
    train(resumed, second, fixture, 5, (opt, i) => schedule(opt, i + 4));
    assertSameParams(resumed, straight, label);

    for (const opt of [straightOpt, second]) opt.dispose();
    straight.dispose(); resumed.dispose();
    assert.equal(memory().liveTensors, before, 'tensors leaked');
    disposeFixture(fixture);
  });
}

test('stateDict: PyTorch names, step counts in meta and as float32 scalars, snapshot copies', () => {
  const fixture = makeFixture();
  const model = makeModel(fixture);
  model.freeze('2.bias');
  const opt = new Adam(model.parameters(), { amsgrad: true });
  train(model, opt, fixture, 3);
  const state = opt.stateDict();
  assert.deepEqual([...state.tensors.keys()].sort(), [0, 1, 2].flatMap((i) => ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'step'].map((n) => `state.${i}.${n}`)).sort());
  assert.deepEqual(state.meta.steps, [3, 3, 3, null]);
  assert.equal(state.meta.type, 'Adam');
  assert.deepEqual(state.meta.groups, [{ params: [0, 1, 2, 3], lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true }]);
  const step = state.tensors.get('state.1.step')!;
  assert.equal(step.dtype, 'float32');
  assert.equal(step.item(), 3);
  // A snapshot: further training does not change it.
  const expAvg = Array.from(state.tensors.get('state.0.exp_avg')!.toArray() as Float32Array);
  train(model, opt, fixture, 1);
  assert.deepEqual(Array.from(state.tensors.get('state.0.exp_avg')!.toArray() as Float32Array), expAvg);
  dispose([...state.tensors.values()]);
  opt.dispose(); model.dispose(); disposeFixture(fixture);
});

test('stateDict is tracked by tidy like any new tensor', () => {
  const fixture = makeFixture();
  const model = makeModel(fixture);
  const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  train(model, opt, fixture, 1);
  const before = memory().liveTensors;
  tidy(() => { opt.stateDict(); });
  assert.equal(memory().liveTensors, before);
  opt.dispose(); model.dispose(); disposeFixture(fixture);
});

function withTrained(fn: (fixture: Fixture, model: Sequential, saved: OptimizerStateDict) => void): void {
  const fixture = makeFixture();
  const model = makeModel(fixture);
  const opt = new Adam(model.parameters(), { lr: 0.01, amsgrad: true });
  train(model, opt, fixture, 2);
  const saved = opt.stateDict();
  try {
    fn(fixture, model, saved);
  } finally {
    dispose([...saved.tensors.values()]);
    opt.dispose(); model.dispose(); disposeFixture(fixture);
  }
}

test('loadStateDict rejects another optimizer type, group or parameter count', () => {
  withTrained((_fixture, model, saved) => {
    const params = model.parameters();
    const sgd = new SGD(params, { lr: 0.1 });
    assert.throws(() => sgd.loadStateDict(saved), /SGD\.loadStateDict: the state was saved by a Adam optimizer, not SGD/);
    const adamW = new AdamW(params);
    assert.throws(() => adamW.loadStateDict(saved), /not AdamW/);
    const fewer = new Adam(params.slice(0, 3));
    assert.throws(() => fewer.loadStateDict(saved), /parameter group 0 has 4 parameters in the state, 3 in the optimizer/);
    const twoGroups = new Adam([{ params: params.slice(0, 2) }, { params: params.slice(2) }]);
    assert.throws(() => twoGroups.loadStateDict(saved), /the state has 1 parameter groups, the optimizer has 2/);
    for (const opt of [sgd, adamW, fewer, twoGroups]) opt.dispose();
  });
});

test('loadStateDict rejects shape mismatches, unknown or missing tensors, and changes nothing on failure', () => {
  withTrained((fixture, model, saved) => {
    const other = [new Linear(4, 6), new Linear(3, 6)];
    const wrongShapes = new Adam(other.flatMap((l) => l.parameters()));
    assert.throws(() => wrongShapes.loadStateDict(saved), /shape mismatch for state\.2\.exp_avg: parameter 2 is \[6, 3\], state is \[3, 6\]/);

    const opt = new Adam(model.parameters(), { lr: 0.5 });
    const extra = new Map(saved.tensors);
    const stray = zeros([6, 4]);
    extra.set('state.0.momentum_buffer', stray);
    assert.throws(() => opt.loadStateDict({ tensors: extra, meta: saved.meta }), /unexpected tensor state\.0\.momentum_buffer; Adam keeps exp_avg, exp_avg_sq, max_exp_avg_sq/);
    extra.delete('state.0.momentum_buffer');
    extra.set('state.9.exp_avg', stray);
    assert.throws(() => opt.loadStateDict({ tensors: extra, meta: saved.meta }), /unexpected tensor state\.9\.exp_avg/);
    const missing = new Map(saved.tensors);
    missing.delete('state.1.max_exp_avg_sq');
    assert.throws(() => opt.loadStateDict({ tensors: missing, meta: saved.meta }), /state of parameter 1 lacks max_exp_avg_sq/);
    const badStep = { ...saved.meta, steps: [2, 7, 2, 2] };
    assert.throws(() => opt.loadStateDict({ tensors: saved.tensors, meta: badStep }), /parameter 1 has step 7 in meta but 2 in its step tensor/);
    const badLr = { ...saved.meta, groups: [{ ...saved.meta.groups[0], lr: -1 }] };
    assert.throws(() => opt.loadStateDict({ tensors: saved.tensors, meta: badLr }), /Adam\.loadStateDict: parameter group 0: invalid learning rate -1/);
    // Nothing was changed by the failed loads.
    assert.equal(opt.paramGroups[0].lr, 0.5);
    assert.equal(opt.stateDict().tensors.size, 0);
    stray.dispose();
    wrongShapes.dispose(); opt.dispose();
    for (const l of other) l.dispose();
    void fixture;
  });
});

test('loadStateDict accepts a plain record of tensors and step counts only in the step tensors', () => {
  withTrained((fixture, model, saved) => {
    const record: Record<string, Tensor> = Object.fromEntries(saved.tensors);
    const meta = { ...saved.meta, steps: [] };
    const opt = new Adam(model.parameters());
    opt.loadStateDict({ tensors: record, meta });
    assert.deepEqual(tidy(() => opt.stateDict().meta.steps), [2, 2, 2, 2]);
    opt.dispose();
    void fixture;
  });
});
