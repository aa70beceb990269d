import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataLoader, TensorDataset } from '../../src/data/index.js';
import {
  type Callback, CancelFitError, Checkpoint, GradientClipping, Inference, Learner, MixUp, loadCheckpoint, resolvePrecision, tta,
} from '../../src/learn/index.js';
import { BatchNorm2d, Conv2d, Flatten, Linear, Module, ReLU, Sequential, foldBatchNorm } from '../../src/nn/index.js';
import { Adam } from '../../src/optim/index.js';
import {
  type Bf16Support, type Tensor, bf16Support, dispose, isAutocastEnabled, manualSeed, maxAbsDiff, op, randn, tidy,
} from '../../src/tensor/index.js';

const skip = bf16Support().available ? undefined : `bfloat16 unsupported here: ${bf16Support().reason}`;
const supported: Bf16Support = { available: true, reason: 'the CPU has avx512_bf16 and libtorch has oneDNN bfloat16 kernels', cpuFeatures: ['avx512_bf16'], mkldnn: true, kernels: true };
const unsupported: Bf16Support = { available: false, reason: 'the CPU has no native bfloat16 instructions', cpuFeatures: [], mkldnn: true, kernels: null };

test('resolvePrecision: auto picks bf16 where supported and falls back to fp32 saying why; explicit bf16/fp16 are checked', () => {
  assert.deepEqual(resolvePrecision('auto', 'cpu', () => supported), { precision: 'bf16', device: 'cpu', reason: supported.reason });
  const fallback = resolvePrecision('auto', 'cpu', () => unsupported);
  assert.equal(fallback.precision, 'fp32');
  assert.match(fallback.reason, /^falling back to float32: the CPU has no native bfloat16 instructions/);
  assert.equal(resolvePrecision('bf16', 'cpu', () => supported).precision, 'bf16');
  assert.throws(() => resolvePrecision('bf16', 'cpu', () => unsupported), /precision 'bf16' is not supported here: the CPU has no native bfloat16 instructions; use 'fp32' or 'auto'/);
  assert.throws(() => resolvePrecision('fp16', 'cpu', () => supported), /precision 'fp16' needs a CUDA device/);
  assert.equal(resolvePrecision('fp32', 'cpu', () => { throw new Error('not asked'); }).precision, 'fp32');
  assert.deepEqual(resolvePrecision('auto', 'cuda:0', () => unsupported).precision, 'fp16');
  assert.deepEqual(resolvePrecision('bf16', 'cuda', () => unsupported).precision, 'bf16');
  assert.throws(() => resolvePrecision('bf32' as 'bf16'), /precision must be one of auto, fp32, bf16, fp16; got 'bf32'/);
});

test('Learner: precision bf16 where unsupported is a clear error; auto falls back to fp32 and says so', () => {
  const previous = process.env.KESTREL_BF16;
  process.env.KESTREL_BF16 = '0';
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => { lines.push(args.join(' ')); };
  try {
    const data = { train: new DataLoader(images(8, 1), { batchSize: 4 }) };
    assert.throws(() => new Learner(cnn(), data, { precision: 'bf16', progress: false }), /precision 'bf16' is not supported here: bfloat16 is turned off by KESTREL_BF16=0/);
    const learn = new Learner(cnn(), data, { precision: 'auto', progress: 'lines' });
    assert.equal(learn.amp.precision, 'fp32');
    assert.deepEqual(lines, ['kestrel: precision fp32 (auto: falling back to float32: bfloat16 is turned off by KESTREL_BF16=0)']);
  } finally {
    console.log = log;
    if (previous === undefined) delete process.env.KESTREL_BF16; else process.env.KESTREL_BF16 = previous;
  }
});

/** 8x8 grey images whose label says whether the left half is brighter. */
function images(n: number, seed: number): TensorDataset {
  manualSeed(seed);
  return tidy(() => {
    const x = randn([n, 1, 8, 8]);
    const y = x.slice(3, 0, 4).mean([1, 2, 3]).gt(x.slice(3, 4, 8).mean([1, 2, 3])).long();
    return new TensorDataset(x, y, { classes: ['right', 'left'] });
  });
}

/** Records the layout and dtype of what reaches it (a layer that passes its input through). */
class Probe extends Module {
  readonly seen: { channelsLast: boolean; dtype: string; inference: boolean; requiresGrad: boolean }[] = [];
  override forward(x: Tensor): Tensor {
    this.seen.push({ channelsLast: x.isChannelsLast, dtype: x.dtype, inference: x.isInference, requiresGrad: x.requiresGrad });
    return op('aten::alias', '', [x.handle]);
  }
}

function cnn(seed = 0, probe?: Probe): Sequential {
  manualSeed(seed);
  return new Sequential(
    ...(probe ? [probe] : []),
    new Conv2d(1, 4, 3, { padding: 1 }), new BatchNorm2d(4), new ReLU(), new Flatten(), new Linear(4 * 8 * 8, 2),
  );
}

function learner(seed: number, extra: ConstructorParameters<typeof Learner>[2] = {}, probe?: Probe): Learner {
  const train = new DataLoader(images(64, 1), { batchSize: 16, shuffle: true, seed: 3 });
  const valid = new DataLoader(images(32, 2), { batchSize: 32 });
  return new Learner(cnn(seed, probe), { train, valid }, {
    progress: false, precision: 'bf16', optimizer: (params, lr) => new Adam(params, { lr }), ...extra,
  });
}

test('bf16 training: channels-last input, bfloat16 activations, float32 logits, loss, gradients, weights and Adam state', { skip }, async () => {
  const probe = new Probe();
  const checks: string[] = [];
  const watcher: Callback = {
    afterPred: (l) => { if (l.training) assert.equal(l.pred!.dtype, 'float32'); },
    afterLoss: (l) => { if (l.training) assert.equal(l.loss!.dtype, 'float32'); },
    afterBackward: (l) => {
      assert.equal(isAutocastEnabled(), false, 'backward runs outside the autocast region');
      for (const p of l.model.parameters()) assert.equal(p.grad!.dtype, 'float32');
      checks.push('backward');
    },
  };
  const learn = learner(0, { callbacks: [watcher] }, probe);
  assert.equal(learn.amp.precision, 'bf16');
  await learn.fit(3, 1e-2);
  assert.equal(checks.length, 12);
  assert.ok(probe.seen.every((s) => s.channelsLast && s.dtype === 'float32'), 'batches arrive channels-last (autocast casts inside the convolution)');
  for (const p of learn.model.parameters()) assert.equal(p.dtype, 'float32');
  const state = learn.optimizer!.stateDict();
  assert.ok(state.tensors.size > 0);
  for (const [name, t] of state.tensors) assert.equal(t.dtype, 'float32', `optimizer state ${name}`);
  dispose([...state.tensors.values()]);
  assert.equal(isAutocastEnabled(), false);
  // the same run in float32 ends at nearly the same place
  const twin = learner(0, { precision: 'fp32' });
  await twin.fit(3, 1e-2);
  const [low, exact] = [learn.history[2], twin.history[2]];
  assert.ok(Math.abs(low.trainLoss - exact.trainLoss) < 0.05 * exact.trainLoss, `train loss ${low.trainLoss} (bf16) vs ${exact.trainLoss} (fp32)`);
  assert.ok(exact.trainLoss < learn.history[0].trainLoss, 'and it is learning');
});

test('bf16 with MixUp and gradient clipping: a run checkpointed and resumed equals the uninterrupted one', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-bf16-'));
  const callbacks = () => [new MixUp({ alpha: 0.4 }), new GradientClipping(0.5)];
  const weights = (learn: Learner) => tidy(() => Object.fromEntries([...learn.model.stateDict()].map(([k, t]) => [k, t.clone()])));
  try {
    manualSeed(7);
    const straight = learner(0, { callbacks: callbacks() });
    await straight.fit(3, 1e-2);
    const expected = weights(straight);

    manualSeed(7);
    const first = learner(0, { callbacks: callbacks() });
    const crash: Callback = { order: 200, afterEpoch: (l) => { if (l.epoch === 1) throw new CancelFitError('simulated kill'); } };
    await first.fit(3, 1e-2, { callbacks: [new Checkpoint(join(dir, 'ckpt')), crash] });
    manualSeed(99);
    const resumed = learner(5, { callbacks: callbacks() });
    const info = loadCheckpoint(resumed, join(dir, 'ckpt'));
    await resumed.fit(3, 1e-2, { startEpoch: info.epoch });
    for (const [name, t] of Object.entries(expected)) {
      const diff = maxAbsDiff(t, resumed.model.stateDict().get(name)!);
      assert.ok(diff <= 1e-6, `${name} differs by ${diff}`);
    }
    dispose(expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bf16 lrFind restores the weights; evaluate, predict and tta stay float32 unless bf16 is asked for', { skip }, async () => {
  const probe = new Probe();
  const learn = learner(0, {}, probe);
  const before = tidy(() => learn.model.parameters().map((p) => p.clone()));
  const result = await learn.lrFind({ numIt: 8, endLr: 1 });
  assert.ok(result.losses.every(Number.isFinite));
  learn.model.parameters().forEach((p, i) => assert.equal(maxAbsDiff(p, before[i]), 0));
  dispose(before);

  const valid = learn.data.valid!;
  const reference = new Learner(learn.model, { train: valid }, { progress: false, precision: 'fp32' });
  const [a, b] = [await tta(learn, valid), await tta(reference, valid)];
  assert.equal(maxAbsDiff(a.probs, b.probs), 0, 'inference of a bf16-trained learner is float32');
  const lowered = new Learner(learn.model, { train: valid }, { progress: false, inference: { precision: 'bf16' } });
  probe.seen.length = 0;
  tidy(() => {
    const x = randn([6, 1, 8, 8]);
    const [low, exact] = [lowered, reference].map((l) => l.inference.run(x, (logits) => logits));
    assert.equal(low.dtype, 'float32', 'cast back to float32');
    const relative = maxAbsDiff(low, exact) / exact.abs().max().item();
    assert.ok(relative > 0 && relative < 2e-2, `explicit bf16 inference is close to float32 (relative difference ${relative})`);
  });
  assert.ok(probe.seen.length === 2 && probe.seen.every((s) => !s.requiresGrad && s.channelsLast), 'no autograd, channels-last input');
  dispose([a, b]);
});

test("validationPrecision 'training' validates in the training precision (evaluate stays float32); bf16 inference folds into bfloat16 weights once, same bits as autocast's per-batch cast", { skip }, async () => {
  const probe = new Probe();
  const learn = learner(0, { validationPrecision: 'training' }, probe);
  assert.equal(learn.amp.precision, 'bf16');
  assert.equal(learn.validation.choice.precision, 'bf16', "'training' resolves to the training precision");
  assert.equal(learn.inference.choice.precision, 'fp32', 'evaluate, predict and tta stay float32');
  const [record] = await learn.fit(1, 1e-3);
  const lowered = new Learner(learn.model, { train: learn.data.train }, { progress: false, inference: { precision: 'bf16' } });
  assert.equal(record.validLoss, (await lowered.evaluate(learn.data.valid!)).loss, 'the epoch validated in bf16');
  const fp32 = new Learner(learn.model, { train: learn.data.train }, { progress: false, precision: 'fp32', validationPrecision: 'training' });
  assert.equal(fp32.validation, fp32.inference, 'same precision: one runner');
  learn.model.eval();
  tidy(() => {
    // batch-norm statistics away from their initial values, so the fold changes the weights
    for (const [, m] of learn.model.namedModules()) if (m instanceof BatchNorm2d) { m.running_mean!.copy_(randn(m.running_mean!.shape)); m.running_var!.copy_(randn(m.running_var!.shape).abs().add(0.5)); }
    const x = randn([6, 1, 8, 8]);
    const cached = new Inference(learn.model, { precision: 'bf16' });
    const got = cached.run(x, (logits) => logits);
    // reference: float32 folded weights installed, autocast casting them per call (what ran before)
    const folded = foldBatchNorm(learn.model);
    const reference = new Inference(learn.model, { precision: 'bf16', foldBatchNorm: false }).run(x, (logits) => logits);
    folded.restore();
    assert.equal(folded.pairs, 1);
    assert.equal(maxAbsDiff(got, reference), 0, 'bit for bit');
    cached.dispose();
  });
});
