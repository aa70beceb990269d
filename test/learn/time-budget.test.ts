import test from 'node:test';
import assert from 'node:assert/strict';
import { type Learner, Recorder, TimeKeeper, measureSpeed, oneCycleSchedules, parseDuration, planFit } from '../../src/learn/index.js';
import { dispose, maxAbsDiff, memory, tidy } from '../../src/tensor/index.js';
import { blobLearner, mlp } from './fixtures.js';

/** A Learner's weights, flattened into one array. */
function weights(learn: ReturnType<typeof blobLearner>): number[] {
  return [...learn.model.stateDict().values()].flatMap((t) => Array.from(t.toArray() as Float32Array));
}

test('planFit: whole epochs with validation, then a partial epoch, within the budget less the margin and the final passes', () => {
  // 100 s budget, 10 s spent; 10 batches of 100 samples at 1000/s (0.1 s a batch, 1 s an epoch of training);
  // 500 validation samples at 1000/s (0.5 s); final: 2 passes (1 s) + 1 s saving; margin 3% (3 s).
  const base = { budgetSeconds: 100, elapsedSeconds: 10, batchesPerEpoch: 10, trainSamples: 1000, validSamples: 500, trainSamplesPerSecond: 1000, validSamplesPerSecond: 1000, finalPasses: 2 };
  const plan = planFit(base);
  // available = 97 - 10 - 2 = 85 s; an epoch is 1.5 s: 56 whole epochs (84 s), 1 s left: (1 - 0.5) / 0.1 = 5 batches.
  assert.equal(plan.epochSeconds, 1.5);
  assert.equal(plan.finalSeconds, 2);
  assert.equal(plan.iterations, 565);
  assert.equal(plan.epochs, 57);
  assert.equal(plan.fractionalEpochs, 56.5);
  assert.equal(plan.limitedBy, 'time');
  assert.ok(Math.abs(plan.expectedSeconds - (10 + 56.5 + 57 * 0.5 + 2)) < 1e-9, `expected end ${plan.expectedSeconds}`);
  assert.ok(plan.expectedSeconds <= 97);
  const capped = planFit({ ...base, maxEpochs: 20 });
  assert.deepEqual([capped.iterations, capped.epochs, capped.limitedBy], [200, 20, 'epochs']);
  const noValidation = planFit({ ...base, validSamples: 0, margin: 0 });
  // available = 100 - 10 - 1 = 89 s of 1 s epochs.
  assert.deepEqual([noValidation.iterations, noValidation.epochs], [890, 89]);
  const tight = planFit({ ...base, budgetSeconds: 14 });
  // available = 13.58 - 10 - 2 = 1.58: one epoch (1.5 s), 0.08 s left is less than a batch and a validation.
  assert.deepEqual([tight.iterations, tight.epochs], [10, 1]);
  assert.throws(() => planFit({ ...base, budgetSeconds: 12 }), /time budget of 12 s is too short: 10\.0 s went to loading and measuring/);
  assert.throws(() => planFit({ ...base, trainSamplesPerSecond: 0 }), /training speed must be positive/);
});

test('parseDuration reads 10m, 90s, 1h30m, 1.5h and plain seconds, and names bad input', () => {
  assert.deepEqual(['10m', '90s', '1h30m', '1.5h', '600', '5m30s', ' 2m '].map(parseDuration), [600, 90, 5400, 5400, 600, 330, 120]);
  for (const bad of ['', 'm', '10x', '1h30', '0', '0m', '-5m']) assert.throws(() => parseDuration(bad), /is not a (positive )?duration/, bad);
});

test('fit with `iterations` stops part-way through the last epoch, validates it, and the schedule spans exactly those iterations', async () => {
  const learn = blobLearner();
  const recorder = new Recorder();
  learn.addCallback(recorder);
  // 256 samples in batches of 32: 8 batches per epoch; 20 iterations = 2.5 epochs.
  const records = await learn.fitOneCycle(3, 0.1, { iterations: 20 });
  assert.equal(records.length, 3, 'three epochs recorded, the last one partial');
  assert.equal(learn.iteration, 20);
  assert.equal(recorder.lrs.length, 20);
  const { lr } = oneCycleSchedules(0.1);
  recorder.lrs.forEach((value, i) => assert.ok(Math.abs(value - lr(i / 20)) < 1e-12, `lr at iteration ${i}`));
  assert.ok(Number.isFinite(records[2].validLoss) && records[2].samplesPerSecond > 0, 'the partial epoch is validated and timed');
  await assert.rejects(learn.fit(2, 0.1, { iterations: 17 }), /iterations must be an integer in \[1, 16\]/);
});

test('measureSpeed times training and validation, then leaves no trace: the following fit equals a fit without it', async () => {
  const measured = blobLearner({}, mlp(3));
  const before = memory().liveTensors;
  const speed = await measureSpeed(measured, { warmupBatches: 1, minBatches: 3, minSeconds: 0, validBatches: 1 });
  assert.equal(memory().liveTensors, before, 'snapshot freed');
  assert.ok(speed.trainSamplesPerSecond > 0 && speed.validSamplesPerSecond > 0, JSON.stringify(speed));
  assert.equal(speed.trainBatches, 3);
  assert.equal(speed.validBatches, 1);
  assert.equal(measured.history.length, 0);
  assert.equal(measured.optimizer, undefined, 'no optimizer left behind');
  const plain = blobLearner({}, mlp(3));
  await measured.fitOneCycle(2, 0.05);
  await plain.fitOneCycle(2, 0.05);
  const [a, b] = [weights(measured), weights(plain)];
  assert.deepEqual(a, b, 'same weights after the same fit');
  assert.deepEqual(measured.history.map((r) => r.trainLoss), plain.history.map((r) => r.trainLoss));
  dispose([]);
  tidy(() => assert.equal(maxAbsDiff(measured.model.parameters()[0], plain.model.parameters()[0]), 0));
});

test('TimeKeeper shortens a time plan whose epochs run slower than its warm-up said, so the fit and its final passes end within the budget', async () => {
  // A fake clock: each training batch takes 0.1 s and each validation 0.5 s; the warm-up said 0.05 s a batch.
  // blobLearner: 8 training batches of 32, one validation pass of 128 samples.
  let now = 2;
  const clock = { name: 'FakeClock', order: 10, afterBatch: (l: Learner) => { if (l.training) now += 0.1; }, afterValidate: () => { now += 0.5; } };
  const planInput = { budgetSeconds: 20, elapsedSeconds: now, batchesPerEpoch: 8, trainSamples: 256, validSamples: 128, trainSamplesPerSecond: 32 / 0.05, validSamplesPerSecond: 256 };
  const plan = planFit(planInput);
  // available = 19.4 - 2 - 1.5 = 15.9 s of 0.9 s epochs: 17 epochs (15.3 s) and a partial 18th.
  assert.equal(plan.epochs, 18);
  const lines: string[] = [];
  const keeper = new TimeKeeper({ budgetSeconds: 20, finalSeconds: plan.finalSeconds, clock: () => now, onReplan: (line) => lines.push(line) });
  const recorder = new Recorder();
  const learn = blobLearner({ callbacks: [recorder] });
  await learn.fitOneCycle(plan.epochs, 0.1, { iterations: plan.iterations, callbacks: [clock, keeper] });
  // Real pace: 1.3 s an epoch, measured on epoch 2 (the first is left out). After it (now 4.6), available =
  // 19.4 - 4.6 - 1.5 = 13.3 s: 10 more epochs (13 s), 0.3 s left (< a batch + validation): 12 epochs, 96 iterations.
  assert.equal(keeper.changes.length, 1, `changes: ${JSON.stringify(keeper.changes)}`);
  assert.deepEqual([keeper.changes[0].epoch, keeper.changes[0].from, keeper.changes[0].to], [2, plan.iterations, 96]);
  assert.equal(learn.iteration, 96);
  assert.equal(learn.history.length, 12);
  assert.ok(now + plan.finalSeconds <= 20 * 0.97 + 1e-9, `ends at ${now + plan.finalSeconds}`);
  assert.ok(now + plan.finalSeconds > 20 * 0.97 - 1.3, 'uses the budget');
  assert.match(lines[0], /shortened from 17\.\d\d to 12\.00 epochs \(96 iterations\)/);
  // The one-cycle schedule spans the shortened fit: its last lr is the schedule's end, lrMax / 1e5 within one step.
  const lrs = recorder.lrs;
  assert.equal(lrs.length, 96);
  assert.ok(lrs.at(-1)! < 0.1 / 1e3, `last lr ${lrs.at(-1)}`);

  // A busy spell (epoch 2 three times slower) shortens the fit; when the pace comes back, iterations are given
  // back, never past the original plan, and the fit still ends within the budget.
  now = 2;
  const lines3: string[] = [];
  const elastic = new TimeKeeper({ budgetSeconds: 20, finalSeconds: plan.finalSeconds, clock: () => now, onReplan: (line) => lines3.push(line) });
  const spell = { name: 'FakeClock', order: 10, afterBatch: (l: Learner) => { if (l.training) now += l.epoch === 1 ? 0.3 : 0.05; }, afterValidate: () => { now += 0.5; } };
  const learn3 = blobLearner();
  await learn3.fitOneCycle(plan.epochs, 0.1, { iterations: plan.iterations, callbacks: [spell, elastic] });
  assert.ok(elastic.changes.length >= 2, `changes: ${JSON.stringify(elastic.changes)}`);
  assert.ok(elastic.changes[0].to < elastic.changes[0].from, 'shortened after the busy epoch');
  assert.ok(elastic.changes.some((c) => c.to > c.from), 'lengthened again');
  assert.ok(elastic.changes.every((c) => c.to <= plan.iterations));
  assert.match(lines3.find((l) => l.includes('lengthened'))!, /lengthened again from [\d.]+ to [\d.]+ epochs/);
  assert.ok(now + plan.finalSeconds <= 20 * 0.975 + 1e-9, `ends at ${now + plan.finalSeconds}`);
  assert.equal(learn3.iteration, elastic.changes.at(-1)!.to);

  // A pessimistic warm-up (it said 0.1 s a batch; they take 0.05): with maxIterations (a recipe's epoch cap, or
  // Infinity for a bare --time budget) the keeper lengthens the fit to fill the budget, never past the cap, and it
  // still ends within the budget.
  for (const cap of [160, 104, Infinity]) {
    now = 2;
    const slowPlan = planFit({ ...planInput, trainSamplesPerSecond: 32 / 0.1 });
    const lines4: string[] = [];
    const filler = new TimeKeeper({ budgetSeconds: 20, finalSeconds: slowPlan.finalSeconds, maxIterations: cap, clock: () => now, onReplan: (line) => lines4.push(line) });
    const quick = { name: 'FakeClock', order: 10, afterBatch: (l: Learner) => { if (l.training) now += 0.05; }, afterValidate: () => { now += 0.5; } };
    const learn4 = blobLearner();
    await learn4.fitOneCycle(slowPlan.epochs, 0.1, { iterations: slowPlan.iterations, callbacks: [quick, filler] });
    assert.ok(filler.changes.length >= 1 && filler.changes[0].to > slowPlan.iterations, `changes: ${JSON.stringify(filler.changes)}`);
    assert.match(lines4[0], /so the plan would end at \d+ s of the 20 s budget: lengthened from [\d.]+ to [\d.]+ epochs/);
    assert.ok(filler.changes.every((c) => c.to <= cap), `never past the cap ${cap}`);
    assert.ok(now + slowPlan.finalSeconds <= 20 * 0.97 + 1e-9, `ends at ${now + slowPlan.finalSeconds}`);
    if (cap === 104) assert.equal(learn4.iteration, 104, 'stops at the cap');
    else assert.ok(now + slowPlan.finalSeconds > 20 * 0.97 - 0.9 - 0.5, `uses the budget: ends at ${now + slowPlan.finalSeconds}, ${learn4.iteration} iterations, ${JSON.stringify(slowPlan)} ${JSON.stringify(filler.changes)}`);
  }

  // Without maxIterations a plan that holds (or a machine faster than the warm-up) is left alone: the keeper
  // never lengthens past the plan; a slow first epoch (here 20x the others: caches filling) does not count.
  now = 2;
  const steady = new TimeKeeper({ budgetSeconds: 20, finalSeconds: 1, clock: () => now });
  const fast = { name: 'FakeClock', order: 10, afterBatch: (l: Learner) => { if (l.training) now += l.epoch === 0 ? 0.2 : 0.01; }, afterValidate: () => { now += 0.05; } };
  const learn2 = blobLearner();
  await learn2.fit(5, 0.1, { iterations: 36, callbacks: [fast, steady] });
  assert.deepEqual([steady.changes.length, learn2.iteration], [0, 36]);
});
