/**
 * Benchmark worker: the Keras MNIST CNN (src/vision/simple.ts) on Fashion-MNIST, batch 256, Adam 1e-3,
 * cross-entropy. Prints train samples/s over one full epoch after a warm-up, inference samples/s
 * over the test set, accuracy and peak RSS. `node dist/bench/mnist.js [--trainSamples N] [--warmup B]`
 */
import { type Tensor, manualSeed, noGrad, randperm, runtimeInfo, tidy } from '../src/tensor/index.js';
import { type Module, crossEntropy } from '../src/nn/index.js';
import { Adam, type Optimizer } from '../src/optim/index.js';
import { mnistCnn } from '../src/vision/simple.js';
import { loadFashion } from './fashion.js';
import { numberArgs, report, resetPeakRss, secondsSince, stepRate } from './common.js';

/** Batch size of every mnist-cnn benchmark. */
export const BATCH = 256;

/** Trains one pass over `images` in shuffled batches (at most `maxBatches`); returns mean loss, samples seen and each full batch's ms. */
export function trainEpoch(model: Module, optimizer: Optimizer, images: Tensor, labels: Tensor, maxBatches = Infinity): { loss: number; samples: number; stepMs: number[] } {
  model.train();
  const n = images.shape[0];
  const order = randperm(n);
  let lossSum = 0; let batches = 0; let samples = 0;
  const stepMs: number[] = [];
  let last = performance.now();
  for (let start = 0; start < n && batches < maxBatches; start += BATCH) {
    const end = Math.min(n, start + BATCH);
    lossSum += tidy(() => {
      const index = order.slice(0, start, end);
      const xb = images.indexSelect(0, index);
      const yb = labels.indexSelect(0, index);
      optimizer.zeroGrad();
      const loss = crossEntropy(model.forward(xb), yb);
      loss.backward();
      optimizer.step();
      return loss.item();
    });
    batches += 1; samples += end - start;
    const now = performance.now();
    if (end - start === BATCH) stepMs.push(now - last);
    last = now;
  }
  order.dispose();
  return { loss: lossSum / batches, samples, stepMs };
}

/** Runs the model over `images` in order (eval mode, no grad); returns accuracy and each full batch's ms. */
export function evaluate(model: Module, images: Tensor, labels: Tensor): { accuracy: number; stepMs: number[] } {
  model.eval();
  const n = images.shape[0];
  let correct = 0;
  const stepMs: number[] = [];
  let last = performance.now();
  for (let start = 0; start < n; start += BATCH) {
    const end = Math.min(n, start + BATCH);
    correct += noGrad(() => tidy(() => {
      const logits = model.forward(images.slice(0, start, end));
      return logits.argmax(1).eq(labels.slice(0, start, end)).sum().item();
    }));
    const now = performance.now();
    if (end - start === BATCH) stepMs.push(now - last);
    last = now;
  }
  return { accuracy: correct / n, stepMs };
}

function main(): void {
  const args = numberArgs({ trainSamples: 60000, warmup: 20, seed: 0 });
  manualSeed(args.seed);
  const train = loadFashion('train', args.trainSamples);
  const test = loadFashion('t10k');
  resetPeakRss();
  const model = mnistCnn(10);
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
  trainEpoch(model, optimizer, train.images, train.labels, args.warmup);
  evaluate(model, test.images.slice(0, 0, 2 * BATCH), test.labels.slice(0, 0, 2 * BATCH));

  let start = performance.now();
  const epoch = trainEpoch(model, optimizer, train.images, train.labels);
  const trainSeconds = secondsSince(start);
  start = performance.now();
  const { accuracy, stepMs: inferStepMs } = evaluate(model, test.images, test.labels);
  const inferSeconds = secondsSince(start);
  report({
    framework: 'kestrel', workload: 'mnist-cnn', threads: runtimeInfo().threads,
    trainSamplesPerSec: epoch.samples / trainSeconds, inferSamplesPerSec: test.images.shape[0] / inferSeconds,
    trainStepSamplesPerSec: stepRate(epoch.stepMs, BATCH), inferStepSamplesPerSec: stepRate(inferStepMs, BATCH),
    trainSeconds, inferSeconds, loss: epoch.loss, accuracy,
  });
}

if (process.argv[1]?.endsWith('mnist.js')) main();
