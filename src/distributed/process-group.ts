/** A c10d process group: collectives over tensors across ranks, awaited as Promises or waited on synchronously. */
import { type Tensor, cat, isFloating, noGrad, op, tidy } from '../tensor/index.js';
import { dist } from './native.js';
import { Heartbeat, type StoreHost, explainDiagnosis, isCommunicationFailure } from './health.js';
import type { Store } from './store.js';

/** Communication backends: gloo (CPU and CUDA tensors, any machine) and NCCL (CUDA tensors; CUDA builds only). */
export type Backend = 'gloo' | 'nccl';

/** Reductions of allReduce (torch.distributed.ReduceOp). */
export type ReduceOp = 'sum' | 'avg' | 'product' | 'min' | 'max' | 'band' | 'bor' | 'bxor';

const REDUCE_CODES: Record<ReduceOp, number> = { sum: 0, avg: 1, product: 2, min: 3, max: 4, band: 5, bor: 6, bxor: 7 };

/** What a ProcessGroup is made of (see initProcessGroup). */
export interface ProcessGroupParts {
  id: number;
  rank: number;
  worldSize: number;
  backend: Backend;
  /** Where this rank's collective tensors live: 'cpu' for gloo, 'cuda:N' for NCCL. */
  device: string;
  timeoutMs: number;
  store: Store;
  storeHost: StoreHost;
  /** Store handles the group created for itself, closed by destroy(). */
  ownedStores?: Store[];
}

/**
 * Ranks 0..worldSize-1 that run collectives together (torch.distributed's ProcessGroup). Every rank must call the same
 * collectives in the same order. Async methods return Promises that settle when the collective completes, leaving the
 * event loop free meanwhile; *Sync methods block (for use inside a training step), bounded by the group's timeout.
 * A tensor handed to a collective must not be read or written until it completes. Failures name the lost rank.
 */
export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly backend: Backend;
  readonly device: string;
  readonly timeoutMs: number;
  /** The rendezvous store (torch's default_pg view of it). */
  readonly store: Store;
  private id: number | null;
  private readonly heartbeat: Heartbeat;
  private readonly storeHost: StoreHost;
  private readonly ownedStores: Store[];

  /** Wraps a native group; use initProcessGroup(). */
  constructor(parts: ProcessGroupParts) {
    ({ rank: this.rank, worldSize: this.worldSize, backend: this.backend, device: this.device, timeoutMs: this.timeoutMs, store: this.store, storeHost: this.storeHost } = parts);
    this.id = parts.id;
    this.ownedStores = parts.ownedStores ?? [];
    this.heartbeat = new Heartbeat(parts.store, parts.rank, parts.worldSize);
    this.heartbeat.start();
  }

  /** Whether destroy() has run. */
  get isDestroyed(): boolean { return this.id === null; }

  private get groupId(): number {
    if (this.id === null) throw new Error(`distributed: process group of rank ${this.rank} used after destroyProcessGroup()`);
    return this.id;
  }

  /** Reduces `tensor` in place across ranks (sum by default); resolves to the same tensor once every rank has sent. */
  async allReduce(tensor: Tensor, options: { op?: ReduceOp } = {}): Promise<Tensor> {
    const op = options.op ?? 'sum';
    await this.settle(() => this.run(tensor, (handle) => dist().allReduce(this.groupId, handle, this.nativeOp(op, tensor)), true) as Promise<void>, `allReduce(${op})`);
    this.finishAvg(tensor, op);
    return tensor;
  }

  /** allReduce, blocking this thread until done (inside a training step). */
  allReduceSync(tensor: Tensor, options: { op?: ReduceOp } = {}): Tensor {
    const op = options.op ?? 'sum';
    this.run(tensor, (handle) => dist().allReduce(this.groupId, handle, this.nativeOp(op, tensor)), false);
    this.finishAvg(tensor, op);
    return tensor;
  }

  /** Copies `tensor` from rank `src` into every rank's `tensor` (in place). */
  async broadcast(tensor: Tensor, options: { src?: number } = {}): Promise<Tensor> {
    const src = this.checkRank(options.src ?? 0, 'broadcast src');
    await this.settle(() => this.run(tensor, (handle) => dist().broadcast(this.groupId, handle, src), true) as Promise<void>, 'broadcast');
    return tensor;
  }

  /** broadcast, blocking this thread until done. */
  broadcastSync(tensor: Tensor, options: { src?: number } = {}): Tensor {
    const src = this.checkRank(options.src ?? 0, 'broadcast src');
    this.run(tensor, (handle) => dist().broadcast(this.groupId, handle, src), false);
    return tensor;
  }

  /** Every rank's `tensor`, in rank order (new tensors the caller owns; all ranks must pass the same shape). */
  async allGather(tensor: Tensor): Promise<Tensor[]> {
    const input = tensor.isContiguous ? tensor : tensor.contiguous();
    const outputs = Array.from({ length: this.worldSize }, () => op('aten::empty_like', '', [input.handle, null, null, null, null, null]));
    try {
      await this.settle(() => dist().waitAsync(dist().allGather(this.groupId, outputs.map((t) => t.handle), input.handle)), 'allGather');
    } catch (error) {
      for (const t of outputs) t.dispose();
      throw error;
    } finally {
      if (input !== tensor) input.dispose();
    }
    return outputs;
  }

  /** Resolves once every rank has reached this barrier. */
  async barrier(): Promise<void> {
    await this.settle(() => dist().waitAsync(dist().barrier(this.groupId)), 'barrier');
  }

  /**
   * Copies many tensors from rank `src` to every rank, in flattened chunks of at most `bucketBytes` per dtype (what
   * DistributedDataParallel does at start and, for buffers, before each step); blocks until done. Values are copied
   * back into each tensor, so layouts (channels-last weights) are kept.
   */
  broadcastTensors(tensors: Tensor[], options: { src?: number; bucketBytes?: number } = {}): void {
    const src = this.checkRank(options.src ?? 0, 'broadcastTensors src');
    const bucketBytes = options.bucketBytes ?? 250 * 1024 * 1024;
    const byType = new Map<string, Tensor[]>();
    for (const t of tensors) byType.set(`${t.dtype}@${t.device}`, [...(byType.get(`${t.dtype}@${t.device}`) ?? []), t]);
    for (const group of byType.values()) {
      let bucket: Tensor[] = [];
      let bytes = 0;
      const flush = () => { if (bucket.length > 0) this.broadcastBucket(bucket, src); bucket = []; bytes = 0; };
      for (const t of group) {
        const size = t.size * 8; // NOTE: an upper bound of the element size is enough to size buckets.
        if (bytes > 0 && bytes + size > bucketBytes) flush();
        bucket.push(t);
        bytes += size;
      }
      flush();
    }
  }

  private broadcastBucket(tensors: Tensor[], src: number): void {
    noGrad(() => tidy(() => {
      const flat = cat(tensors.map((t) => t.detach().reshape(-1)));
      this.broadcastSync(flat, { src });
      if (this.rank === src) return;
      let offset = 0;
      for (const t of tensors) {
        t.copy_(flat.slice(0, offset, offset + t.size).view(t.shape));
        offset += t.size;
      }
    }));
  }

  /** Publishes this rank's failure so the other ranks can name it (called before a failing rank gives up). */
  reportFailure(error: unknown): void {
    this.heartbeat.report(error instanceof Error ? error.message : String(error));
  }

  /**
   * The error to show for a failure during `during`: when a collective failed, asks the store which rank stopped its
   * heartbeat (takes ~3 s) and returns a RankLostError naming it; other errors come back unchanged.
   */
  async explainFailure(error: unknown, during = 'training'): Promise<Error> {
    const original = error instanceof Error ? error : new Error(String(error));
    if (original.name === 'RankLostError') return original;
    if (!isCommunicationFailure(original)) {
      // NOTE: this rank fails for its own reason: publish it, so the others name it when they lose this rank.
      this.reportFailure(original);
      return original;
    }
    const diagnosis = await this.heartbeat.diagnose();
    return explainDiagnosis(original, diagnosis, {
      rank: this.rank, worldSize: this.worldSize, during, storeAddress: `${this.store.host}:${this.store.port}`, storeHost: this.storeHost, timeoutMs: this.timeoutMs,
    });
  }

  /** Stops the heartbeat and releases the group (pending collectives fail); use destroyProcessGroup() for the default group. */
  async destroy(): Promise<void> {
    if (this.id === null) return;
    const id = this.id;
    this.id = null;
    this.heartbeat.stop();
    await dist().releaseGroup(id);
    // NOTE: rank 0's server stops with its last handle; ranks still finishing need no store after the start.
    for (const store of this.ownedStores) store.close();
  }

  /** The native group id, for the reducer (throws after destroy). */
  nativeId(): number { return this.groupId; }

  /** e.g. `ProcessGroup(gloo, rank 0 of 2)`. */
  toString(): string { return `ProcessGroup(${this.backend}, rank ${this.rank} of ${this.worldSize}${this.isDestroyed ? ', destroyed' : ''})`; }

  // NOTE: how collectives wait without hanging Node. Async: the c10d Work's future settles a Promise through a
  // thread-safe function when the backend finishes (no thread is parked, the event loop keeps turning). Sync (inside a
  // training step, which is synchronous anyway): Work::wait with the group's timeout. Either way gloo's own per-op
  // timeout (the group's) ends a collective whose peer never answers, and a dead peer's closed socket ends it at once.
  // Gloo reads tensors as flat memory, so a strided view goes through a contiguous copy that is copied back.
  private run(tensor: Tensor, start: (handle: number) => number, async: boolean): Promise<void> | void {
    const dense = tensor.isContiguous ? tensor : tensor.contiguous();
    const copyBack = () => { if (dense !== tensor) { noGrad(() => tensor.copy_(dense)); dense.dispose(); } };
    if (!async) {
      try {
        dist().wait(start(dense.handle), this.timeoutMs);
      } catch (error) {
        throw new Error(`distributed: rank ${this.rank}: ${(error as Error).message}`, { cause: error });
      }
      copyBack();
      return;
    }
    return dist().waitAsync(start(dense.handle)).then(copyBack);
  }

  private async settle(start: () => Promise<void>, during: string): Promise<void> {
    try {
      await start();
    } catch (error) {
      throw await this.explainFailure(error, during);
    }
  }

  private nativeOp(op: ReduceOp, tensor: Tensor): number {
    if (!(op in REDUCE_CODES)) throw new Error(`distributed: unknown reduce op '${String(op)}' (${Object.keys(REDUCE_CODES).join(', ')})`);
    if (op === 'avg' && !isFloating(tensor.dtype)) throw new Error(`distributed: allReduce avg needs a floating tensor, got ${tensor.dtype}`);
    // NOTE: gloo has no AVG; it sums and finishAvg divides (NCCL averages natively).
    return op === 'avg' && this.backend === 'gloo' ? REDUCE_CODES.sum : REDUCE_CODES[op];
  }

  private finishAvg(tensor: Tensor, op: ReduceOp): void {
    if (op === 'avg' && this.backend === 'gloo') noGrad(() => tensor.mul_(1 / this.worldSize));
  }

  private checkRank(rank: number, what: string): number {
    if (!Number.isInteger(rank) || rank < 0 || rank >= this.worldSize) throw new Error(`distributed: ${what} must be a rank in [0, ${this.worldSize - 1}], got ${String(rank)}`);
    return rank;
  }
}
