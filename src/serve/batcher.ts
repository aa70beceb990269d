/**
 * Dynamic batching (TorchServe's batch aggregator, Ray Serve's @batch): requests wait until a batch is full or
 * the oldest has waited `maxDelayMs`, then run together; one batch runs at a time; a full queue refuses at once.
 */

/** Limits of a Batcher. */
export interface BatcherOptions {
  /** Most items in one run (default 16). */
  maxBatchSize?: number;
  /** Longest an item waits for others before its batch runs, in ms (default 5). 0 runs whatever is queued at once. */
  maxDelayMs?: number;
  /** Most items waiting; more are refused with QueueFullError (default 256). */
  maxQueue?: number;
}

/** The queue is full: the caller should answer 503 and let the client retry. */
export class QueueFullError extends Error {
  override name = 'QueueFullError';
}

/** The caller gave up (its AbortSignal fired) before its item ran. */
export class AbortedError extends Error {
  override name = 'AbortedError';
}

interface Pending<I, O> {
  item: I;
  size: number;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** Sizes of the batches run so far, for metrics. */
export type BatchObserver = (items: number, units: number) => void;

/**
 * Collects items into batches for `run`, which must return one output per input, in order. Each item has a
 * size in units (e.g. images in a request); a batch holds up to `maxBatchSize` units (an item bigger than that
 * runs alone). An error in `run` fails every item of that batch; the others are unaffected.
 */
export class Batcher<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private readonly options: Required<BatcherOptions>;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private queuedUnits = 0;
  private idleWaiters: (() => void)[] = [];

  /** Batches for `run`; `observe` hears the size of each batch that runs. */
  constructor(private readonly run: (items: I[]) => Promise<O[]> | O[], options: BatcherOptions = {}, private readonly observe?: BatchObserver) {
    this.options = { maxBatchSize: options.maxBatchSize ?? 16, maxDelayMs: options.maxDelayMs ?? 5, maxQueue: options.maxQueue ?? 256 };
    for (const [key, value] of Object.entries(this.options)) {
      if (!(Number.isInteger(value) && value >= (key === 'maxDelayMs' ? 0 : 1))) throw new Error(`Batcher: ${key} must be an integer >= ${key === 'maxDelayMs' ? 0 : 1}, got ${value}`);
    }
  }

  /** Units waiting to run. */
  get queued(): number { return this.queuedUnits; }

  /** Whether a batch is running or items are waiting. */
  get busy(): boolean { return this.running || this.queue.length > 0; }

  /** Queues `item` (of `size` units); resolves with its output. Rejects with QueueFullError or AbortedError. */
  submit(item: I, size = 1, signal?: AbortSignal): Promise<O> {
    if (signal?.aborted) return Promise.reject(new AbortedError('request aborted before it was queued'));
    if (this.queuedUnits + size > this.options.maxQueue && this.queue.length > 0) {
      return Promise.reject(new QueueFullError(`server busy: ${this.queuedUnits} images queued (limit ${this.options.maxQueue}); retry later`));
    }
    return new Promise<O>((resolve, reject) => {
      const pending: Pending<I, O> = { item, size, resolve, reject, signal };
      if (signal) {
        // NOTE: an item that already left the queue runs anyway; only waiting items are dropped (TorchServe drops expired requests the same way).
        pending.onAbort = () => {
          const i = this.queue.indexOf(pending);
          if (i < 0) return;
          this.queue.splice(i, 1);
          this.queuedUnits -= size;
          reject(new AbortedError('request aborted while queued'));
          this.notifyIdle();
        };
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      this.queue.push(pending);
      this.queuedUnits += size;
      this.schedule();
    });
  }

  /** Resolves when nothing is running or waiting (for graceful shutdown). */
  drain(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    if (this.busy) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.queuedUnits >= this.options.maxBatchSize || this.options.maxDelayMs === 0) {
      this.clearTimer();
      // NOTE: setImmediate, not a direct call: items submitted in the same turn of the event loop join the batch.
      setImmediate(() => void this.runBatch());
      return;
    }
    this.timer ??= setTimeout(() => { this.timer = null; void this.runBatch(); }, this.options.maxDelayMs);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private take(): Pending<I, O>[] {
    const batch: Pending<I, O>[] = [];
    let units = 0;
    while (this.queue.length > 0 && (batch.length === 0 || units + this.queue[0].size <= this.options.maxBatchSize)) {
      const next = this.queue.shift()!;
      units += next.size;
      batch.push(next);
    }
    this.queuedUnits -= units;
    return batch;
  }

  private async runBatch(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    this.clearTimer();
    const batch = this.take();
    for (const p of batch) if (p.signal && p.onAbort) p.signal.removeEventListener('abort', p.onAbort);
    try {
      this.observe?.(batch.length, batch.reduce((s, p) => s + p.size, 0));
      const outputs = await this.run(batch.map((p) => p.item));
      if (outputs.length !== batch.length) throw new Error(`batch function returned ${outputs.length} outputs for ${batch.length} inputs`);
      batch.forEach((p, i) => p.resolve(outputs[i]));
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      this.running = false;
      this.schedule();
      this.notifyIdle();
    }
  }
}
