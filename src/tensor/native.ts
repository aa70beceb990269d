/** Loading and configuring Kestrel's libtorch addon; the only file that touches it directly. */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { addonPath } from './addon-path.js';
import { ensureAddonsBuilt } from './addon-build.js';

/** Raw functions of the native addon (integer handles, see native/kestrel.cc). */
export interface NativeBinding {
  findOp(name: string, overload: string): number;
  schema(opId: number): string;
  call(opId: number, args: unknown[]): unknown;
  fromBuffer(data: ArrayBufferView, shape: number[], dtype: number): number;
  toBuffer(handle: number): ArrayBuffer;
  describe(handle: number): [number, string, boolean, ...number[]];
  item(handle: number): number;
  dispose(handle: number): void;
  isLive(handle: number): boolean;
  version(handle: number): number;
  setRequiresGrad(handle: number, value: boolean): void;
  grad(handle: number): number | null;
  setGrad(handle: number, grad: number | null): void;
  backward(handle: number, grad: number | null, retainGraph: boolean): void;
  setGradEnabled(enabled: boolean): boolean;
  inferenceMode(enter: boolean): number;
  setAutocast(device: 'cpu' | 'cuda', enabled: boolean, dtype: number): [boolean, number];
  clearAutocastCache(): void;
  setNumThreads(n: number): void;
  manualSeed(seed: number): void;
  getRngState(): number;
  setRngState(handle: number): void;
  memoryStats(): { liveTensors: number; inUseBytes: number; cachedBytes: number; peakInUseBytes: number };
  emptyCache(): void;
  runtimeInfo(): { torchVersion: string; threads: number; cudaAvailable: boolean; cudaDevices: number; mkldnn: boolean; cachingAllocator: boolean; config: string; parallel: string };
  useCachingAllocator(limitBytes: number): void;
  synchronize(): void;
  /** c10d process groups, present when the addon was built with gloo's headers (typed in src/distributed/native.ts). */
  dist?: unknown;
}

function load(): NativeBinding {
  const path = addonPath('kestrel');
  // NOTE: installed as a dependency, npm skips Kestrel's install script unless approved; build on first use then.
  ensureAddonsBuilt();
  const binding = createRequire(import.meta.url)(path) as NativeBinding;
  // NOTE: libtorch defaults to 1 thread on small VMs; use every core unless told otherwise.
  const threads = Number(process.env.KESTREL_THREADS ?? availableParallelism());
  binding.setNumThreads(Math.max(1, Math.floor(threads)));
  if (process.env.KESTREL_ALLOCATOR !== 'system') {
    const limitMb = Number(process.env.KESTREL_CACHE_LIMIT_MB ?? 4096);
    binding.useCachingAllocator(limitMb * 1024 * 1024);
  }
  return binding;
}

/** The loaded addon. */
export const native: NativeBinding = load();

const opIds = new Map<string, number>();

/** Resolves an ATen operator (e.g. `aten::conv2d`, overload `padding`) to its id, once. */
export function opId(name: string, overload = ''): number {
  const key = `${name}.${overload}`;
  let id = opIds.get(key);
  if (id === undefined) {
    id = native.findOp(name, overload);
    opIds.set(key, id);
  }
  return id;
}

/** Calls an ATen operator by name through the dispatcher; tensors are passed as handles. */
export function callOp(name: string, overload: string, args: unknown[]): unknown {
  return native.call(opId(name, overload), args);
}
