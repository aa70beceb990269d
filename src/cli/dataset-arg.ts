/** Turns the CLI's dataset argument (sample | fashion-mnist | DIR) into normalised datasets. */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { type TensorDataset, loadFashionMnist, loadIdxDataset, loadSample } from '../data/index.js';
import { UsageError } from './args.js';

/** Train and test splits with what a model bundle records about them. */
export interface ResolvedDataset {
  train: TensorDataset;
  test: TensorDataset;
  classes: string[];
  inputShape: [number, number, number];
  normalize: { mean: number[]; std: number[] };
  description: string;
}

/**
 * Loads `name`: 'sample' (bundled), 'fashion-mnist' (Debian's files), or a directory with IDX
 * files. Normalisation uses the training split's statistics unless `normalize` is given (as
 * when evaluating a saved model).
 */
export async function resolveDataset(name: string, normalize?: { mean: number[]; std: number[] }): Promise<ResolvedDataset> {
  let splits: { train: TensorDataset; test: TensorDataset };
  let description: string;
  if (name === 'sample') {
    splits = { train: loadSample({ split: 'train' }), test: loadSample({ split: 'test' }) };
    description = 'the bundled Fashion-MNIST sample';
  } else if (name === 'fashion-mnist') {
    splits = { train: loadFashionMnist({ split: 'train' }), test: loadFashionMnist({ split: 'test' }) };
    description = 'Fashion-MNIST';
  } else if (existsSync(name) && statSync(name).isDirectory()) {
    const dir = resolve(name);
    splits = { train: loadIdxDataset(dir, { split: 'train' }), test: loadIdxDataset(dir, { split: 'test' }) };
    description = dir;
  } else {
    throw new UsageError(`unknown dataset '${name}': use 'sample', 'fashion-mnist', or a directory holding IDX files (train-images-idx3-ubyte[.gz], ...)`);
  }
  const stats = normalize ?? splits.train.computeStats();
  const train = splits.train.withNormalize(stats);
  const test = splits.test.withNormalize(stats);
  const [channels, height, width] = train.itemShape;
  return { train, test, classes: train.classes, inputShape: [channels, height, width], normalize: stats, description: `${description} (${train.length} train, ${test.length} test images)` };
}
