/**
 * ImageLoader: a BatchSource over an ImageDataset. Decoding and augmentation run in worker threads with
 * prefetch; batches come out in order and are identical for a given seed whatever the number of workers.
 */
import { availableParallelism } from 'node:os';
import { type MemoryFormat, keep, tensor } from '../../tensor/index.js';
import type { Batch } from '../dataset.js';
import type { BatchSource } from '../loader.js';
import { type Shard, checkShard, shardLength, shardOrder } from '../sampler.js';
import { type BadImage, BadImageLog, type OnBadImage } from './bad-image.js';
import { type DecodeOptions, resolveDecodeOptions } from './decode.js';
import { type ImageDataset } from './folder-dataset.js';
import { type Normalization, resolveNormalization } from './normalize.js';
import { type Preprocessing, pixelsToBatch } from './preprocess.js';
import { epochOrder } from './rng.js';
import { type ImageTransforms, isDeterministic, outputSize, validateTransforms } from './transforms.js';
import { type BatchResult, type BatchTask } from './worker-task.js';
import { WorkerPool } from './worker-pool.js';

const CACHE_LIMIT_BYTES = 2 ** 30;

/** Loader settings. */
export interface ImageLoaderOptions {
  /** Samples per batch (default 64). */
  batchSize?: number;
  /** Shuffle every epoch (default false). */
  shuffle?: boolean;
  /** Seed of shuffling and augmentation (default 0). */
  seed?: number;
  /** Drop a last, smaller batch (default false). */
  dropLast?: boolean;
  /** Per-sample transforms; null decodes at the stored size (all images must then agree). */
  transforms?: ImageTransforms | null;
  /** Channels, alpha handling, pixel limit. */
  decode?: DecodeOptions;
  /** Normalisation of x: 'imagenet', {mean, std} (0-1 scale), or 'none' (x in [0, 1]). Default 'none'. */
  normalize?: Normalization;
  /** Worker threads (default min(4, cores)); 0 runs in this thread. */
  workers?: number;
  /** Batches loading at once (default 2 per worker, at least 2). */
  prefetch?: number;
  /** Images in flight per worker (default 4; hides sharp's thread hand-offs). */
  workerConcurrency?: number;
  /**
   * Keep decoded samples in memory after the first epoch: 'auto' (default) when the transforms draw nothing
   * at random and the samples fit in 1 GiB (e.g. Fashion-MNIST as PNGs: 47 MB), else true or false.
   */
  cache?: boolean | 'auto';
  /** Files that fail to decode: 'skip' (default; summary logged at the end of the epoch) or 'error'. */
  onBadImage?: OnBadImage;
  /** Where the end-of-epoch summary goes (default console.warn). */
  log?: (message: string) => void;
  /** Read only this process's share of each epoch (data-parallel training; see Shard). */
  shard?: Shard;
}

/** Where an ImageLoader stands, for checkpoints. */
export interface ImageLoaderState {
  /** Epochs started so far. */
  epoch: number;
  /** The loader's seed (a state only fits a loader with the same seed). */
  seed: number;
}

/** Yields NCHW float32 `{x, y}` batches (y int64 labels; -1 when unlabelled), contiguous or channels-last. The consumer disposes each batch. */
export class ImageLoader implements BatchSource {
  /** Next epoch number; each iteration uses it (seeding order and augmentation) and then increments it. */
  epoch = 0;
  /** Files that failed while loading (across epochs). */
  readonly skipped = new BadImageLog();
  /** Layout of the batches: 'channels-last' skips the HWC-to-CHW copy (the Learner sets it for convolutional models). */
  memoryFormat: MemoryFormat = 'contiguous';
  /** This process's share of each epoch in data-parallel training, or null for all of it. */
  shard: Shard | null = null;
  private readonly options: Required<Omit<ImageLoaderOptions, 'transforms' | 'decode' | 'log' | 'cache' | 'shard'>> & Pick<ImageLoaderOptions, 'log'>;
  /** Decoded samples by dataset index (null: known bad), when caching. */
  private readonly cache: Map<number, Uint8Array | null> | null;
  private cachedShape: [number, number, number] = [0, 0, 0];
  /** The per-sample transforms (null: decoded at the stored size). */
  readonly transforms: ImageTransforms | null;
  private readonly decode: ReturnType<typeof resolveDecodeOptions>;
  private readonly stats: { mean: number[]; std: number[] } | null;
  private pool: WorkerPool | null = null;
  private readonly init: ImageLoaderOptions;

  /** Builds a loader; workers start on the first iteration. */
  constructor(readonly dataset: ImageDataset, options: ImageLoaderOptions = {}) {
    this.init = options;
    const workers = options.workers ?? Math.min(4, availableParallelism());
    this.options = {
      batchSize: options.batchSize ?? 64, shuffle: options.shuffle ?? false, seed: options.seed ?? 0, dropLast: options.dropLast ?? false,
      normalize: options.normalize ?? 'none', workers, prefetch: options.prefetch ?? Math.max(2, 2 * workers),
      workerConcurrency: options.workerConcurrency ?? 4, onBadImage: options.onBadImage ?? 'skip', log: options.log,
    };
    if (!(Number.isInteger(this.options.batchSize) && this.options.batchSize > 0)) throw new Error(`batchSize must be a positive integer, got ${this.options.batchSize}`);
    if (!(Number.isInteger(workers) && workers >= 0)) throw new Error(`workers must be a non-negative integer, got ${workers}`);
    this.transforms = options.transforms ?? null;
    if (this.transforms) validateTransforms(this.transforms);
    this.decode = resolveDecodeOptions(options.decode);
    this.stats = resolveNormalization(this.options.normalize, this.decode.channels);
    const [h, w] = this.transforms ? outputSize(this.transforms) : [0, 0];
    const fits = dataset.length * h * w * this.decode.channels <= CACHE_LIMIT_BYTES;
    const cache = options.cache ?? 'auto';
    this.cache = cache === true || (cache === 'auto' && this.transforms !== null && isDeterministic(this.transforms) && fits) ? new Map() : null;
    if (options.shard) this.setShard(options.shard);
  }

  /** Reads only `shard`'s share of every epoch from now on (null: all of it); order and augmentation stay the seed's. */
  setShard(shard: Shard | null): void {
    this.shard = shard === null ? null : checkShard(shard, 'ImageLoader');
  }

  /** Samples this process reads per epoch (its shard's, when sharded). */
  private get samplesPerEpoch(): number {
    return this.shard ? shardLength(this.dataset.length, this.shard) : this.dataset.length;
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.samplesPerEpoch; const bs = this.options.batchSize;
    return this.options.dropLast ? Math.floor(n / bs) : Math.ceil(n / bs);
  }

  /** Samples per epoch (before any skipped at decode time). */
  get numSamples(): number { return this.options.dropLast ? this.length * this.options.batchSize : this.samplesPerEpoch; }

  /** Shape of one sample, [channels, height, width], when the transforms fix it. */
  get inputShape(): [number, number, number] | null {
    if (!this.transforms) return null;
    const [h, w] = outputSize(this.transforms);
    return [this.decode.channels, h, w];
  }

  /** Class names of the dataset. */
  get classes(): string[] { return this.dataset.classes; }

  /** Per-channel mean and std applied to x (0-1 scale), or null. */
  get normalization(): { mean: number[]; std: number[] } | null { return this.stats; }

  private tasks(epoch: number): BatchTask[] {
    const full = epochOrder(this.dataset.length, this.options.seed, epoch, this.options.shuffle);
    const order = this.shard ? shardOrder(full, this.shard) : full;
    const tasks: BatchTask[] = [];
    for (let b = 0; b < this.length; b++) {
      const indices = Array.from(order.subarray(b * this.options.batchSize, (b + 1) * this.options.batchSize));
      tasks.push({ id: b, epoch, indices, files: indices.map((i) => this.dataset.items[i].file) });
    }
    return tasks;
  }

  private getPool(): WorkerPool {
    this.pool ??= new WorkerPool(this.options.workers, {
      decode: this.decode, transforms: this.transforms, seed: this.options.seed, concurrency: this.options.workerConcurrency,
    });
    return this.pool;
  }

  /** Turns a worker's packed uint8 HWC buffer into a normalised NCHW float32 batch. */
  private toBatch(result: BatchResult): Batch {
    const { height, width, channels } = result;
    const n = result.indices.length;
    const labels = BigInt64Array.from(result.indices, (i) => BigInt(this.dataset.items[i].label));
    return { x: pixelsToBatch(new Uint8Array(result.data), n, height, width, channels, this.stats, this.memoryFormat), y: keep(tensor(labels, [n])) };
  }

  /**
   * How this loader turns one file into a sample, for predicting single images the same way; null when its
   * transforms are random (a training loader) or absent.
   */
  get preprocessing(): Preprocessing | null {
    if (!this.transforms || !isDeterministic(this.transforms)) return null;
    return { transforms: this.transforms, decode: this.decode, normalize: this.stats ?? 'none' };
  }

  /** The task's result rebuilt from the cache, or null when a sample is missing. */
  private fromCache(task: BatchTask): Promise<BatchResult> | null {
    if (!this.cache || !task.indices.every((i) => this.cache!.has(i))) return null;
    const [height, width, channels] = this.cachedShape;
    const kept = task.indices.filter((i) => this.cache!.get(i));
    const size = height * width * channels;
    const data = new Uint8Array(kept.length * size);
    kept.forEach((i, k) => data.set(this.cache!.get(i)!, k * size));
    // NOTE: known-bad files are not retried; they were reported when first met.
    return Promise.resolve({ id: task.id, indices: kept, data: data.buffer, height, width, channels, bad: [] });
  }

  private toCache(result: BatchResult): BatchResult {
    if (!this.cache) return result;
    const { height, width, channels } = result;
    const size = height * width * channels;
    if (result.indices.length > 0) this.cachedShape = [height, width, channels];
    // NOTE: copies, because the batch buffer goes on to become a tensor.
    result.indices.forEach((index, k) => this.cache!.set(index, new Uint8Array(result.data, k * size, size).slice()));
    for (const b of result.bad) this.cache.set(b.index, null);
    return result;
  }

  private recordBad(bad: BadImage[]): void {
    if (bad.length === 0) return;
    if (this.options.onBadImage === 'error') {
      throw new Error(`bad image ${bad[0].file}: ${bad[0].reason}${bad.length > 1 ? ` (and ${bad.length - 1} more in this batch)` : ''}`);
    }
    for (const b of bad) this.skipped.add(b);
  }

  /**
   * Decodes every sample into the cache now, when this loader caches (deterministic transforms whose samples fit in
   * memory) and the cache is not full yet, logging a line before and after. `Learner.fit` calls it, so the first
   * epoch trains on cached samples like the others instead of counting the decoding as training time.
   */
  async prepare(): Promise<void> {
    const cache = this.cache;
    if (!cache || cache.size >= this.dataset.length) return;
    const log = this.options.log ?? console.warn;
    const started = performance.now();
    const skippedBefore = this.skipped.size;
    const count = this.dataset.length.toLocaleString('en-US');
    log(`kestrel: decoding ${count} images of ${this.dataset.description} into memory once, before training (every epoch reuses them)`);
    const pool = this.getPool();
    const missing = this.dataset.items.map((_, i) => i).filter((i) => !cache.has(i));
    const tasks: BatchTask[] = [];
    for (let at = 0; at < missing.length; at += this.options.batchSize) {
      const indices = missing.slice(at, at + this.options.batchSize);
      tasks.push({ id: tasks.length, epoch: 0, indices, files: indices.map((i) => this.dataset.items[i].file) });
    }
    let next = 0;
    const worker = async () => {
      while (next < tasks.length) {
        const result = this.toCache(await pool.run(tasks[next++]));
        this.recordBad(result.bad);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.options.prefetch, tasks.length) }, worker));
    } catch (error) {
      await this.close();
      throw error;
    }
    const seconds = (performance.now() - started) / 1000;
    log(`kestrel: decoded ${count} images in ${seconds.toFixed(1)} s (${Math.round(missing.length / seconds).toLocaleString('en-US')} images/s)`);
    if (this.skipped.size > skippedBefore) log(`kestrel: ${this.skipped.summary(this.dataset.length)}`);
  }

  /** One epoch of batches, in order, loading up to `prefetch` batches ahead. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    const epoch = this.epoch++;
    const tasks = this.tasks(epoch);
    const pool = this.getPool();
    const inFlight = new Map<number, Promise<BatchResult>>();
    const skippedBefore = this.skipped.size;
    let dispatched = 0;
    const fill = () => {
      while (dispatched < tasks.length && inFlight.size < this.options.prefetch) {
        const promise = this.fromCache(tasks[dispatched]) ?? pool.run(tasks[dispatched]).then((r) => this.toCache(r));
        promise.catch(() => undefined); // NOTE: awaited below in order; this stops an unhandled-rejection crash meanwhile.
        inFlight.set(dispatched++, promise);
      }
    };
    try {
      for (let b = 0; b < tasks.length; b++) {
        fill();
        const result = await inFlight.get(b)!;
        inFlight.delete(b);
        fill();
        this.recordBad(result.bad);
        if (result.indices.length > 0) yield this.toBatch(result);
      }
    } catch (error) {
      await this.close(); // NOTE: a failed epoch leaves no worker behind; the next one starts fresh.
      throw error;
    }
    if (this.skipped.size > skippedBefore) (this.options.log ?? console.warn)(`kestrel: ${this.skipped.summary(this.dataset.length)}`);
  }

  /**
   * A loader over the same files, decoding and normalisation, in order and without random
   * transforms: random crops become the centre crop of the same size, flips, warps and lighting
   * are dropped (imageFolderLoaders' validation transforms). Close it when done.
   */
  withoutAugmentation(): ImageLoader {
    const t = this.transforms;
    const random = t?.randomResizedCrop !== undefined && t.randomResizedCrop !== false;
    const plain: ImageTransforms | null = t === null ? null : {
      size: t.size, resize: random ? 'crop' : t.resize, ...(random || t.cropFraction === undefined ? {} : { cropFraction: t.cropFraction }),
      ...(t.kernel === undefined ? {} : { kernel: t.kernel }),
    };
    return new ImageLoader(this.dataset, { ...this.init, transforms: plain, shuffle: false, cache: false });
  }

  /** Where the loader stands, for checkpoints: order and augmentation are functions of (seed, epoch, index) alone. */
  getState(): ImageLoaderState { return { epoch: this.epoch, seed: this.options.seed }; }

  /** Restores a state from getState(); the next iteration replays that epoch's order and augmentation. */
  setState(state: ImageLoaderState): void {
    if (!Number.isInteger(state?.epoch) || state.epoch < 0) throw new Error(`ImageLoader.setState: epoch must be a non-negative integer, got ${JSON.stringify(state?.epoch)}`);
    if (state.seed !== this.options.seed) throw new Error(`ImageLoader.setState: the state was saved with seed ${state.seed}, this loader has seed ${this.options.seed}`);
    this.epoch = state.epoch;
  }

  /** Stops the worker threads (the loader can be iterated again; workers restart). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.close();
  }
}
