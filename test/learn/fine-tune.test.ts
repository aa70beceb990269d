import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataLoader } from '../../src/data/index.js';
import {
  type Callback, Checkpoint, FINE_TUNE_STAGES, Learner, type LearnerOptions, Recorder, evenMults, loadCheckpoint, lrSlice, resolveLrs,
} from '../../src/learn/index.js';
import { BatchNorm1d, Dropout, Flatten, Linear, type Module, ReLU, Sequential } from '../../src/nn/index.js';
import { Adam, SGD } from '../../src/optim/index.js';
import { type Tensor, dispose, keep, manualSeed, maxAbsDiff, tidy } from '../../src/tensor/index.js';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { blobs } from './fixtures.js';

/** A small MLP with batch norm on 4 inputs, split into 3 groups like a body in two halves and a head. */
function bnMlp(seed = 0): Sequential {
  manualSeed(seed);
  return new Sequential(
    new Flatten(), new Linear(4, 8), new BatchNorm1d(8), new ReLU(),
    new Linear(8, 8), new BatchNorm1d(8), new ReLU(), new Dropout(0.2), new Linear(8, 2),
  );
}

const split = (m: Module) => {
  const s = m as Sequential;
  return [[...s[1].parameters(), ...s[2].parameters()], [...s[4].parameters(), ...s[5].parameters()], s[8].parameters()];
};

function learner(options: LearnerOptions = {}, seed = 0): Learner {
  const train = new DataLoader(blobs(64, 1), { batchSize: 16, shuffle: true, seed: 3 });
  const valid = new DataLoader(blobs(32, 2), { batchSize: 32 });
  return new Learner(bnMlp(seed), { train, valid }, {
    progress: false, splitter: split, optimizer: (params, lr) => new Adam(params, { lr }), ...options,
  });
}

const snapshot = (model: Module): Map<string, Tensor> => new Map([...model.stateDict()].map(([k, t]) => [k, keep(tidy(() => t.clone()))]));

function changed(model: Module, before: Map<string, Tensor>): Set<string> {
  const out = new Set<string>();
  for (const [name, t] of model.stateDict()) if (maxAbsDiff(t, before.get(name)!) !== 0) out.add(name);
  return out;
}

test('lrSlice and evenMults follow fastai: slice(1e-5, 1e-3) and slice(1e-3) over 3 groups', { skip: skipWithoutTorch() }, () => {
  const ref = runTorch(`
import numpy as np
def even_mults(start, stop, n):
    mult = stop/start
    step = mult**(1/(n-1))
    return np.array([start*(step**i) for i in range(n)])
out['a'] = torch.tensor(even_mults(1e-5, 1e-3, 3), dtype=torch.float64)
out['b'] = torch.tensor([1e-3/10]*2 + [1e-3], dtype=torch.float64)
out['c'] = torch.tensor(even_mults(3e-6, 2e-2, 5), dtype=torch.float64)
`);
  const a = resolveLrs(lrSlice(1e-5, 1e-3), 3);
  assert.deepEqual(a, Array.from(ref.a.toArray() as Float64Array));
  a.forEach((lr, i) => assert.ok(Math.abs(lr - [1e-5, 1e-4, 1e-3][i]) < 1e-18, `group ${i}: ${lr}`));
  assert.deepEqual(resolveLrs(lrSlice(1e-3), 3), Array.from(ref.b.toArray() as Float64Array));
  assert.deepEqual(resolveLrs(lrSlice(1e-3), 3), [1e-4, 1e-4, 1e-3]);
  const c = evenMults(3e-6, 2e-2, 5);
  (ref.c.toArray() as Float64Array).forEach((v, i) => assert.ok(Math.abs(c[i] - v) <= 1e-15 * v, `evenMults ${i}`));
  assert.deepEqual(resolveLrs(lrSlice(1e-5, 1e-3), 1), [1e-3]);
  assert.deepEqual(resolveLrs(0.1, 2), [0.1, 0.1]);
  assert.deepEqual(resolveLrs([0.3], 2), [0.3, 0.3]);
  assert.throws(() => resolveLrs([1, 2], 3), /got 2 learning rates for 3 parameter groups/);
  assert.throws(() => lrSlice(0, 1e-3), /needs a positive finite lo/);
  assert.throws(() => resolveLrs(-1, 2), /learning rate of group 0 must be a finite number >= 0/);
  dispose(ref);
});

test('freeze keeps batch-norm weights trainable and every other frozen tensor fixed; head trains', async () => {
  const learn = learner();
  assert.equal(learn.parameterGroups().length, 3);
  learn.freeze();
  assert.equal(learn.frozenIdx, 2);
  const before = snapshot(learn.model);
  const batch = learn.data.train[Symbol.asyncIterator]();
  const { value } = await batch.next();
  learn.step(value.x, value.y);
  dispose(value);
  await batch.return?.(undefined);
  // Batch norm (train_bn): weights, biases and running statistics change; the linear layers before the head do not.
  assert.deepEqual([...changed(learn.model, before)].sort(), [
    '2.bias', '2.num_batches_tracked', '2.running_mean', '2.running_var', '2.weight',
    '5.bias', '5.num_batches_tracked', '5.running_mean', '5.running_var', '5.weight',
    '8.bias', '8.weight',
  ]);
  assert.equal(learn.model.numParameters(true), 2 * 8 * 2 + 8 * 2 + 2);
  dispose([...before.values()]);
});

test('freezeTo(n), unfreeze, trainBn false (batch norm fully frozen, eval-mode statistics); freezeTo clears optimizer state', async () => {
  const learn = learner({ trainBn: false });
  const stepOnce = async () => {
    const it = learn.data.train[Symbol.asyncIterator]();
    const { value } = await it.next();
    learn.step(value.x, value.y);
    dispose(value);
    await it.return?.(undefined);
  };
  learn.freezeTo(1);
  let before = snapshot(learn.model);
  await stepOnce();
  assert.deepEqual([...changed(learn.model, before)].sort(), [
    '4.bias', '4.weight', '5.bias', '5.num_batches_tracked', '5.running_mean', '5.running_var', '5.weight', '8.bias', '8.weight',
  ]);
  dispose([...before.values()]);
  assert.ok(learn.optimizer!.stateDict().meta.steps.some((s) => s !== null));
  learn.freezeTo(-1);
  assert.equal(learn.frozenIdx, 2);
  assert.ok(learn.optimizer!.stateDict().meta.steps.every((s) => s === null), 'freezeTo clears the optimizer state');
  before = snapshot(learn.model);
  await stepOnce();
  assert.deepEqual([...changed(learn.model, before)].sort(), ['8.bias', '8.weight'], 'frozen batch norm keeps its statistics too');
  dispose([...before.values()]);
  learn.unfreeze();
  assert.equal(learn.frozenIdx, 0);
  before = snapshot(learn.model);
  await stepOnce();
  assert.equal(changed(learn.model, before).size, learn.model.stateDict().size);
  dispose([...before.values()]);
  assert.throws(() => learn.freezeTo(4), /freezeTo: n must be an integer in \[-3, 3\] for 3 parameter group\(s\), got 4/);
  assert.throws(() => learner({ splitter: (m) => [(m as Sequential)[1].parameters()] }).createOptimizer(), /left 8 parameter\(s\) out of every group .*: 2\.weight/);
});

test('fit takes per-group lrs: a number, an array, lrSlice; the optimizer gets one group per splitter group', async () => {
  const learn = learner({ optimizer: (params, lr) => new SGD(params, { lr }) });
  const recorder = new Recorder();
  await learn.fit(1, lrSlice(1e-2), { callbacks: [recorder] });
  assert.deepEqual(learn.optimizer!.paramGroups.map((g) => g.lr), [1e-3, 1e-3, 1e-2]);
  assert.deepEqual(recorder.groupLrs[0], [1e-3, 1e-3, 1e-2]);
  assert.equal(recorder.lrs[0], 1e-2, 'Recorder.lrs follows the last group (the head)');
  assert.equal(learn.history[0].lr, 1e-2);
  learn.setLr([1, 2, 3]);
  assert.deepEqual(learn.optimizer!.paramGroups.map((g) => g.lr), [1, 2, 3]);
  await assert.rejects(learn.fitOneCycle(1, [1, 2]), /got 2 learning rates for 3 parameter groups/);
});

test('lrFind sweeps every group between its own start and end lr (per-group specs); result lrs are the head\'s', async () => {
  const learn = learner({ optimizer: (params, lr) => new SGD(params, { lr }) });
  const seen: number[][] = [];
  const probe: Callback = { afterBatch: (l) => { if (l.training) seen.push(l.optimizer!.paramGroups.map((g) => g.lr)); } };
  learn.addCallback(probe);
  const result = await learn.lrFind({ startLr: lrSlice(1e-6, 1e-4), endLr: [1e-2, 1e-1, 1], numIt: 8, stopDiv: false });
  assert.equal(seen.length, 8);
  const starts = [1e-6, 1e-5, 1e-4];
  const ends = [1e-2, 1e-1, 1];
  seen.forEach((lrs, i) => lrs.forEach((lr, g) => {
    const want = starts[g] * (ends[g] / starts[g]) ** (i / 8);
    assert.ok(Math.abs(lr - want) <= 1e-12 * want, `iteration ${i} group ${g}: ${lr} vs ${want}`);
  }));
  assert.deepEqual(result.lrs, seen.map((lrs) => lrs[2]));
  await assert.rejects(learn.lrFind({ startLr: [1e-3, 1e-3, 1e-3], endLr: [1e-2, 1e-4, 1e-1] }), /need 0 < startLr < endLr in group 1, got 0\.001 and 0\.0001/);
});

// fastai's code for these (fastai/callback/schedule.py, fastai/torch_core.py), run as written:
// combine_scheds keeps its positions in a float32 tensor, so its values differ from Kestrel's
// float64 positions in the 7th digit.
const FASTAI_SCHEDULE = `
import math, numpy as np
def even_mults(start, stop, n):
    mult = stop/start
    step = mult**(1/(n-1))
    return np.array([start*(step**i) for i in range(n)])
def sched_cos(start, end, pos): return start + (1 + math.cos(math.pi*(1-pos))) * (end-start) / 2
def combine_scheds(pcts, scheds):
    pcts = torch.tensor([0] + list(pcts))
    pcts = torch.cumsum(pcts, 0)
    pct_lim = len(pcts) - 2
    def _inner(pos):
        idx = min((pos >= pcts).nonzero().max(), pct_lim)
        actual_pos = (pos-pcts[idx]) / (pcts[idx+1]-pcts[idx])
        return scheds[idx](actual_pos.item())
    return _inner
def combined_cos(pct, start, middle, end):
    return combine_scheds([pct,1-pct], [lambda p: sched_cos(start, middle, p), lambda p: sched_cos(middle, end, p)])
def set_hyper_slice(start, stop, n):
    return even_mults(start, stop, n) if start else np.array([stop/10]*(n-1) + [stop])
def fit_one_cycle(n_iter, lr_max, div=25., div_final=1e5, pct_start=0.25, moms=(0.95,0.85,0.95)):
    lr = combined_cos(pct_start, lr_max/div, lr_max, lr_max/div_final)
    mom = combined_cos(pct_start, *moms)
    return [lr(i / n_iter) for i in range(n_iter)], [mom(i / n_iter) for i in range(n_iter)]
n = 4
base_lr = 3e-3
lr1, mom1 = fit_one_cycle(1 * n, set_hyper_slice(None, base_lr, 3), pct_start=0.99)
base_lr /= 2
lr2, mom2 = fit_one_cycle(3 * n, set_hyper_slice(base_lr/100, base_lr, 3), pct_start=0.3, div=5.0)
out['lrs'] = torch.tensor(np.stack(lr1 + lr2), dtype=torch.float64)
out['moms'] = torch.tensor(mom1 + mom2, dtype=torch.float64)
`;

test("fineTune's recorded per-group lrs and momentum match fastai's fine_tune; body frozen in stage 1 only", { skip: skipWithoutTorch() }, async () => {
  const ref = runTorch(FASTAI_SCHEDULE);
  const recorder = new Recorder();
  const frozenSeen: boolean[] = [];
  const probe: Callback = { afterBatch: (l) => { if (l.training) frozenSeen.push(!(l.model as Sequential)[1].parameters()[0].requiresGrad); } };
  const learn = learner({ callbacks: [recorder, probe] });
  const records = await learn.fineTune(3, 3e-3);
  assert.equal(records.length, 4);
  assert.equal(learn.stage, undefined);
  assert.deepEqual(frozenSeen, [true, true, true, true, ...new Array<boolean>(12).fill(false)]);
  const expected = ref.lrs.toArray() as Float64Array;
  const moms = ref.moms.toArray() as Float64Array;
  assert.equal(recorder.groupLrs.length, 16);
  for (const i of [0, 1, 3, 4, 5, 7, 10, 15]) {
    for (let g = 0; g < 3; g++) {
      const want = expected[i * 3 + g];
      assert.ok(Math.abs(recorder.groupLrs[i][g] - want) <= 1e-6 * want, `iteration ${i} group ${g}: ${recorder.groupLrs[i][g]} vs fastai ${want}`);
    }
    assert.ok(Math.abs(recorder.moms[i] - moms[i]) <= 1e-6, `iteration ${i} momentum`);
  }
  // the unfrozen stage starts at base_lr / 2 / 5 for the head, 100x less for the first group
  assert.ok(Math.abs(recorder.groupLrs[4][2] - 1.5e-3 / 5) < 1e-15);
  assert.ok(Math.abs(recorder.groupLrs[4][0] - 1.5e-5 / 5) < 1e-17);
  assert.equal(learn.frozenIdx, 0);
  dispose(ref);
});

/** Crashes (a plain Error) after the given epoch of the given fineTune stage, once its checkpoint is written. */
function crashAfter(stage: string, epoch: number): Callback {
  return { name: 'Crash', order: 90, afterEpoch: (l) => { if (l.stage === stage && l.epoch === epoch) throw new Error('crash'); } };
}

for (const [stage, epoch] of [[FINE_TUNE_STAGES.frozen, 0], [FINE_TUNE_STAGES.unfrozen, 0]] as const) {
  test(`resume: fineTune interrupted after epoch ${epoch + 1} of stage '${stage}' and resumed equals the uninterrupted run`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kestrel-ft-'));
    try {
      manualSeed(5);
      const straight = learner();
      await straight.fineTune(2, 3e-3, { freezeEpochs: 2 });
      const expected = snapshot(straight.model);

      manualSeed(5);
      const first = learner({ callbacks: [new Checkpoint(dir), crashAfter(stage, epoch)] });
      await assert.rejects(first.fineTune(2, 3e-3, { freezeEpochs: 2 }), /crash/);

      manualSeed(99);
      const resumed = learner({}, 1);
      const info = loadCheckpoint(resumed, dir);
      assert.equal(info.stage, stage);
      assert.equal(info.frozenIdx, stage === FINE_TUNE_STAGES.frozen ? 2 : 0);
      assert.equal(resumed.frozenIdx, info.frozenIdx);
      await resumed.fineTune(2, 3e-3, { freezeEpochs: 2, resume: info });
      for (const [name, t] of resumed.model.stateDict()) assert.equal(maxAbsDiff(t, expected.get(name)!), 0, name);
      assert.deepEqual(resumed.history.map((r) => r.trainLoss), straight.history.map((r) => r.trainLoss));
      dispose([...expected.values()]);
      await assert.rejects(resumed.fineTune(1, 1e-3, { resume: { stage: null, epoch: 1 } }), /was not saved during fineTune/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
