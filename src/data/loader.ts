/** DataLoader: seeded, shuffled batches over a Dataset; and the BatchSource a Learner iterates. */
import { type MemoryFormat, Random } from '../tensor/index.js';
import type { Batch, Dataset } from './dataset.js';
import { type Shard, checkShard, shardLength, shardOrder } from './sampler.js';

/**
 * What a Learner iterates: a known number of batches per pass, yielded asynchronously. Implemented
 * by DataLoader (in-memory tensors) and ImageLoader (files decoded in worker threads).
 * Ownership: each yielded batch belongs to the consumer, who must dispose it (`dispose(batch)`), also
 * the one in hand when breaking out early. Each `for await` is one pass (epoch); breaking ends it.
 */
export interface BatchSource extends AsyncIterable<Batch> {
  /** Batches per pass. */
  readonly length: number;
  /** Samples per pass. */
  readonly numSamples: number;
  /** The underlying dataset, when there is one (class names). */
  readonly dataset?: { readonly classes: string[] };
  /**
   * The same samples without random augmentation, unshuffled (e.g. for caching features once).
   * A new source: close it when it has close() and you are done.
   */
  withoutAugmentation?(): BatchSource;
  /**
   * Layout of the image batches, for sources that can produce either at no cost (ImageLoader): the
   * Learner sets 'channels-last' when its model has convolutions. Sources without it yield NCHW.
   */
  memoryFormat?: MemoryFormat;
  /**
   * One-off work before the first pass, which `Learner.fit` awaits before timing any epoch (ImageLoader decodes
   * into its cache here, so the first epoch's samples/s measures training, not decoding).
   */
  prepare?(): Promise<void>;
}

/** Asks `source` for channels-last batches when `channelsLast` and it can choose its layout. */
export function requestLayout(source: BatchSource | undefined, channelsLast: boolean): void {
  if (channelsLast && source && 'memoryFormat' in source) source.memoryFormat = 'channels-last';
}

/** Options of a DataLoader. */
export interface DataLoaderOptions {
  /** Samples per batch (the last one may be smaller unless dropLast). */
  batchSize: number;
  /** New random order each pass (default false). */
  shuffle?: boolean;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
  /** Seed of the shuffling generator (default 0). */
  seed?: number;
  /** Read only this process's share of each epoch (data-parallel training; see Shard). */
  shard?: Shard;
}

/** Where a DataLoader's shuffling stands, for checkpoints. */
export interface DataLoaderState {
  /** Passes started so far. */
  epoch: number;
  /** The shuffling generator's state (Random.getState()). */
  rng: number[];
}

/**
 * Batches of a dataset, in order or shuffled by a seeded generator (one permutation per pass,
 * reproducible from the seed). Iterate synchronously or with `for await`; dispose each batch.
 */
export class DataLoader implements BatchSource, Iterable<Batch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  private readonly random: Random;
  /** Passes started so far. */
  epoch = 0;
  /** This process's share of each pass in data-parallel training, or null for all of it. */
  shard: Shard | null = null;

  /** Batches over `dataset`. */
  constructor(readonly dataset: Dataset, options: DataLoaderOptions) {
    // NOTE: plain JS callers (or `const { train } = loadSample()`, which has no `train`) would otherwise get
    // an empty or crashing loader only at fit time.
    if (!dataset || typeof dataset.getBatch !== 'function' || !Number.isInteger(dataset.length)) {
      throw new Error(`DataLoader: the first argument must be a Dataset (e.g. loadSample({ split: 'train' }) or a TensorDataset), got ${describeValue(dataset)}`);
    }
    if (!options || typeof options !== 'object') throw new Error(`DataLoader: options must be an object like { batchSize: 64 }, got ${describeValue(options)}`);
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new Error(`DataLoader: batchSize must be a positive integer, got ${options.batchSize}`);
    this.batchSize = options.batchSize;
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.random = new Random(options.seed ?? 0);
    if (options.shard) this.setShard(options.shard);
  }

  /** Reads only `shard`'s share of every pass from now on (null: all of it); the shuffled order is still the seed's. */
  setShard(shard: Shard | null): void {
    this.shard = shard === null ? null : checkShard(shard, 'DataLoader');
  }

  /** Samples this process reads per pass (its shard's, when sharded). */
  private get samplesPerPass(): number {
    return this.shard ? shardLength(this.dataset.length, this.shard) : this.dataset.length;
  }

  /** Samples per pass. */
  get numSamples(): number {
    return this.dropLast ? this.length * this.batchSize : this.samplesPerPass;
  }

  /** Batches per pass. */
  get length(): number {
    const n = this.samplesPerPass;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The sample order of the next pass (advances the generator when shuffling), cut to the shard when sharded. */
  private nextOrder(): Int32Array {
    this.epoch++;
    const order = this.shuffle ? this.random.permutation(this.dataset.length) : Int32Array.from({ length: this.dataset.length }, (_, i) => i);
    return this.shard ? shardOrder(order, this.shard) : order;
  }

  /** The next pass, one batch at a time (built when requested); the consumer disposes each batch. */
  *[Symbol.iterator](): Iterator<Batch> {
    const order = this.nextOrder();
    for (let b = 0; b < this.length; b++) {
      yield this.dataset.getBatch(order.subarray(b * this.batchSize, Math.min(order.length, (b + 1) * this.batchSize)));
    }
  }

  /** The next pass, one batch at a time, in the same order as the sync iterator; dispose each batch. */
  async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
    for (const batch of this) {
      yield batch;
      // NOTE: a macrotask turn per batch (~µs) so timers, I/O and signal handlers (Ctrl-C, a dashboard)
      // still run during an epoch; awaiting a settled promise alone would only run microtasks.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** The same dataset in order (a DataLoader does not augment): batches of the same size, unshuffled. */
  withoutAugmentation(): DataLoader {
    return new DataLoader(this.dataset, { batchSize: this.batchSize, dropLast: this.dropLast });
  }

  /** Shuffling state (pass count and generator), for resuming. */
  getState(): DataLoaderState {
    return { epoch: this.epoch, rng: this.random.getState() };
  }

  /** Restores a state from getState(). */
  setState(state: DataLoaderState): void {
    if (!(Number.isInteger(state.epoch) && state.epoch >= 0)) throw new Error(`DataLoader: state epoch must be a non-negative integer, got ${state.epoch}`);
    this.epoch = state.epoch;
    this.random.setState(state.rng);
  }
}

/** A short description of a value for error messages. */
function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value !== 'object') return `${typeof value} ${JSON.stringify(value)}`;
  const keys = Object.keys(value).slice(0, 5);
  return `${value.constructor?.name ?? 'an object'}${keys.length ? ` with keys ${keys.join(', ')}` : ''}`;
}
