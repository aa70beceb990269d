/** Whether bfloat16 mixed precision is supported here: the CPU's instructions and libtorch's kernels. */
import { readFileSync } from 'node:fs';
import { native } from './native.js';
import { autocast } from './autocast.js';
import { linspace } from './creation.js';
import { conv2d, linear } from './functional.js';
import { tidy } from './scope.js';

/** What bf16Support() found. */
export interface Bf16Support {
  /** bfloat16 autocast runs natively here: a CPU with bf16 instructions and a libtorch whose kernels use them. */
  available: boolean;
  /** One line saying why or why not (printed by `--precision auto` and `kestrel info`). */
  reason: string;
  /** bf16 instruction sets the CPU reports: avx512_bf16, amx_bf16 (x86) or bf16 (Arm). */
  cpuFeatures: string[];
  /** libtorch was built with oneDNN (MKLDNN), which holds its CPU bfloat16 kernels. */
  mkldnn: boolean;
  /** A convolution and a linear layer ran under bfloat16 autocast and matched float32 (null: not tried). */
  kernels: boolean | null;
}

/** Facts bf16Support() can be given instead of reading them (for tests and other machines). */
export interface Bf16Probe {
  /** CPU feature flags (default: /proc/cpuinfo's `flags` or `Features` line). */
  cpuFlags?: string[];
  /** Whether libtorch has oneDNN (default: asked from libtorch). */
  mkldnn?: boolean;
  /** Whether the bf16 kernels work (default: run a small convolution and linear layer once). */
  kernels?: boolean;
}

const BF16_FLAGS = ['avx512_bf16', 'amx_bf16', 'bf16'];

/** CPU feature flags of the first processor in /proc/cpuinfo (empty where there is none). */
export function cpuFlags(cpuinfo?: string): string[] {
  let text = cpuinfo;
  if (text === undefined) {
    try { text = readFileSync('/proc/cpuinfo', 'utf8'); } catch { return []; }
  }
  const line = /^(?:flags|Features)\s*:(.*)$/m.exec(text);
  return line ? line[1].trim().split(/\s+/) : [];
}

let kernelsWork: boolean | undefined;

/** Runs a bf16 convolution and linear layer under autocast once; whether they give bfloat16 results close to float32. */
function probeKernels(): boolean {
  kernelsWork ??= tidy(() => {
    try {
      // NOTE: deterministic inputs (no RNG draws), so probing never shifts a seeded run.
      const x = linspace(-1, 1, 2 * 3 * 6 * 6).reshape(2, 3, 6, 6).contiguous('channels-last');
      const w = linspace(1, -1, 4 * 3 * 3 * 3).reshape(4, 3, 3, 3).contiguous('channels-last');
      const m = linspace(-0.5, 0.5, 5 * 4 * 6 * 6).reshape(5, 4 * 6 * 6);
      const forward = () => linear(conv2d(x, w, null, { padding: 1 }).flatten(1), m, null);
      const exact = forward();
      const low = autocast(forward, { device: 'cpu', dtype: 'bfloat16' });
      if (low.dtype !== 'bfloat16') return false;
      const error = low.float().sub(exact).abs().max().item();
      return error <= 0.02 * exact.abs().max().item();
    } catch {
      return false;
    }
  });
  return kernelsWork;
}

/**
 * Whether bfloat16 mixed precision is supported on this CPU with this libtorch: the CPU reports
 * native bf16 instructions (AVX-512 BF16 or AMX-BF16 on x86, BF16 on Arm), libtorch has oneDNN,
 * and a small bf16 convolution and linear layer run under autocast and match float32.
 * KESTREL_BF16=0 reports it unsupported (to try the float32 path, or to simulate another CPU).
 */
export function bf16Support(probe: Bf16Probe = {}): Bf16Support {
  const cpuFeatures = (probe.cpuFlags ?? cpuFlags()).filter((flag) => BF16_FLAGS.includes(flag));
  const mkldnn = probe.mkldnn ?? native.runtimeInfo().mkldnn;
  const result = (available: boolean, reason: string, kernels: boolean | null): Bf16Support => ({ available, reason, cpuFeatures, mkldnn, kernels });
  if (process.env.KESTREL_BF16 === '0') return result(false, 'bfloat16 is turned off by KESTREL_BF16=0', null);
  if (cpuFeatures.length === 0) {
    return result(false, 'the CPU has no native bfloat16 instructions (no avx512_bf16 or amx_bf16 in /proc/cpuinfo); bf16 would be emulated and slower than float32', null);
  }
  if (!mkldnn) return result(false, 'this libtorch was built without oneDNN (MKLDNN), which holds its CPU bfloat16 kernels', null);
  const kernels = probe.kernels ?? probeKernels();
  if (!kernels) return result(false, "this libtorch's bfloat16 autocast kernels failed a self-test (a bf16 convolution and linear layer did not match float32)", false);
  return result(true, `the CPU has ${cpuFeatures.join(', ')} and libtorch has oneDNN bfloat16 kernels`, true);
}
