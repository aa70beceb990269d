/** Shared fixtures of the learn tests: separable blobs, small learners, scripted metrics, regression data. */
import { DataLoader, TensorDataset, type Batch, type BatchSource } from '../../src/data/index.js';
import { Learner, type LearnerOptions, type Metric } from '../../src/learn/index.js';
import { Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../../src/nn/index.js';
import { SGD } from '../../src/optim/index.js';
import { type Tensor, keep, manualSeed, randn, tidy } from '../../src/tensor/index.js';

/** Two Gaussian blobs in 4-D (images [N, 1, 1, 4]), labels 0/1: linearly separable. */
export function blobs(n: number, seed: number): TensorDataset {
  manualSeed(seed);
  return tidy(() => {
    const labels = randn([n]).gt(0).long();
    const centres = labels.float().mul(4).sub(2).reshape(n, 1, 1, 1);
    const images = randn([n, 1, 1, 4]).add(centres);
    return new TensorDataset(images, labels, { classes: ['neg', 'pos'] });
  });
}

/** A small MLP (with dropout when asked) on 4 inputs. */
export function mlp(seed = 0, dropout = 0): Sequential {
  manualSeed(seed);
  return dropout > 0
    ? new Sequential(new Flatten(), new Linear(4, 16), new ReLU(), new Dropout(dropout), new Linear(16, 2))
    : new Sequential(new Flatten(), new Linear(4, 8), new Linear(8, 2));
}

/** A learner over blobs (256 train in batches of 32, 128 valid), SGD, silent. */
export function blobLearner(options: LearnerOptions = {}, model = mlp()): Learner {
  const train = new DataLoader(blobs(256, 1), { batchSize: 32, shuffle: true, seed: 1 });
  const valid = new DataLoader(blobs(128, 2), { batchSize: 64 });
  return new Learner(model, { train, valid }, { progress: false, optimizer: (params, lr) => new SGD(params, { lr }), ...options });
}

/** A metric that reports the given values, one per validation, in order. */
export function scripted(name: string, values: number[], higherIsBetter = false): Metric {
  let calls = 0;
  return { name, higherIsBetter, reset() {}, accumulate() {}, value: () => values[Math.min(calls++, values.length - 1)] };
}

/** Batches over fixed tensors, in order (a tiny in-test BatchSource). */
export class TensorBatches implements BatchSource {
  readonly length: number;
  readonly numSamples: number;
  /** Keeps `x` and `y`; batches are fresh slices the consumer disposes. */
  constructor(readonly x: Tensor, readonly y: Tensor, readonly batchSize: number) {
    keep(x); keep(y);
    this.numSamples = x.shape[0];
    this.length = Math.ceil(this.numSamples / batchSize);
  }
  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    for (let start = 0; start < this.numSamples; start += this.batchSize) {
      const end = Math.min(this.numSamples, start + this.batchSize);
      yield tidy(() => ({ x: this.x.slice(0, start, end).clone(), y: this.y.slice(0, start, end).clone() }));
    }
  }
  /** Frees the tensors. */
  dispose(): void { this.x.dispose(); this.y.dispose(); }
}

/** Linear regression data: y = x . w + 0.5 + noise * N(0, 1), x ~ N(0, 1) in 8-D. */
export function regression(n: number, seed: number, noise = 0.1): { x: Tensor; y: Tensor } {
  manualSeed(seed);
  return tidy(() => {
    const x = randn([n, 8]);
    const w = randn([8, 1]);
    return { x, y: x.matmul(w).add(0.5).add(randn([n, 1]).mul(noise)) };
  });
}

/** The Keras MNIST CNN without its dropout (so runs on different generators or processes can match exactly). */
export function cnnWithoutDropout(): Sequential {
  return new Sequential(
    new Conv2d(1, 24, 3, { padding: 'same' }), new ReLU(), new MaxPool2d(2),
    new Conv2d(24, 36, 3, { padding: 'same' }), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(36 * 7 * 7, 128), new ReLU(), new Linear(128, 10),
  );
}
