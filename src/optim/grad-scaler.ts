/** GradScaler: dynamic loss scaling for float16 mixed precision (torch.cuda.amp.GradScaler's algorithm). */
import { type Tensor, noGrad, op, stack, tidy } from '../tensor/index.js';
import type { Optimizer } from './optimizer.js';

/** Options of a GradScaler (PyTorch's defaults). */
export interface GradScalerOptions {
  /** Starting scale (default 2^16). */
  initScale?: number;
  /** Scale multiplier after `growthInterval` steps without infinite gradients (default 2). */
  growthFactor?: number;
  /** Scale multiplier after a step with infinite or NaN gradients (default 0.5). */
  backoffFactor?: number;
  /** Finite steps before the scale grows (default 2000). */
  growthInterval?: number;
}

/** What a GradScaler saves in checkpoints. */
export interface GradScalerState { scale: number; growthTracker: number }

/**
 * Multiplies the loss by a large factor before backward so small float16 gradients do not flush to
 * zero, divides the gradients back before the optimizer sees them, skips steps whose gradients
 * overflowed and adapts the factor: halves it on overflow, doubles it after `growthInterval`
 * clean steps. Use: `scale(loss).backward(); unscale(opt); (clip); step(opt); update()`.
 * Device-agnostic (plain tensor ops), so it runs and is tested on CPU too.
 */
export class GradScaler {
  /** Current scale factor. */
  scale: number;
  /** Clean steps since the scale last changed. */
  growthTracker = 0;
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;
  private readonly unscaled = new Map<Optimizer, boolean>();

  /** A scaler with PyTorch's defaults unless overridden. */
  constructor(options: GradScalerOptions = {}) {
    this.scale = options.initScale ?? 2 ** 16;
    this.growthFactor = options.growthFactor ?? 2;
    this.backoffFactor = options.backoffFactor ?? 0.5;
    this.growthInterval = options.growthInterval ?? 2000;
    if (!(this.scale > 0 && Number.isFinite(this.scale))) throw new Error(`GradScaler: initScale must be a positive number, got ${this.scale}`);
    if (!(this.growthFactor > 1)) throw new Error(`GradScaler: growthFactor must be > 1, got ${this.growthFactor}`);
    if (!(this.backoffFactor > 0 && this.backoffFactor < 1)) throw new Error(`GradScaler: backoffFactor must be in (0, 1), got ${this.backoffFactor}`);
    if (!Number.isInteger(this.growthInterval) || this.growthInterval < 1) throw new Error(`GradScaler: growthInterval must be a positive integer, got ${this.growthInterval}`);
  }

  /** loss * scale (backpropagate this instead of the loss). */
  scaleLoss(loss: Tensor): Tensor {
    return loss.mul(this.scale);
  }

  /**
   * Divides the gradients of `optimizer`'s parameters by the scale, in place (once per step; call it
   * before clipping so clipping sees true gradients). Returns whether every gradient is finite.
   */
  unscale(optimizer: Optimizer): boolean {
    const done = this.unscaled.get(optimizer);
    if (done !== undefined) return done;
    const inverse = 1 / this.scale;
    const finite = noGrad(() => tidy(() => {
      const grads = optimizer.paramGroups.flatMap((g) => g.params).map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (grads.length === 0) return true;
      const checks = grads.map((g) => op('aten::all', '', [g.isFinite().handle]));
      const ok = stack(checks).to('int64').min().item() === 1;
      for (const g of grads) g.mul_(inverse);
      return ok;
    }));
    this.unscaled.set(optimizer, finite);
    return finite;
  }

  /** Unscales if not done yet, then steps `optimizer` unless a gradient overflowed; returns whether it stepped. */
  step(optimizer: Optimizer): boolean {
    const finite = this.unscale(optimizer);
    if (finite) optimizer.step();
    return finite;
  }

  /** Adapts the scale after a step (halves it after an overflow, grows it after growthInterval clean steps). */
  update(): void {
    const overflowed = [...this.unscaled.values()].some((finite) => !finite);
    this.unscaled.clear();
    if (overflowed) {
      this.scale *= this.backoffFactor;
      this.growthTracker = 0;
    } else if (++this.growthTracker >= this.growthInterval) {
      this.scale *= this.growthFactor;
      this.growthTracker = 0;
    }
  }

  /** Scale and growth tracker, for checkpoints. */
  getState(): GradScalerState {
    return { scale: this.scale, growthTracker: this.growthTracker };
  }

  /** Restores getState()'s result. */
  setState(state: GradScalerState): void {
    if (!(typeof state?.scale === 'number' && state.scale > 0) || !Number.isInteger(state.growthTracker) || state.growthTracker < 0) {
      throw new Error(`GradScaler: bad saved state ${JSON.stringify(state)}`);
    }
    this.scale = state.scale;
    this.growthTracker = state.growthTracker;
  }
}
