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

/** Waits for work queued on the GPU (no-op without CUDA); use before reading a clock around GPU work. */
export function cudaSynchronize(): void {
  native.synchronize();
}

/**
 * Checks a device name ('cpu', 'cuda', 'cuda:N') against this engine and returns it; a clear error names what is
 * missing (a CUDA build of libtorch, a GPU, the index). `where` prefixes the message (a flag or an option).
 */
export function checkDevice(device: string, where = 'device'): string {
  const match = /^(cpu|cuda)(?::(\d+))?$/.exec(String(device));
  if (!match || (match[1] === 'cpu' && match[2] !== undefined)) {
    throw new Error(`${where}: unknown device '${String(device)}' (use cpu, cuda or cuda:N)`);
  }
  if (match[1] === 'cpu') return 'cpu';
  const info = native.runtimeInfo();
  if (!info.cudaAvailable) {
    const why = info.cudaDevices > 0 ? 'no usable GPU' : /USE_CUDA=(ON|1)/.test(info.config) ? 'no GPU is visible to it' : `this Kestrel was built against a CPU-only libtorch (${info.torchVersion})`;
    throw new Error(`${where}: '${device}' is not available: ${why}. For GPUs, build Kestrel against a CUDA libtorch: ` +
      'KESTREL_LIBTORCH=/path/to/libtorch-cuda npm rebuild kestrel (README: "More than one process, machine or GPU")');
  }
  const index = match[2] === undefined ? null : Number(match[2]);
  if (index !== null && index >= info.cudaDevices) throw new Error(`${where}: '${device}' does not exist: ${info.cudaDevices} GPU${info.cudaDevices === 1 ? '' : 's'} visible (cuda:0${info.cudaDevices > 1 ? `..cuda:${info.cudaDevices - 1}` : ''})`);
  return device;
}
