/** Gradient-recording control: no-grad and inference-mode blocks. */
import { native } from './native.js';

/** Runs `fn` with autograd recording off (for evaluation and optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const previous = native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

/** Runs `fn` with autograd recording on. */
export function enableGrad<T>(fn: () => T): T {
  const previous = native.setGradEnabled(true);
  try {
    return fn();
  } finally {
    native.setGradEnabled(previous);
  }
}

/** Whether autograd records operations right now. */
export function isGradEnabled(): boolean {
  const previous = native.setGradEnabled(true);
  native.setGradEnabled(previous);
  return previous;
}

/**
 * Runs `fn` in libtorch's inference mode (c10::InferenceMode, torch.inference_mode): like noGrad,
 * and also without version counters and view tracking, so evaluation does less bookkeeping.
 * Tensors created inside are inference tensors: they cannot be saved for backward or modified in
 * place outside inference mode later (clone() one to get a normal tensor). `fn` must be synchronous.
 */
export function inferenceMode<T>(fn: () => T): T {
  native.inferenceMode(true);
  try {
    const result = fn();
    // NOTE: the guard is thread-local state; left on across an await it would leak into unrelated code.
    if (result instanceof Promise) throw new Error('inferenceMode() takes a synchronous function; await outside it');
    return result;
  } finally {
    native.inferenceMode(false);
  }
}
