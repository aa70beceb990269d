/** Mixed precision for training: choosing fp32/bf16/fp16 and running forward, backward and step accordingly. */
import { type AutocastDevice, type Bf16Support, type Tensor, autocast, bf16Support } from '../tensor/index.js';
import { type Module, toChannelsLast, wantsChannelsLast } from '../nn/index.js';
import { GradScaler, type GradScalerState, type Optimizer } from '../optim/index.js';
import type { Callback } from './events.js';

/**
 * Training precision: 'fp32'; 'bf16' (bfloat16 autocast: convolutions and matmuls in bfloat16,
 * weights, optimizer state and loss in float32); 'fp16' (float16 autocast with a gradient scaler,
 * CUDA only); 'auto' (bf16 where the CPU and libtorch support it natively, fp16 on CUDA, else fp32).
 */
export type Precision = 'auto' | 'fp32' | 'bf16' | 'fp16';

/** The precisions 'auto' resolves to. */
export type ResolvedPrecision = Exclude<Precision, 'auto'>;

/** All accepted precision names (for CLI choices and errors). */
export const PRECISIONS: readonly Precision[] = ['auto', 'fp32', 'bf16', 'fp16'];

/** What resolvePrecision chose, and why. */
export interface PrecisionChoice {
  precision: ResolvedPrecision;
  /** Device type the autocast region is for. */
  device: AutocastDevice;
  /** One line saying why (printed when 'auto' chose). */
  reason: string;
}

/** Device type of the tensors a model lives on ('cpu' for a model without parameters). */
export function modelDevice(model: Module): string {
  return model.parameters()[0]?.device ?? 'cpu';
}

/**
 * Resolves a requested precision for a device: 'auto' picks, an explicit one is checked.
 * `bf16` on a CPU or libtorch without native bfloat16, or `fp16` on a CPU, is an Error naming why.
 * `support` is injectable for tests (default bf16Support()).
 */
export function resolvePrecision(requested: Precision, device = 'cpu', support: () => Bf16Support = () => bf16Support()): PrecisionChoice {
  if (!PRECISIONS.includes(requested)) throw new Error(`precision must be one of ${PRECISIONS.join(', ')}; got '${String(requested)}'`);
  const type = device.split(':')[0];
  if (requested === 'fp32') return { precision: 'fp32', device: type === 'cuda' ? 'cuda' : 'cpu', reason: 'float32 as requested' };
  if (type === 'cuda') {
    if (requested === 'bf16') return { precision: 'bf16', device: 'cuda', reason: 'bfloat16 autocast on CUDA as requested' };
    return { precision: 'fp16', device: 'cuda', reason: requested === 'auto' ? 'CUDA device: float16 autocast with a gradient scaler' : 'float16 autocast with a gradient scaler as requested' };
  }
  if (type !== 'cpu') {
    if (requested === 'auto') return { precision: 'fp32', device: 'cpu', reason: `no mixed precision for device '${device}'` };
    throw new Error(`precision '${requested}': mixed precision runs on CPU (bf16) or CUDA; the model is on '${device}'`);
  }
  if (requested === 'fp16') {
    throw new Error("precision 'fp16' needs a CUDA device (libtorch's CPU autocast has bfloat16 kernels only); use 'bf16' or 'auto' on CPU");
  }
  const found = support();
  if (requested === 'bf16') {
    if (!found.available) throw new Error(`precision 'bf16' is not supported here: ${found.reason}; use 'fp32' or 'auto'`);
    return { precision: 'bf16', device: 'cpu', reason: found.reason };
  }
  return found.available
    ? { precision: 'bf16', device: 'cpu', reason: found.reason }
    : { precision: 'fp32', device: 'cpu', reason: `falling back to float32: ${found.reason}` };
}

/** The dtype autocast computes in for `choice` (undefined for fp32). */
export function autocastDtype(choice: PrecisionChoice): 'bfloat16' | 'float16' | undefined {
  return choice.precision === 'fp32' ? undefined : choice.precision === 'bf16' ? 'bfloat16' : 'float16';
}

/** Runs `fn` under autocast for `choice` (plain call for fp32); a low-precision result is cast to float32. */
export function autocastFloat(choice: PrecisionChoice, fn: () => Tensor): Tensor {
  const dtype = autocastDtype(choice);
  if (dtype === undefined) return fn();
  const out = autocast(fn, { device: choice.device, dtype });
  // NOTE: the loss and metrics see float32 logits (softmax/log in bfloat16 loses ~3 digits); the
  // low-precision tensor is freed by the enclosing tidy().
  return out.dtype === 'float32' ? out : out.float();
}

/**
 * The Learner's training precision: runs the forward pass (channels-last input for convolutional
 * models, autocast when mixed), backward (scaled for fp16) and the optimizer step (skipped on
 * float16 overflow). Registered as a callback only for its checkpoint state (the scaler's).
 */
export class MixedPrecision implements Callback {
  readonly name = 'MixedPrecision';
  /** The loss scaler (fp16 only). */
  readonly scaler: GradScaler | null;
  /** Whether batches are converted to channels-last before the forward pass. */
  readonly channelsLast: boolean;

  /** Precision `choice` for `model`. */
  constructor(readonly choice: PrecisionChoice, model: Module) {
    this.scaler = choice.precision === 'fp16' ? new GradScaler() : null;
    this.channelsLast = wantsChannelsLast(model);
  }

  /** The resolved precision. */
  get precision(): ResolvedPrecision { return this.choice.precision; }

  /** `model.forward(x)` in this precision; float32 output. */
  forward(model: Module, x: Tensor): Tensor {
    const input = this.channelsLast ? toChannelsLast(x) : x;
    return autocastFloat(this.choice, () => model.forward(input));
  }

  /** Back-propagates `loss` (scaled for fp16, then the gradients unscaled so callbacks such as clipping see true values). */
  backward(loss: Tensor, optimizer: Optimizer): void {
    if (!this.scaler) { loss.backward(); return; }
    this.scaler.scaleLoss(loss).backward();
    this.scaler.unscale(optimizer);
  }

  /** Steps the optimizer (fp16: unless a gradient overflowed; the scale adapts). Returns whether it stepped. */
  step(optimizer: Optimizer): boolean {
    if (!this.scaler) { optimizer.step(); return true; }
    const stepped = this.scaler.step(optimizer);
    this.scaler.update();
    return stepped;
  }

  /** The scaler's state (fp16), for checkpoints. */
  getState(): Record<string, unknown> {
    return { precision: this.precision, scaler: this.scaler?.getState() ?? null };
  }

  /** Restores getState()'s result (the scaler's state when both are fp16). */
  setState(state: Record<string, unknown>): void {
    if (this.scaler && state.scaler) this.scaler.setState(state.scaler as GradScalerState);
  }
}
