/**
 * Benchmark worker: memory flatness. Trains mnist-cnn for several epochs on a Fashion-MNIST subset and
 * records RSS, live tensors and allocator bytes at the end of each epoch.
 * `node --expose-gc dist/bench/memory.js [--epochs 10] [--samples 10000]`
 */
import { manualSeed, memory } from '../src/tensor/index.js';
import { Adam } from '../src/optim/index.js';
import { mnistCnn } from '../src/vision/simple.js';
import { loadFashion } from './fashion.js';
import { trainEpoch } from './mnist.js';
import { numberArgs, processMemory, report, secondsSince } from './common.js';

function main(): void {
  const args = numberArgs({ epochs: 10, samples: 10000, seed: 0 });
  manualSeed(args.seed);
  const train = loadFashion('train', args.samples);
  const model = mnistCnn(10);
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
  const epochs = [];
  for (let epoch = 1; epoch <= args.epochs; epoch++) {
    const start = performance.now();
    const { loss } = trainEpoch(model, optimizer, train.images, train.labels);
    // NOTE: collect JS garbage (e.g. the data files' gunzip buffers) first, so RSS shows retained memory, not GC timing.
    (globalThis as { gc?: () => void }).gc?.();
    const stats = memory();
    epochs.push({ epoch, loss, seconds: secondsSince(start), rssMb: processMemory().rssMb, liveTensors: stats.liveTensors, inUseMb: stats.inUseBytes / 2 ** 20, cachedMb: stats.cachedBytes / 2 ** 20 });
  }
  report({ framework: 'kestrel', workload: 'memory', epochs });
}

main();
