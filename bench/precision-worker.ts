/**
 * Benchmark worker for bench/precision.ts: Kestrel training and inference in one precision.
 * mnist-cnn on real Fashion-MNIST (batch 256, Adam 1e-3) or ResNet-18 on synthetic 3x64x64 images
 * (batch 64, SGD momentum 0.9), trained through `Learner.step` (the Learner's precision path:
 * channels-last batches, autocast, float32 loss) and evaluated through `Learner.inference`
 * (inference mode, folded batch norm; float32 unless the precision is bf16), plus the inference
 * variants without folding and with NoGradGuard for comparison.
 * `node dist/bench/precision-worker.js --workload 0|1 (mnist|resnet) --mixed 0|1 (fp32|bf16) [--trainSamples N] [--iters N] [--warmup N]`
 */
import { type Tensor, manualSeed, randint, randn, randperm, runtimeInfo, tidy } from '../src/tensor/index.js';
import type { Module } from '../src/nn/index.js';
import { Adam, SGD } from '../src/optim/index.js';
import { DataLoader, TensorDataset } from '../src/data/index.js';
import { Inference, type InferenceOptions, Learner } from '../src/learn/index.js';
import { mnistCnn } from '../src/vision/simple.js';
import { resnet18 } from '../src/vision/resnet.js';
import { loadFashion } from './fashion.js';
import { numberArgs, report, resetPeakRss, secondsSince, stepRate } from './common.js';

/** Batch sizes and the ResNet input, shared with bench/precision.py. */
export const MNIST_BATCH = 256;
export const RESNET_BATCH = 64;
export const RESNET_SIZE = 64;
export const RESNET_BATCHES = 4;

interface Workload {
  model: Module;
  learn: Learner;
  batch: number;
  /** Training batch i (a view or fresh tensor inside the caller's tidy). */
  trainBatch(i: number): { x: Tensor; y: Tensor };
  /** Inference batches: count and batch i. */
  inferBatches: number;
  inferBatch(i: number): { x: Tensor; y: Tensor };
  trainSteps: number;
}

function mnist(bf16: boolean, trainSamples: number): Workload {
  const train = loadFashion('train', trainSamples);
  const test = loadFashion('t10k');
  const model = mnistCnn(10);
  const data = new DataLoader(new TensorDataset(train.images, train.labels), { batchSize: MNIST_BATCH });
  const learn = new Learner(model, { train: data }, { progress: false, precision: bf16 ? 'bf16' : 'fp32', optimizer: (p, lr) => new Adam(p, { lr }), lr: 1e-3 });
  const order = randperm(trainSamples);
  const n = test.images.shape[0];
  return {
    model, learn, batch: MNIST_BATCH, trainSteps: Math.floor(trainSamples / MNIST_BATCH),
    trainBatch: (i) => {
      const index = order.slice(0, i * MNIST_BATCH, (i + 1) * MNIST_BATCH);
      return { x: train.images.indexSelect(0, index), y: train.labels.indexSelect(0, index) };
    },
    inferBatches: Math.floor(n / MNIST_BATCH),
    inferBatch: (i) => ({ x: test.images.slice(0, i * MNIST_BATCH, (i + 1) * MNIST_BATCH), y: test.labels.slice(0, i * MNIST_BATCH, (i + 1) * MNIST_BATCH) }),
  };
}

function resnet(bf16: boolean, iters: number): Workload {
  const images = randn([RESNET_BATCHES * RESNET_BATCH, 3, RESNET_SIZE, RESNET_SIZE]);
  const labels = randint(0, 10, [RESNET_BATCHES * RESNET_BATCH], { dtype: 'int64' });
  const model = resnet18(10);
  const data = new DataLoader(new TensorDataset(images, labels), { batchSize: RESNET_BATCH });
  const learn = new Learner(model, { train: data }, { progress: false, precision: bf16 ? 'bf16' : 'fp32', optimizer: (p, lr) => new SGD(p, { lr, momentum: 0.9 }), lr: 0.01 });
  const batch = (i: number) => {
    const start = (i % RESNET_BATCHES) * RESNET_BATCH;
    return { x: images.slice(0, start, start + RESNET_BATCH), y: labels.slice(0, start, start + RESNET_BATCH) };
  };
  return { model, learn, batch: RESNET_BATCH, trainSteps: iters, trainBatch: batch, inferBatches: iters, inferBatch: batch };
}

/** Times `count` calls of `step`; returns samples/s overall and from the median step. */
function timed(count: number, batch: number, step: (i: number) => void): { perSec: number; stepPerSec: number } {
  const stepMs: number[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    step(i);
    stepMs.push(performance.now() - t);
  }
  return { perSec: (count * batch) / secondsSince(start), stepPerSec: stepRate(stepMs, batch) };
}

function main(): void {
  const args = numberArgs({ workload: 0, mixed: 0, trainSamples: 60000, iters: 30, warmup: 3, seed: 0 });
  manualSeed(args.seed);
  const bf16 = args.mixed === 1;
  const w = args.workload === 0 ? mnist(bf16, args.trainSamples) : resnet(bf16, args.iters);
  resetPeakRss();
  const trainStep = (i: number) => tidy(() => { const { x, y } = w.trainBatch(i); w.learn.step(x, y); });
  for (let i = 0; i < args.warmup; i++) trainStep(i);
  const train = timed(w.trainSteps, w.batch, trainStep);
  let loss = NaN;
  tidy(() => { const { x, y } = w.trainBatch(0); loss = w.learn.step(x, y); });

  w.model.eval();
  const precision = bf16 ? 'bf16' : 'fp32';
  const variants: [string, InferenceOptions][] = [
    ['default', { precision }],
    ['noFold', { precision, foldBatchNorm: false }],
    ['noGradNoFold', { precision, foldBatchNorm: false, guard: 'no-grad' }],
  ];
  const infer: Record<string, number> = {};
  const inferStep: Record<string, number> = {};
  let correct = 0;
  for (const [name, options] of variants) {
    const inference = new Inference(w.model, options);
    const step = (i: number) => tidy(() => {
      const { x, y } = w.inferBatch(i);
      correct += inference.run(x, (out) => out.argmax(1).eq(y).sum().item());
    });
    for (let i = 0; i < args.warmup; i++) step(i);
    correct = 0;
    const result = timed(w.inferBatches, w.batch, step);
    infer[name] = result.perSec;
    inferStep[name] = result.stepPerSec;
    inference.dispose();
  }
  report({
    framework: 'kestrel', workload: args.workload === 0 ? 'mnist-cnn' : 'resnet18', precision, threads: runtimeInfo().threads,
    trainSamplesPerSec: train.perSec, trainStepSamplesPerSec: train.stepPerSec,
    inferSamplesPerSec: infer.default, inferStepSamplesPerSec: inferStep.default, inferVariants: infer,
    loss, accuracy: correct / (w.inferBatches * w.batch),
  });
}

main();
