/** MixUp: trains on convex combinations of pairs of samples and of their losses (Zhang et al.; fastai's MixUp). */
import { type Tensor, full, op, randperm } from '../../tensor/index.js';
import { crossEntropy } from '../../nn/index.js';
import type { Callback } from '../events.js';
import type { Learner } from '../learner.js';

/** A loss per sample (no reduction): predictions and targets to a [N] tensor. */
export type PerSampleLoss = (pred: Tensor, target: Tensor) => Tensor;

/** Options of MixUp. */
export interface MixUpOptions {
  /** Beta(alpha, alpha) concentration (default 0.4). */
  alpha?: number;
  /** Per-sample loss to mix (default cross-entropy with reduction 'none'). */
  perSampleLoss?: PerSampleLoss;
}

/**
 * For each training batch draws lam ~ Beta(alpha, alpha) per sample (kept >= 0.5) and a
 * permutation, trains on `lam * x + (1 - lam) * x[perm]` and replaces the loss by the mean of
 * `lam * loss(pred, y) + (1 - lam) * loss(pred, y[perm])`. Draws come from libtorch's global
 * generator in fastai's order (Beta sample, then randperm), so manualSeed makes them reproducible
 * and checkpoints (which save that generator) resume them. Validation is left untouched.
 */
export class MixUp implements Callback {
  readonly name = 'MixUp';
  readonly order = 10;
  readonly alpha: number;
  private readonly perSampleLoss: PerSampleLoss;
  private lam: Tensor | undefined;
  private shuffledTarget: Tensor | undefined;

  /** Mixes with concentration `alpha`. */
  constructor(options: MixUpOptions = {}) {
    this.alpha = options.alpha ?? 0.4;
    if (!(this.alpha > 0)) throw new Error(`MixUp: alpha must be > 0, got ${this.alpha}`);
    this.perSampleLoss = options.perSampleLoss ?? ((pred, target) => crossEntropy(pred, target, { reduction: 'none' }));
  }

  beforeBatch(learn: Learner): void {
    if (!learn.training || !learn.xb || !learn.yb) return;
    const x = learn.xb;
    const n = x.shape[0];
    // NOTE: Beta(a, a) as the first coordinate of a Dirichlet(a, a) draw, exactly as torch.distributions.Beta samples.
    const draw = op('aten::_sample_dirichlet', '', [full([n, 2], this.alpha).handle, null]).select(1, 0);
    const lam = draw.maximum(draw.neg().add(1));
    const shuffle = randperm(n);
    const shape = [n, ...x.shape.slice(1).map(() => 1)];
    learn.xb = op('aten::lerp', 'Tensor', [x.indexSelect(0, shuffle).handle, x.handle, lam.reshape(shape).handle]);
    this.lam = lam;
    this.shuffledTarget = learn.yb.indexSelect(0, shuffle);
  }

  afterLoss(learn: Learner): void {
    if (!learn.training || !this.lam || !this.shuffledTarget || !learn.pred || !learn.yb) return;
    const own = this.perSampleLoss(learn.pred, learn.yb);
    const other = this.perSampleLoss(learn.pred, this.shuffledTarget);
    learn.loss = op('aten::lerp', 'Tensor', [other.handle, own.handle, this.lam.handle]).mean();
  }

  afterBatch(): void { this.lam = this.shuffledTarget = undefined; }

  /** The per-sample weights of the current batch's own samples (for inspection; freed with the batch). */
  get currentLam(): Tensor | undefined { return this.lam; }
}
