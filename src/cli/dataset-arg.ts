/** Turns the CLI's dataset argument (sample | fashion-mnist | DIR) into normalised datasets. */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type BatchSource, DataLoader, DEBIAN_FASHION_MNIST_DIR, hasImageFiles, imageFolderLoaders, FASHION_MNIST_CLASSES, MNIST_CLASSES, type TensorDataset, ensureDataset, loadCifar10, loadCifar100,
  loadFashionMnist, loadIdxDataset, loadSample, progressPrinter, splitFolders,
} from '../data/index.js';
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
  } else if (name === 'fashion-mnist' && existsSync(process.env.KESTREL_FASHION_MNIST ?? DEBIAN_FASHION_MNIST_DIR)) {
    splits = { train: loadFashionMnist({ split: 'train' }), test: loadFashionMnist({ split: 'test' }) };
    description = 'Fashion-MNIST';
  } else if (name === 'fashion-mnist' || name === 'mnist') {
    // NOTE: without Debian's package, fetch the canonical files (checksummed, cached).
    const dir = await ensureDataset(name, { onProgress: progressPrinter(name) });
    const classes = name === 'mnist' ? MNIST_CLASSES : FASHION_MNIST_CLASSES;
    splits = { train: loadIdxDataset(dir, { split: 'train', classes }), test: loadIdxDataset(dir, { split: 'test', classes }) };
    description = name === 'mnist' ? 'MNIST' : 'Fashion-MNIST';
  } else if (name === 'cifar10' || name === 'cifar100') {
    const dir = await ensureDataset(name, { onProgress: progressPrinter(name) });
    const load = name === 'cifar10' ? loadCifar10 : loadCifar100;
    splits = { train: load(dir, { split: 'train' }), test: load(dir, { split: 'test' }) };
    description = name === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100';
  } else if (existsSync(name) && statSync(name).isDirectory()) {
    const dir = resolve(name);
    splits = { train: loadIdxDataset(dir, { split: 'train' }), test: loadIdxDataset(dir, { split: 'test' }) };
    description = dir;
  } else {
    throw new UsageError(`unknown dataset '${name}': use 'sample', 'fashion-mnist', 'mnist', 'cifar10', 'cifar100', or a directory holding IDX files (train-images-idx3-ubyte[.gz], ...)`);
  }
  const stats = normalize ?? splits.train.computeStats();
  const train = splits.train.withNormalize(stats);
  const test = splits.test.withNormalize(stats);
  const [channels, height, width] = train.itemShape;
  return { train, test, classes: train.classes, inputShape: [channels, height, width], normalize: stats, description: `${description} (${train.length} train, ${test.length} test images)` };
}

/** Options for opening a dataset as training and validation batches. */
export interface OpenOptions {
  batchSize: number;
  seed: number;
  /** Image side for folder datasets (default 64). */
  size?: number;
  /** Random augmentation of training images (folder datasets). */
  augment?: boolean;
  /** With augment: horizontal flips (default true; false for digits and text). */
  flip?: boolean;
  /** Share of images for validation when a folder has no valid/ split (given: a usage error for datasets split already). */
  validPct?: number;
  /** Reuse saved statistics (evaluating a saved model), or the statistics pretrained weights expect. */
  normalize?: { mean: number[]; std: number[] };
  /** Channels to decode folder images as (default: detected; 3 for pretrained networks). */
  channels?: 1 | 3;
  /** The flag that needs a folder of images (other datasets are refused with a usage error naming it). */
  requireFolder?: string;
}

/** Training and validation batch sources with what a model bundle records about them. */
export interface OpenedDataset {
  train: BatchSource;
  valid: BatchSource;
  classes: string[];
  inputShape: [number, number, number];
  normalize: { mean: number[]; std: number[] } | null;
  description: string;
  /** Stops worker threads (image folders). */
  close(): Promise<void>;
}

/** Opens an in-memory dataset (IDX, CIFAR, sample) or a folder of images as batch sources. */
export async function openDataset(name: string, options: OpenOptions): Promise<OpenedDataset> {
  if (existsSync(name) && statSync(name).isDirectory() && await hasImageFiles(name)) {
    const split = splitFolders(name);
    if (split && options.validPct !== undefined) {
      throw new UsageError(`--valid-pct applies to a folder without a validation split, but ${name} has ${split.validDir}; leave --valid-pct out`);
    }
    const folders = await imageFolderLoaders(resolve(name), {
      size: options.size ?? 64, batchSize: options.batchSize, seed: options.seed, augment: options.augment ? { flip: options.flip ?? true } : false,
      validPct: options.validPct, ...(options.normalize ? { normalize: options.normalize } : {}), ...(options.channels ? { channels: options.channels } : {}),
    });
    return {
      train: folders.train, valid: folders.valid, classes: folders.classes, inputShape: folders.inputShape, normalize: folders.normalize,
      description: `image folders ${resolve(name)} (${folders.train.numSamples} train, ${folders.valid.numSamples} valid images at ${options.size ?? 64}px)`,
      close: () => folders.close(),
    };
  }
  if (options.requireFolder) {
    throw new UsageError(`${options.requireFolder} needs a folder of RGB images (class folders, or train/ and valid/ splits); '${name}' is not one (node scripts/fashion-png-folders.mjs writes Fashion-MNIST as PNG folders)`);
  }
  if (options.validPct !== undefined) throw new UsageError(`--valid-pct applies to a folder of images without a validation split; '${name}' comes with its own test split`);
  const data = await resolveDataset(name, options.normalize);
  return {
    train: new DataLoader(data.train, { batchSize: options.batchSize, shuffle: true, seed: options.seed }),
    valid: new DataLoader(data.test, { batchSize: 256 }),
    classes: data.classes, inputShape: data.inputShape, normalize: data.normalize, description: data.description,
    close: async () => { data.train.dispose(); data.test.dispose(); },
  };
}
