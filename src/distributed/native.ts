/** Typed access to the addon's c10d functions (native/distributed.cc), and why they may be missing. */
import { native } from '../tensor/native.js';

/** Raw c10d functions of the addon: integer ids for stores, groups, collectives and reducers. */
export interface DistributedBinding {
  backends(): { gloo: boolean; nccl: boolean };
  createStore(host: string, port: number, isServer: boolean, numWorkers: number, timeoutMs: number, waitWorkers: boolean, multiTenant: boolean): Promise<[number, number]>;
  prefixStore(store: number, prefix: string): number;
  storeAdd(store: number, key: string, amount: number): number;
  storeSet(store: number, key: string, value: string): void;
  storeGet(store: number, key: string): string;
  storeCheck(store: number, keys: string[]): boolean;
  releaseStore(store: number): void;
  createGroup(store: number, rank: number, size: number, backend: string, timeoutMs: number, glooHostname: string, glooInterface: string): Promise<number>;
  setSequenceNumber(group: number): Promise<void>;
  releaseGroup(group: number): Promise<void>;
  allReduce(group: number, tensor: number, op: number): number;
  broadcast(group: number, tensor: number, root: number): number;
  allGather(group: number, outputs: number[], input: number): number;
  barrier(group: number): number;
  wait(work: number, timeoutMs: number): void;
  waitAsync(work: number): Promise<void>;
  createReducer(group: number, params: number[], names: string[], bucketBytes: number, firstBucketBytes: number, findUnused: boolean): number;
  reducerPrepareForward(reducer: number): void;
  reducerPrepareForBackward(reducer: number, outputs: number[]): void;
  releaseReducer(reducer: number): void;
  startHeartbeat(host: string, port: number, key: string, intervalMs: number): number;
  stopHeartbeat(id: number): void;
}

/** Which backends this build of Kestrel can use, and why not when it cannot. */
export interface DistributedSupport {
  /** Whether process groups exist at all (the addon was built with gloo's headers). */
  available: boolean;
  gloo: boolean;
  nccl: boolean;
  /** Why distributed training is unavailable ('' when it is available). */
  reason: string;
}

const binding = native.dist as DistributedBinding | undefined;

/** What this build supports (gloo always when available; NCCL only with a CUDA libtorch and nccl.h at build time). */
export function distributedSupport(): DistributedSupport {
  if (!binding) {
    return {
      available: false, gloo: false, nccl: false,
      reason: "this Kestrel addon was built without c10d process groups (gloo's headers were not found at build time, or " +
        'KESTREL_DISTRIBUTED=0): on Debian/Ubuntu apt-get install libgloo-dev, then npm rebuild kestrel; `node native/find-distributed.cjs` says what the build sees',
    };
  }
  return { available: true, ...binding.backends(), reason: '' };
}

/** The c10d binding, or a clear error saying why this build has none. */
export function dist(): DistributedBinding {
  if (!binding) throw new Error(`distributed: ${distributedSupport().reason}`);
  return binding;
}
