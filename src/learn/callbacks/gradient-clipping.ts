/** GradientClipping: rescales gradients so their total norm is at most maxNorm (torch.nn.utils.clip_grad_norm_). */
import { type Tensor, noGrad, op, stack, tidy } from '../../tensor/index.js';
import type { Callback } from '../events.js';
import type { Learner } from '../learner.js';

/**
 * Clips the gradients of `params` in place so their combined `normType`-norm is at most maxNorm;
 * returns the total norm before clipping. Same arithmetic as PyTorch 1.13's clip_grad_norm_:
 * every gradient is multiplied by min(1, maxNorm / (total + 1e-6)).
 */
export function clipGradNorm(params: Tensor[], maxNorm: number, normType = 2): number {
  if (!(maxNorm >= 0)) throw new Error(`gradient-clipping.ts: maxNorm must be >= 0, got ${maxNorm}`);
  if (!(normType > 0)) throw new Error(`gradient-clipping.ts: normType must be > 0 or Infinity, got ${normType}`);
  return noGrad(() => tidy(() => {
    const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
    if (grads.length === 0) return 0;
    let total: Tensor;
    if (normType === Infinity) {
      total = stack(grads.map((g) => g.abs().max())).max();
    } else {
      const norms = grads.map((g) => op('aten::norm', 'Scalar', [g.handle, normType]));
      total = op('aten::norm', 'Scalar', [stack(norms).handle, normType]);
    }
    // NOTE: PyTorch's `max_norm / (total + 1e-6)` is reciprocal() * max_norm; the same ops keep the bits equal.
    const coefficient = op('aten::reciprocal', '', [total.add(1e-6).handle]).mul(maxNorm).clamp(null, 1);
    for (const g of grads) g.mul_(coefficient);
    return total.item();
  }));
}

/** Clips the model's gradient norm after every backward pass (before the optimizer step). */
export class GradientClipping implements Callback {
  readonly name = 'GradientClipping';
  readonly order = 0;
  /** Total gradient norm of the last batch, before clipping. */
  lastNorm = NaN;

  /** Clips to `maxNorm` (default 1) in the `normType`-norm (default 2). */
  constructor(readonly maxNorm = 1, readonly normType = 2) {
    if (!(maxNorm >= 0)) throw new Error(`GradientClipping: maxNorm must be >= 0, got ${maxNorm}`);
  }

  afterBackward(learn: Learner): void {
    this.lastNorm = clipGradNorm(learn.model.parameters(), this.maxNorm, this.normType);
  }
}
