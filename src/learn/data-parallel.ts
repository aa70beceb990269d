/**
 * Data-parallel training for the Learner (PyTorch's DistributedDataParallel, on the same c10d engine): every rank
 * holds the whole model and trains on its own shard of each batch; gradients are averaged across ranks during
 * backward, so every rank takes the same optimizer step and the weights stay identical.
 */
import { tensor } from '../tensor/index.js';
import { GradientReducer, type ProcessGroup, getDefaultGroup } from '../distributed/index.js';
import type { BatchSource, Shard } from '../data/index.js';
import type { Callback } from './events.js';
import type { DataPair, Learner } from './learner.js';
import type { Metric } from './metrics.js';

/** Options of data-parallel training (`new Learner(model, data, { distributed: {...} })`). */
export interface DataParallelOptions {
  /** The process group (default: the one initProcessGroup() joined). */
  group?: ProcessGroup;
  /** Gradient bucket size in MiB (default 25, like DDP). */
  bucketCapMb?: number;
  /** Copy rank 0's buffers (batch-norm statistics) to every rank before each training step (default true, like DDP). */
  broadcastBuffers?: boolean;
  /** Allow parameters that get no gradient in some steps (default false). */
  findUnusedParameters?: boolean;
  /** Give each rank its shard of the loaders (default true): training padded like DistributedSampler, validation exact. */
  shardData?: boolean;
}

interface Shardable { shard: Shard | null; setShard(shard: Shard | null): void }

function shardable(source: BatchSource): source is BatchSource & Shardable {
  return typeof (source as Partial<Shardable>).setShard === 'function';
}

/**
 * The Learner's data-parallel callback. At the start of each fit it copies rank 0's weights and buffers to every rank
 * and sets up c10d's Reducer (bucketed all-reduce overlapping with backward); each training step arms it; training
 * loss and samples/s are summed over ranks, and validation (see reduceEvaluation) covers every rank's shard.
 */
export class DataParallel implements Callback {
  readonly name = 'DataParallel';
  // NOTE: first at every event: weights are synchronised before any other beforeFit, totals fixed before loggers read them.
  readonly order = -50;
  readonly group: ProcessGroup;
  private reducer: GradientReducer | null = null;
  private lossSum = 0;
  private samples = 0;

  /** Trains over `options.group` (default: the default process group). */
  constructor(readonly options: DataParallelOptions = {}) {
    this.group = options.group ?? getDefaultGroup();
  }

  /** Callbacks to add to the Learner: this one, and a barrier after the epoch's writers (rank 0 writes files). */
  callbacks(): Callback[] {
    const group = this.group;
    return [this, {
      name: 'DataParallelBarrier',
      order: 95,
      afterEpoch: () => group.barrier(),
      // NOTE: SaveModel's loadBestAtEnd runs on rank 0 only (it has the files); every rank ends with rank 0's weights.
      afterFit: (learn: Learner) => { group.broadcastTensors([...learn.model.stateDict().values()]); },
    }];
  }

  /** Gives each rank its shard of `data`'s loaders (unless a loader already has one). */
  shardData(data: DataPair): void {
    if (this.options.shardData === false) return;
    const { rank, worldSize } = this.group;
    const apply = (source: BatchSource, which: string, pad: boolean) => {
      if (!shardable(source)) {
        throw new Error(`DataParallel: the ${which} data (${source.constructor.name}) cannot be sharded; use a DataLoader or ImageLoader, give it a shard, or pass distributed: { shardData: false }`);
      }
      if (source.shard === null) source.setShard({ rank, worldSize, pad });
    };
    apply(data.train, 'train', true);
    if (data.valid) apply(data.valid, 'valid', false);
  }

  beforeFit(learn: Learner): void {
    this.reducer?.dispose();
    this.reducer = null;
    this.group.broadcastTensors([...learn.model.stateDict().values()]);
    const trainable = learn.model.namedParameters().filter(([, p]) => p.requiresGrad);
    this.reducer = new GradientReducer(this.group, trainable, { bucketCapMb: this.options.bucketCapMb, findUnusedParameters: this.options.findUnusedParameters });
  }

  beforeTrain(): void { this.lossSum = 0; this.samples = 0; }

  beforeBatch(learn: Learner): void {
    if (!learn.training || !this.reducer) return;
    this.reducer.prepareForward();
    if (this.options.broadcastBuffers ?? true) {
      const buffers = learn.model.namedBuffers().map(([, b]) => b);
      if (buffers.length > 0) this.group.broadcastTensors(buffers);
    }
  }

  beforeBackward(learn: Learner): void {
    this.reducer?.prepareForBackward(learn.loss ? [learn.loss] : []);
  }

  afterBatch(learn: Learner): void {
    if (!learn.training || !learn.yb || !Number.isFinite(learn.lossValue)) return;
    const n = learn.yb.shape[0];
    this.lossSum += learn.lossValue * n;
    this.samples += n;
  }

  async afterTrain(learn: Learner): Promise<void> {
    const [lossSum, samples] = await this.sum([this.lossSum, this.samples]);
    learn.trainLoss = samples > 0 ? lossSum / samples : NaN;
  }

  async afterEpoch(learn: Learner): Promise<void> {
    const record = learn.history[learn.history.length - 1];
    if (!record || record.epoch !== learn.epoch + 1) return;
    [record.samplesPerSecond] = await this.sum([record.samplesPerSecond]);
  }

  afterFit(): void {
    this.reducer?.dispose();
    this.reducer = null;
  }

  /** Sums numbers across ranks (in float64, on the group's device). */
  async sum(values: number[]): Promise<number[]> {
    const t = tensor(Float64Array.from(values)).toDevice(this.group.device);
    try {
      await this.group.allReduce(t);
      return Array.from(t.toArray() as Float64Array);
    } finally {
      t.dispose();
    }
  }

  /**
   * Totals of a validation pass over every rank's shard: loss sum, sample count and metric values. Each metric's
   * counts are summed and set back into it, so its value() is the global one; metrics without counts() are averaged
   * over samples.
   */
  async reduceEvaluation(lossSum: number, samples: number, metrics: Metric[]): Promise<{ lossSum: number; samples: number; values: Record<string, number> }> {
    const local = metrics.map((m) => (m.counts && m.setCounts ? m.counts() : [Number.isNaN(m.value()) ? 0 : m.value() * samples, samples]));
    // NOTE: a rank whose shard was empty has no confusion matrix yet; lengths are agreed first (max), then padded.
    const lengths = await this.max(local.map((c) => c.length));
    const flat = local.flatMap((c, i) => [...c, ...new Array<number>(lengths[i] - c.length).fill(0)]);
    const totals = await this.sum([lossSum, samples, ...flat]);
    const values: Record<string, number> = {};
    let offset = 2;
    metrics.forEach((m, i) => {
      const counts = totals.slice(offset, offset + lengths[i]);
      offset += lengths[i];
      if (m.counts && m.setCounts) {
        m.setCounts(counts);
        values[m.name] = m.value();
      } else {
        values[m.name] = counts[1] > 0 ? counts[0] / counts[1] : NaN;
      }
    });
    return { lossSum: totals[0], samples: totals[1], values };
  }

  private async max(values: number[]): Promise<number[]> {
    const t = tensor(Float64Array.from(values)).toDevice(this.group.device);
    try {
      await this.group.allReduce(t, { op: 'max' });
      return Array.from(t.toArray() as Float64Array);
    } finally {
      t.dispose();
    }
  }

  /** The error to report for `error` during a fit: names the lost rank when a collective failed (see ProcessGroup). */
  explain(error: unknown, learn: Learner): Promise<Error> {
    return this.group.explainFailure(error, `epoch ${learn.epoch + 1}${learn.training ? `, batch ${learn.batchIndex + 1}` : ' (validation)'}`);
  }
}
