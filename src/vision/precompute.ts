/**
 * Precomputed body features (fastai 0.7's `precompute=True`): the frozen body runs once over the
 * images, in eval mode and without augmentation, and the head then trains on the cached output.
 */
import { type Tensor, cat, dispose, keep, noGrad, tidy } from '../tensor/index.js';
import { type Batch, type BatchSource, DataLoader, type DataLoaderState, TensorDataset } from '../data/index.js';
import type { Module } from '../nn/index.js';
import type { TransferModel } from './transfer-model.js';

/** Where a PrecomputeSource stands, for checkpoints. */
export interface PrecomputeState {
  /** The image source's own state (null when it keeps none). */
  images: unknown;
  /** The feature loader's shuffling state (null before it existed). */
  features: DataLoaderState | null;
}

/** Options of a PrecomputeSource. */
export interface PrecomputeSourceOptions {
  /** Shuffle the cached features every pass (the training source). */
  shuffle: boolean;
  /** Seed of that shuffling. */
  seed: number;
  /** Name in messages ('training', 'validation'). */
  label: string;
  /** Where messages go (null: silent). */
  log: ((message: string) => void) | null;
}

interface Stateful { getState(): unknown; setState(state: unknown): void }
const isStateful = (s: unknown): s is Stateful => typeof (s as Stateful)?.getState === 'function' && typeof (s as Stateful).setState === 'function';

function formatMiB(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * A BatchSource that yields the images of `images`, or, while `active`, the model's cached
 * features of them (computed on the first pass that needs them, kept until release()). The
 * features are [N, ...featureShape] float32 in memory: for a pooled head N x 2C floats
 * (ResNet-34: 1024 floats, 4 KiB per image), else the body's feature maps.
 */
export class PrecomputeSource implements BatchSource {
  /** Whether passes yield cached features rather than images. */
  active = false;
  private cache: TensorDataset | null = null;
  private loader: DataLoader | null = null;
  private pending: DataLoaderState | null = null;

  /** Wraps `images` for `model`. */
  constructor(readonly images: BatchSource, private readonly model: TransferModel, private readonly options: PrecomputeSourceOptions) {}

  /** Batches per pass. */
  get length(): number { return this.active && this.loader ? this.loader.length : this.images.length; }

  /** Samples per pass. */
  get numSamples(): number { return this.active && this.loader ? this.loader.numSamples : this.images.numSamples; }

  /** The image source's dataset (class names). */
  get dataset(): { readonly classes: string[] } | undefined { return this.images.dataset; }

  /** Shape of one cached feature tensor (null before the features exist). */
  get featureShape(): number[] | null { return this.cache ? this.cache.itemShape : null; }

  /** One pass: images, or (when active) the cached features, computing them first if needed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    if (!this.active) {
      yield* this.images;
      return;
    }
    yield* await this.featureLoader();
  }

  /** Computes the features when active and not cached yet (Learner.fit awaits this before timing an epoch). */
  async prepare(): Promise<void> {
    if (this.active) await this.featureLoader();
  }

  /** Computes the features if they are not cached yet; returns the loader over them. */
  async featureLoader(): Promise<DataLoader> {
    if (this.loader) return this.loader;
    const started = performance.now();
    const plain = this.images.withoutAugmentation?.() ?? this.images;
    const { log, label } = this.options;
    log?.(`precompute: running the frozen body once over the ${this.images.numSamples.toLocaleString('en-US')} ${label} images (eval mode, ${plain === this.images
      ? 'one pass of the source as it comes: it has no withoutAugmentation()' : 'no augmentation'})...`);
    const features: Tensor[] = [];
    const labels: Tensor[] = [];
    let batchSize = 1;
    const modes = this.model.namedModules().map(([, m]) => [m, m.training] as [Module, boolean]);
    this.model.eval();
    try {
      for await (const batch of plain) {
        try {
          features.push(keep(noGrad(() => tidy(() => this.model.features(batch.x)))));
          labels.push(batch.y);
          batchSize = Math.max(batchSize, batch.y.shape[0]);
        } finally {
          batch.x.dispose();
        }
      }
      if (features.length === 0) throw new Error(`precompute: the ${label} data yielded no images`);
      const x = cat(features);
      const y = cat(labels);
      this.cache = new TensorDataset(x, y, { classes: this.images.dataset?.classes });
    } finally {
      for (const [m, training] of modes) m.training = training;
      dispose(features);
      dispose(labels);
      if (plain !== this.images) await (plain as { close?: () => Promise<void> }).close?.();
    }
    // NOTE: the image batches' size (the largest seen), so the head trains on batches as large as without precompute.
    this.loader = new DataLoader(this.cache, { batchSize, shuffle: this.options.shuffle, seed: this.options.seed });
    if (this.pending) { this.loader.setState(this.pending); this.pending = null; }
    this.model.setFeatureInput(this.cache.itemShape);
    const n = this.cache.length;
    const per = this.cache.itemShape.reduce((a, b) => a * b, 1);
    log?.(`precompute: cached ${n.toLocaleString('en-US')} ${label} features of [${this.cache.itemShape.join(', ')}] (${per.toLocaleString('en-US')} floats each, ${formatMiB(n * per * 4)}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return this.loader;
  }

  /** The image source's state and the feature loader's shuffling state. */
  getState(): PrecomputeState {
    return { images: isStateful(this.images) ? this.images.getState() : null, features: this.loader?.getState() ?? this.pending };
  }

  /** Restores a state from getState() (the feature loader's part applies once the features exist). */
  setState(state: PrecomputeState): void {
    if (state.images !== null && isStateful(this.images)) this.images.setState(state.images);
    if (state.features === null) return;
    if (this.loader) this.loader.setState(state.features);
    else this.pending = state.features;
  }

  /** Frees the cached features (they are computed again on the next active pass). */
  release(): void {
    this.cache?.dispose();
    this.cache = null;
    this.loader = null;
  }
}
