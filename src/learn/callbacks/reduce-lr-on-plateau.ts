/** ReduceLROnPlateau: divides the lr when a monitored quantity stalls (torch.optim.lr_scheduler semantics). */
import type { Callback } from '../events.js';
import type { Learner } from '../learner.js';

/** Options of ReduceLROnPlateau (PyTorch's defaults). */
export interface ReduceLROnPlateauOptions {
  /** `validLoss` (default), `trainLoss`, or a metric name. */
  monitor?: string;
  /** 'min' (default) or 'max'. */
  mode?: 'min' | 'max';
  /** lr is multiplied by this on a plateau (default 0.1). */
  factor?: number;
  /** Bad epochs tolerated before reducing (default 10). */
  patience?: number;
  /** Improvement threshold (default 1e-4). */
  threshold?: number;
  /** 'rel' (default: best * (1 -/+ threshold)) or 'abs' (best -/+ threshold). */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting bad epochs again (default 0). */
  cooldown?: number;
  /** Lower bound of the lr (default 0). */
  minLr?: number;
  /** Reductions smaller than this are skipped (default 1e-8). */
  eps?: number;
}

/**
 * After each epoch, counts epochs without improvement of the monitored value; when the count
 * exceeds `patience`, multiplies every group's lr by `factor` (not below minLr), then waits
 * `cooldown` epochs: exactly torch.optim.lr_scheduler.ReduceLROnPlateau stepped once per epoch.
 */
export class ReduceLROnPlateau implements Callback {
  readonly name = 'ReduceLROnPlateau';
  readonly order = 70;
  readonly monitor: string;
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLr: number;
  readonly eps: number;
  /** Best value so far. */
  best: number;
  /** Bad epochs in a row. */
  numBadEpochs = 0;
  /** Cooldown epochs left. */
  cooldownCounter = 0;
  /** 1-based epochs after which the lr was reduced. */
  readonly reductions: number[] = [];

  /** Builds the scheduler; options as torch's ReduceLROnPlateau. */
  constructor(options: ReduceLROnPlateauOptions = {}) {
    this.monitor = options.monitor ?? 'validLoss';
    this.mode = options.mode ?? 'min';
    this.factor = options.factor ?? 0.1;
    this.patience = options.patience ?? 10;
    this.threshold = options.threshold ?? 1e-4;
    this.thresholdMode = options.thresholdMode ?? 'rel';
    this.cooldown = options.cooldown ?? 0;
    this.minLr = options.minLr ?? 0;
    this.eps = options.eps ?? 1e-8;
    const where = 'ReduceLROnPlateau';
    if (this.mode !== 'min' && this.mode !== 'max') throw new Error(`${where}: mode must be 'min' or 'max', got '${String(this.mode)}'`);
    if (this.thresholdMode !== 'rel' && this.thresholdMode !== 'abs') throw new Error(`${where}: thresholdMode must be 'rel' or 'abs'`);
    if (!(this.factor < 1 && this.factor >= 0)) throw new Error(`${where}: factor must be in [0, 1), got ${this.factor}`);
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new Error(`${where}: patience must be an integer >= 0, got ${this.patience}`);
    if (!Number.isInteger(this.cooldown) || this.cooldown < 0) throw new Error(`${where}: cooldown must be an integer >= 0, got ${this.cooldown}`);
    if (!(this.minLr >= 0)) throw new Error(`${where}: minLr must be >= 0, got ${this.minLr}`);
    this.best = this.worst();
  }

  private worst(): number { return this.mode === 'min' ? Infinity : -Infinity; }

  /** Whether `value` improves on the best by more than the threshold (torch's is_better). */
  isBetter(value: number): boolean {
    const { best, threshold } = this;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? value < best * (1 - threshold) : value < best - threshold;
    return this.thresholdMode === 'rel' ? value > best * (threshold + 1) : value > best + threshold;
  }

  beforeFit(learn: Learner): void {
    if (learn.startEpoch > 0) return;
    this.best = this.worst();
    this.numBadEpochs = 0;
    this.cooldownCounter = 0;
    this.reductions.length = 0;
  }

  afterEpoch(learn: Learner): void {
    const record = learn.history[learn.history.length - 1];
    const value = record?.metrics[this.monitor] ?? record?.[this.monitor];
    if (typeof value !== 'number') throw new Error(`ReduceLROnPlateau: cannot monitor '${this.monitor}': the epoch record has no such value`);
    this.step(value, learn.epoch + 1, learn);
  }

  /** One scheduler step with the epoch's value (torch's step(metrics)). */
  step(value: number, epoch: number, learn: Learner): void {
    if (this.isBetter(value)) { this.best = value; this.numBadEpochs = 0; } else this.numBadEpochs++;
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      let reduced = false;
      for (const group of learn.createOptimizer().paramGroups) {
        const next = Math.max(group.lr * this.factor, this.minLr);
        if (group.lr - next > this.eps) { group.lr = next; reduced = true; }
      }
      if (reduced) this.reductions.push(epoch);
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
  }

  getState(): Record<string, unknown> {
    return { best: this.best, numBadEpochs: this.numBadEpochs, cooldownCounter: this.cooldownCounter, reductions: [...this.reductions] };
  }

  setState(state: Record<string, unknown>): void {
    this.best = Number(state.best);
    this.numBadEpochs = Number(state.numBadEpochs);
    this.cooldownCounter = Number(state.cooldownCounter);
    this.reductions.splice(0, this.reductions.length, ...(state.reductions as number[]));
  }
}
