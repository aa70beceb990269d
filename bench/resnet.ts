/**
 * Benchmark worker: a torchvision-shaped ResNet-18 (10 classes) on synthetic 3x64x64 images, batch 64,
 * SGD momentum 0.9, cross-entropy. Prints train and inference images/s and peak RSS.
 * `node dist/bench/resnet.js [--trainIters N] [--inferIters N] [--warmup N] [--graph 1]`; `--graph 1` runs the
 * same network written as a GraphModel (bench/graph-resnet.ts).
 */
import { manualSeed, noGrad, randint, randn, runtimeInfo, tidy } from '../src/tensor/index.js';
import { crossEntropy } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import { resnet18 } from '../src/vision/resnet.js';
import { resnet18Graph } from './graph-resnet.js';
import { numberArgs, report, resetPeakRss, secondsSince, stepRate } from './common.js';

/** Images per batch, distinct synthetic batches cycled, and image size (shared with bench/resnet.py). */
export const RESNET_BATCH = 64;
export const RESNET_BATCHES = 4;
export const RESNET_SIZE = 64;

function main(): void {
  const args = numberArgs({ trainIters: 30, inferIters: 30, warmup: 3, seed: 0, graph: 0 });
  manualSeed(args.seed);
  const images = randn([RESNET_BATCHES * RESNET_BATCH, 3, RESNET_SIZE, RESNET_SIZE]);
  const labels = randint(0, 10, [RESNET_BATCHES * RESNET_BATCH], { dtype: 'int64' });
  const batch = (i: number) => {
    const start = (i % RESNET_BATCHES) * RESNET_BATCH;
    return { x: images.slice(0, start, start + RESNET_BATCH), y: labels.slice(0, start, start + RESNET_BATCH) };
  };
  resetPeakRss();
  const model = args.graph ? resnet18Graph(10, RESNET_SIZE) : resnet18(10);
  const optimizer = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const trainStep = (i: number): number => tidy(() => {
    const { x, y } = batch(i);
    optimizer.zeroGrad();
    const loss = crossEntropy(model.forward(x), y);
    loss.backward();
    optimizer.step();
    return loss.item();
  });
  const inferStep = (i: number): number => noGrad(() => tidy(() => model.forward(batch(i).x).argmax(1).sum().item()));

  model.train();
  for (let i = 0; i < args.warmup; i++) trainStep(i);
  const timed = (count: number, step: (i: number) => number): { last: number; stepMs: number[] } => {
    const stepMs: number[] = [];
    let last = 0;
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      last = step(i);
      stepMs.push(performance.now() - t);
    }
    return { last, stepMs };
  };
  let start = performance.now();
  const train = timed(args.trainIters, trainStep);
  const trainSeconds = secondsSince(start);
  model.eval();
  for (let i = 0; i < args.warmup; i++) inferStep(i);
  start = performance.now();
  const infer = timed(args.inferIters, inferStep);
  const inferSeconds = secondsSince(start);
  report({
    framework: 'kestrel', workload: args.graph ? 'resnet18-graph' : 'resnet18', threads: runtimeInfo().threads,
    trainSamplesPerSec: (args.trainIters * RESNET_BATCH) / trainSeconds, inferSamplesPerSec: (args.inferIters * RESNET_BATCH) / inferSeconds,
    trainStepSamplesPerSec: stepRate(train.stepMs, RESNET_BATCH), inferStepSamplesPerSec: stepRate(infer.stepMs, RESNET_BATCH),
    trainSeconds, inferSeconds, loss: train.last,
  });
}

main();
