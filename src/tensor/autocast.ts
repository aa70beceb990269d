/** Mixed-precision regions (torch.autocast): libtorch's autocast dispatch key, switched on around a function. */
import { native } from './native.js';
import { dtypeCode } from './dtype.js';

/** Lower-precision float types autocast can run eligible ops in. */
export type AutocastDType = 'bfloat16' | 'float16';

/** Device types with an autocast key. */
export type AutocastDevice = 'cpu' | 'cuda';

/** Options of autocast(). */
export interface AutocastOptions {
  /** Device type whose ops are autocast (default 'cpu'). */
  device?: AutocastDevice;
  /** Precision of eligible ops (default bfloat16 on CPU, float16 on CUDA). */
  dtype?: AutocastDType;
  /** false runs `fn` with autocast off for this device (to leave a region locally). Default true. */
  enabled?: boolean;
}

const enabledNow: Record<AutocastDevice, boolean> = { cpu: false, cuda: false };
let depth = 0;

/**
 * Runs `fn` with autocast on (like `with torch.autocast(device, dtype)`): ops libtorch lists as
 * lower-precision-safe (convolutions, matmul, linear) run in `dtype`, precision-sensitive ones in
 * float32; the casts are recorded by autograd, so gradients of float32 parameters stay float32.
 * Outputs may be bfloat16/float16: cast them with `.float()` before a loss. `fn` must be synchronous.
 */
export function autocast<T>(fn: () => T, options: AutocastOptions = {}): T {
  const device = options.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'cuda') throw new Error(`autocast: device must be 'cpu' or 'cuda', got '${String(device)}'`);
  const dtype = options.dtype ?? (device === 'cpu' ? 'bfloat16' : 'float16');
  if (dtype !== 'bfloat16' && dtype !== 'float16') throw new Error(`autocast: dtype must be 'bfloat16' or 'float16', got '${String(dtype)}'`);
  if (device === 'cpu' && dtype !== 'bfloat16') {
    throw new Error("autocast: CPU autocast runs in bfloat16 only (libtorch's CPU autocast has no float16 kernels); use dtype 'bfloat16', or float16 on a CUDA device");
  }
  const enabled = options.enabled ?? true;
  const [wasEnabled, wasDtype] = native.setAutocast(device, enabled, dtypeCode(dtype));
  const previous = enabledNow[device];
  enabledNow[device] = enabled;
  depth++;
  try {
    const result = fn();
    if (result instanceof Promise) throw new Error('autocast() takes a synchronous function; await outside it');
    return result;
  } finally {
    native.setAutocast(device, wasEnabled, wasDtype);
    enabledNow[device] = previous;
    // NOTE: as torch.autocast's exit: the low-precision copies of parameters cached inside the region
    // are dropped when the outermost region ends, so the next forward casts the updated weights.
    if (--depth === 0) native.clearAutocastCache();
  }
}

/** Whether autocast is on for a device type right now (inside autocast()). */
export function isAutocastEnabled(device: AutocastDevice = 'cpu'): boolean {
  return enabledNow[device] ?? false;
}
