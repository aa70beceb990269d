import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CSVLogger, EarlyStopping, type Learner, NonFiniteLossError, Recorder, ReduceLROnPlateau, SaveModel, TerminateOnNaN, accuracy,
} from '../../src/learn/index.js';
import { crossEntropy } from '../../src/nn/index.js';
import { loadSafetensors, maxAbsDiff, memory } from '../../src/tensor/index.js';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { blobLearner, scripted } from './fixtures.js';

/** lr of the first group after each epoch's callbacks have run. */
function lrTrace(learn: Learner): number[] {
  const lrs: number[] = [];
  learn.addCallback({ name: 'LrTrace', order: 1000, afterEpoch: (l) => { lrs.push(l.optimizer!.paramGroups[0].lr); } });
  return lrs;
}

test('EarlyStopping stops after `patience` epochs without improvement (scripted sequences)', async () => {
  const run = async (values: number[], options: ConstructorParameters<typeof EarlyStopping>[0], higherIsBetter = false) => {
    const stopper = new EarlyStopping(options);
    const learn = blobLearner({ metrics: [scripted('score', values, higherIsBetter)], callbacks: [stopper] });
    const history = await learn.fit(values.length, 0.1);
    return { epochs: history.length, stopped: stopper.stoppedEpoch, best: stopper.tracker.best };
  };
  const losses = [1.0, 0.8, 0.85, 0.79, 0.8, 0.81, 0.5];
  assert.deepEqual(await run(losses, { monitor: 'score', patience: 2 }), { epochs: 6, stopped: 6, best: 0.79 });
  assert.deepEqual(await run(losses, { monitor: 'score', patience: 2, minDelta: 0.02 }), { epochs: 4, stopped: 4, best: 0.8 });
  assert.deepEqual(await run(losses, { monitor: 'score', patience: 0 }), { epochs: 3, stopped: 3, best: 0.8 });
  assert.deepEqual(await run(losses, { monitor: 'score', patience: 10 }), { epochs: 7, stopped: undefined, best: 0.5 });
  // 'auto' takes the direction from the metric (higher is better here)
  assert.deepEqual(await run([0.5, 0.6, 0.6, 0.59, 0.7], { monitor: 'score', patience: 2 }, true), { epochs: 4, stopped: 4, best: 0.6 });
  assert.deepEqual(await run([0.5, 0.6, 0.6, 0.59, 0.7], { monitor: 'score', patience: 2, mode: 'min' }, true), { epochs: 3, stopped: 3, best: 0.5 });
});

test('EarlyStopping on a real validLoss and a bad monitor name', async () => {
  const learn = blobLearner({ callbacks: [new EarlyStopping({ monitor: 'nope' })] });
  await assert.rejects(learn.fit(2, 0.1), /EarlyStopping: cannot monitor 'nope': epoch records have trainLoss, validLoss, accuracy/);
  assert.throws(() => new EarlyStopping({ patience: -1 }), /patience must be an integer >= 0/);
});

test('ReduceLROnPlateau reduces at the exact epochs of a scripted plateau (patience, cooldown, minLr)', async () => {
  const values = [10, 9, 9, 9, 9, 8, 8, 8, 8, 8, 8, 8, 8, 8];
  const plateau = new ReduceLROnPlateau({ monitor: 'score', factor: 0.5, patience: 2, cooldown: 1, minLr: 0.2 });
  const learn = blobLearner({ metrics: [scripted('score', values)], callbacks: [plateau] });
  const lrs = lrTrace(learn);
  await learn.fit(values.length, 1);
  assert.deepEqual(plateau.reductions, [5, 9, 13]);
  assert.deepEqual(lrs, [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2]);
  assert.equal(learn.history[5].lr, 0.5, 'epoch 6 trained at the reduced lr');
});

test('ReduceLROnPlateau matches torch.optim.lr_scheduler.ReduceLROnPlateau step for step', { skip: skipWithoutTorch() }, async () => {
  const cases = [
    { values: [1, 0.99995, 0.9, 0.9, 0.95, 0.91, 0.92, 0.899, 0.9, 0.9, 0.9, 0.8, 0.85, 0.86, 0.87, 0.88], options: { patience: 1, factor: 0.3 } },
    { values: [0.1, 0.2, 0.2, 0.21, 0.2, 0.19, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3], options: { mode: 'max' as const, patience: 1, cooldown: 2, factor: 0.5, thresholdMode: 'abs' as const, threshold: 0.005 } },
  ];
  const torchOptions = (o: Record<string, unknown>) => Object.entries(o).map(([k, v]) => `${({ thresholdMode: 'threshold_mode', minLr: 'min_lr' } as Record<string, string>)[k] ?? k}=${typeof v === 'string' ? `'${v}'` : v}`).join(', ');
  const script = cases.map((c, i) => `
p = torch.nn.Parameter(torch.zeros(1)); opt = torch.optim.SGD([p], lr=1.0)
s = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, ${torchOptions(c.options)})
trace = []
for v in ${JSON.stringify(c.values)}:
    s.step(v); trace.append(opt.param_groups[0]['lr'])
out['case${i}'] = torch.tensor(trace, dtype=torch.float64)`).join('\n');
  const expected = runTorch(script);
  for (const [i, c] of cases.entries()) {
    const learn = blobLearner({ metrics: [scripted('score', c.values, c.options.mode === 'max')], callbacks: [new ReduceLROnPlateau({ monitor: 'score', ...c.options })] });
    const lrs = lrTrace(learn);
    await learn.fit(c.values.length, 1);
    const want = Array.from(expected[`case${i}`].toArray() as Float64Array);
    assert.deepEqual(lrs.map((v) => +v.toPrecision(12)), want.map((v) => +v.toPrecision(12)), `case ${i}`);
    expected[`case${i}`].dispose();
  }
});

test('TerminateOnNaN ends fit cleanly, naming epoch and batch, before the bad step', async () => {
  let calls = 0;
  const out: string[] = [];
  const terminate = new TerminateOnNaN({ write: (t: string) => out.push(t) });
  const learn = blobLearner({
    callbacks: [terminate],
    lossFn: (pred, target) => {
      calls++;
      const loss = crossEntropy(pred, target);
      return calls === 8 + 2 + 3 ? loss.mul(NaN) : loss; // batch 3 of epoch 2 (8 train + 2 valid batches per epoch)
    },
  });
  const history = await learn.fit(3, 0.1);
  assert.equal(history.length, 1);
  assert.deepEqual(terminate.stoppedAt, { epoch: 2, batch: 3, value: NaN });
  assert.deepEqual(out, ['TerminateOnNaN: loss is NaN at epoch 2, batch 3: training terminated\n']);
  for (const p of learn.model.parameters()) assert.ok(Number.isFinite(p.sum().item()), 'no NaN step was taken');
  // without the callback the Learner rejects with NonFiniteLossError instead
  calls = 0;
  const plain = blobLearner({ lossFn: (pred, target) => (++calls === 2 ? crossEntropy(pred, target).div(0) : crossEntropy(pred, target)) });
  await assert.rejects(plain.fit(1, 0.1), (e: unknown) => e instanceof NonFiniteLossError && e.batch === 2);
});

test('Recorder keeps loss, lr and momentum per batch, and epoch records', async () => {
  const recorder = new Recorder();
  const learn = blobLearner({ callbacks: [recorder] });
  await learn.fit(2, 0.1);
  assert.equal(recorder.losses.length, 16);
  assert.deepEqual(recorder.iterations, Array.from({ length: 16 }, (_, i) => i));
  assert.ok(recorder.lrs.every((v) => v === 0.1));
  assert.ok(recorder.moms.every((v) => v === 0), 'plain SGD has momentum 0');
  let smooth = 0;
  recorder.losses.forEach((loss, i) => {
    smooth = 0.98 * smooth + 0.02 * loss;
    assert.ok(Math.abs(recorder.smoothLosses[i] - smooth / (1 - 0.98 ** (i + 1))) < 1e-12);
  });
  assert.equal(recorder.smoothLosses[0], recorder.losses[0], 'debiased: the first value is the first loss');
  assert.deepEqual(recorder.epochs, learn.history);
  const mean = recorder.losses.slice(8).reduce((a, b) => a + b, 0) / 8;
  assert.ok(Math.abs(mean - learn.history[1].trainLoss) < 1e-9, 'equal batches: epoch loss is the mean batch loss');
});

test("CSVLogger quotes a metric name holding a comma and reads its own file back when appending", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-cb-'));
  try {
    const csv = join(dir, 'log.csv');
    const learn = blobLearner({ metrics: [scripted('f1, "macro"', [0.5, 0.6, 0.7])], callbacks: [new CSVLogger(csv)] });
    await learn.fit(1, 0.1);
    const again = blobLearner({ metrics: [scripted('f1, "macro"', [0.6, 0.7])], callbacks: [new CSVLogger(csv, { append: true })] });
    await again.fit(2, 0.1);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'epoch,trainLoss,validLoss,"f1, ""macro""",lr,seconds');
    assert.deepEqual(lines.slice(1).map((l) => l.split(',')).map((cells) => [Number(cells[0]), Number(cells[3])]), [[1, 0.5], [1, 0.6], [2, 0.7]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CSVLogger writes one row per epoch; SaveModel saves every N epochs and the best, atomically', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-cb-'));
  try {
    const csv = join(dir, 'log.csv');
    const saver = new SaveModel({ dir: join(dir, 'models'), everyNEpochs: 2, monitor: 'score', loadBestAtEnd: true });
    const learn = blobLearner({ metrics: [accuracy(), scripted('score', [0.5, 0.3, 0.4, 0.35])], callbacks: [new CSVLogger(csv), saver] });
    const before = memory().liveTensors;
    await learn.fit(4, 0.1);
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'epoch,trainLoss,validLoss,accuracy,score,lr,seconds');
    assert.equal(lines.length, 5);
    const row = lines[2].split(',').map(Number);
    const record = learn.history[1];
    assert.deepEqual(row.slice(0, 6), [2, record.trainLoss, record.validLoss, record.metrics.accuracy, 0.3, 0.1]);
    assert.deepEqual(saver.written.map((p) => p.slice(dir.length + 8)), ['model-best.safetensors', 'model-epoch-002.safetensors', 'model-best.safetensors', 'model-epoch-004.safetensors']);
    assert.equal(saver.bestEpoch, 2);
    const info = JSON.parse(readFileSync(join(dir, 'models', 'model-best.json'), 'utf8')) as { epoch: number; value: number };
    assert.deepEqual([info.epoch, info.value], [2, 0.3]);
    // loadBestAtEnd restored epoch 2's weights, which equal the every-2-epochs file of epoch 2
    const { tensors } = loadSafetensors(saver.epochPath(2));
    for (const [name, t] of learn.model.stateDict()) assert.equal(maxAbsDiff(t, tensors.get(name)!), 0, name);
    for (const t of tensors.values()) t.dispose();
    assert.ok(!existsSync(saver.epochPath(3)));
    assert.equal(memory().liveTensors, before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
