/** Engine-wide settings and facts: threads, libtorch version, devices. */
import { native } from './native.js';

/** Facts about the loaded engine. */
export interface RuntimeInfo {
  torchVersion: string;
  threads: number;
  cudaAvailable: boolean;
  cudaDevices: number;
  /** Whether libtorch was built with oneDNN (MKLDNN), whose kernels run bfloat16 on CPU. */
  mkldnn: boolean;
  cachingAllocator: boolean;
  /** libtorch's build configuration (torch.__config__.show()). */
  config: string;
  /** libtorch's parallel settings (torch.__config__.parallel_info()). */
  parallel: string;
}

/** Describes the engine: libtorch version, threads, CUDA. */
export function runtimeInfo(): RuntimeInfo {
  return native.runtimeInfo();
}

/** Sets libtorch's intra-op thread count (default: all cores, or $KESTREL_THREADS). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`threads must be a positive integer, got ${n}`);
  native.setNumThreads(n);
}

/** Whether a CUDA device is usable (needs a CUDA build of libtorch). */
export function cudaAvailable(): boolean {
  return native.runtimeInfo().cudaAvailable;
}
