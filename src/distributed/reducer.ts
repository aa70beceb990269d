/**
 * Gradient averaging for data-parallel training, done by c10d's Reducer, the engine inside PyTorch's
 * DistributedDataParallel: parameters are grouped into flat buckets (about bucketCapMb each, the first 1 MB); hooks on
 * the gradient accumulators copy each gradient into its bucket, divided by the world size, and start the bucket's
 * all-reduce as soon as the bucket is full, so communication overlaps with the rest of backward; the end of backward
 * waits for every bucket and copies the averages back into `.grad`.
 */
import type { Tensor } from '../tensor/index.js';
import { dist } from './native.js';
import type { ProcessGroup } from './process-group.js';

/** Options of a GradientReducer (DistributedDataParallel's). */
export interface GradientReducerOptions {
  /** Bucket size in MiB (default 25, DDP's bucket_cap_mb). */
  bucketCapMb?: number;
  /** Allow parameters that get no gradient in some steps (default false; costs a graph walk per step). */
  findUnusedParameters?: boolean;
}

/** Averages the gradients of `params` across the group's ranks during every armed backward. */
export class GradientReducer {
  private id: number | null;
  readonly params: Tensor[];

  /** Buckets `params` (named for error messages); checks that every rank has the same shapes (a collective). */
  constructor(readonly group: ProcessGroup, named: [string, Tensor][], readonly options: GradientReducerOptions = {}) {
    const capMb = options.bucketCapMb ?? 25;
    if (!(capMb > 0)) throw new Error(`distributed: bucketCapMb must be positive, got ${String(capMb)}`);
    if (named.length === 0) throw new Error('distributed: the model has no trainable parameters to average');
    this.params = named.map(([, p]) => p);
    try {
      this.id = dist().createReducer(group.nativeId(), this.params.map((p) => p.handle), named.map(([n]) => n), Math.round(capMb * 1024 * 1024), 1024 * 1024, options.findUnusedParameters ?? false);
    } catch (error) {
      throw new Error(`distributed: rank ${group.rank}: the model differs between ranks or a rank is gone: ${(error as Error).message}`, { cause: error });
    }
  }

  private get reducerId(): number {
    if (this.id === null) throw new Error('distributed: GradientReducer used after dispose()');
    return this.id;
  }

  /** Starts a training step (before forward). After the first step it re-buckets once in gradient-arrival order. */
  prepareForward(): void {
    dist().reducerPrepareForward(this.reducerId);
  }

  /** Arms the hooks for the coming backward; `outputs` matter only with findUnusedParameters. */
  prepareForBackward(outputs: Tensor[] = []): void {
    dist().reducerPrepareForBackward(this.reducerId, this.options.findUnusedParameters ? outputs.map((t) => t.handle) : []);
  }

  /** Removes the hooks (the parameters train alone again). */
  dispose(): void {
    if (this.id === null) return;
    dist().releaseReducer(this.id);
    this.id = null;
  }
}
