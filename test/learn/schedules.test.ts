import test from 'node:test';
import assert from 'node:assert/strict';
import {
  ParamScheduler, Recorder, combineSchedules, combinedCosine, constant, cosine, exponential, linear, oneCycleSchedules, sgdrEpochs, sgdrSchedule,
} from '../../src/learn/index.js';
import { Adam, SGD } from '../../src/optim/index.js';
import { blobLearner } from './fixtures.js';

const close = (actual: number, expected: number, label = '', tol = 1e-12) =>
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${label}: ${actual} != ${expected}`);

test('schedules are pure functions of (start, end, pos), or curried without pos', () => {
  close(linear(2, 4, 0), 2); close(linear(2, 4, 0.25), 2.5); close(linear(2, 4, 1), 4);
  close(cosine(1, 0, 0), 1); close(cosine(1, 0, 0.5), 0.5); close(cosine(1, 0, 1), 0);
  close(cosine(0, 1, 0.25), (1 - Math.SQRT1_2) / 2);
  close(exponential(1e-7, 10, 0), 1e-7); close(exponential(1e-7, 10, 0.5), Math.sqrt(1e-6)); close(exponential(1e-7, 10, 1), 10);
  close(constant(3, 7, 0.9), 3);
  close(linear(2, 4)(0.5), 3); close(cosine(1, 0)(0.5), 0.5); close(constant(5)(0.1), 5);
  assert.throws(() => exponential(0, 1, 0.5), /schedules\.ts: exponential needs positive/);
});

test('combineSchedules chains pieces, each over its share of training', () => {
  const sched = combineSchedules([0.3, 0.7], [linear(0, 1), linear(1, 0)]);
  close(sched(0), 0); close(sched(0.15), 0.5); close(sched(0.3), 1); close(sched(0.65), 0.5); close(sched(1), 0);
  const three = combineSchedules([0.25, 0.25, 0.5], [constant(1), constant(2), linear(3, 4)]);
  assert.deepEqual([0, 0.2, 0.25, 0.49, 0.5, 0.75, 1].map(three), [1, 1, 2, 2, 3, 3.5, 4]);
  assert.throws(() => combineSchedules([0.5, 0.4], [constant(1), constant(2)]), /sum to 1/);
  assert.throws(() => combineSchedules([1], []), /as many shares as schedules/);
});

test('one-cycle schedules match hand-computed fastai values', () => {
  const { lr, mom } = oneCycleSchedules(0.01);
  // warm-up: cosine from 0.01/25 to 0.01 over 25%; then cosine to 0.01/1e4
  close(lr(0), 0.0004); close(lr(0.125), 0.0052); close(lr(0.25), 0.01);
  close(lr(0.625), 0.01 + (1e-6 - 0.01) / 2); close(lr(1), 1e-6);
  close(mom(0), 0.95); close(mom(0.125), 0.9); close(mom(0.25), 0.85); close(mom(0.625), 0.9); close(mom(1), 0.95);
  const custom = oneCycleSchedules(1, { divFactor: 10, finalDiv: 100, pctStart: 0.5, moms: [0.9, 0.8, 0.9] });
  close(custom.lr(0), 0.1); close(custom.lr(0.5), 1); close(custom.lr(1), 0.01); close(custom.mom(0.5), 0.8);
});

test('SGDR: cosine cycles of growing length restarting at lrMax', () => {
  assert.equal(sgdrEpochs(3, 1, 2), 7);
  assert.equal(sgdrEpochs(2, 2, 1), 4);
  const sched = sgdrSchedule(0.1, 3, 1, 2); // cycles of 1, 2 and 4 epochs out of 7
  close(sched(0), 0.1); close(sched(0.5 / 7), 0.05); close(sched(1 / 7), 0.1); close(sched(2 / 7), 0.05); close(sched(3 / 7), 0.1);
  close(sched(5 / 7), 0.05); close(sched(1), 0);
  const flat = combinedCosine(0.75, 0.01, 0.01, 0.01 / 1e5);
  close(flat(0.5), 0.01); close(flat(0.875), (0.01 + 1e-7) / 2);
});

test('fitOneCycle sets lr and momentum per batch: the recorded trace equals the schedule at iteration / total', async () => {
  const recorder = new Recorder();
  const learn = blobLearner({ callbacks: [recorder], optimizer: (params, lr) => new SGD(params, { lr, momentum: 0.9 }) });
  await learn.fitOneCycle(2, 0.05);
  const { lr, mom } = oneCycleSchedules(0.05);
  assert.equal(recorder.lrs.length, 16);
  recorder.lrs.forEach((v, i) => close(v, lr(i / 16), `lr at ${i}`));
  recorder.moms.forEach((v, i) => close(v, mom(i / 16), `momentum at ${i}`));
  close(recorder.lrs[4], 0.05, 'peak at 25%');
  assert.ok(!learn.callbacks.some((c) => c instanceof ParamScheduler), 'the scheduler is removed after the fit');
});

test('with Adam the momentum schedule drives betas[0]; fitFlatCos and fitSGDR follow their curves', async () => {
  const recorder = new Recorder();
  const learn = blobLearner({ callbacks: [recorder], optimizer: (params, lr) => new Adam(params, { lr }) });
  await learn.fitOneCycle(1, 0.01);
  const { mom } = oneCycleSchedules(0.01);
  recorder.moms.forEach((v, i) => close(v, mom(i / 8), `beta1 at ${i}`));
  close(learn.optimizer!.paramGroups[0].betas![1], 0.999, 'beta2 untouched');

  recorder.reset();
  await learn.fitFlatCos(2, 0.02);
  recorder.lrs.slice(0, 12).forEach((v) => close(v, 0.02));
  close(recorder.lrs[14], combinedCosine(0.75, 0.02, 0.02, 2e-7)(14 / 16));

  recorder.reset();
  const history = await learn.fitSGDR(2, 1, 2, { lrMax: 0.03 });
  assert.equal(history.length, 3);
  close(recorder.lrs[0], 0.03); close(recorder.lrs[8], 0.03, 'restart at epoch 2');
  close(recorder.lrs[4], cosine(0.03, 0, 0.5));
});
