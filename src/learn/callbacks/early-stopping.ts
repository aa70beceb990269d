/** EarlyStopping: ends fit() when a monitored quantity stops improving. */
import { type Callback, CancelFitError } from '../events.js';
import type { Learner } from '../learner.js';
import { Monitor, type MonitorOptions } from './monitor.js';

/** Options of EarlyStopping. */
export interface EarlyStoppingOptions extends MonitorOptions {
  /** Epochs without improvement to wait before stopping (default 1). */
  patience?: number;
}

/**
 * Stops training after `patience` epochs in a row without an improvement of more than minDelta
 * (fastai's EarlyStoppingCallback): fit() then resolves normally with the epochs done.
 */
export class EarlyStopping implements Callback {
  readonly name = 'EarlyStopping';
  readonly order = 70;
  readonly patience: number;
  /** The tracked quantity and its best value. */
  readonly tracker: Monitor;
  /** Epochs since the last improvement. */
  wait = 0;
  /** Whether the next epoch will not start (patience ran out). */
  stopping = false;
  /** 1-based epoch after which training stopped (undefined when it ran to the end). */
  stoppedEpoch: number | undefined;

  /** Watches `monitor` (default validLoss) with the given patience. */
  constructor(options: EarlyStoppingOptions = {}) {
    this.patience = options.patience ?? 1;
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new Error(`EarlyStopping: patience must be an integer >= 0, got ${this.patience}`);
    this.tracker = new Monitor(options, 'EarlyStopping');
  }

  beforeFit(learn: Learner): void {
    // NOTE: a resumed fit keeps the state loaded from the checkpoint.
    this.stoppedEpoch = undefined;
    if (learn.startEpoch > 0 && this.tracker.mode !== undefined) return;
    this.tracker.reset(learn);
    this.wait = 0;
    this.stopping = false;
  }

  afterEpoch(learn: Learner): void {
    const value = this.tracker.current(learn);
    if (this.tracker.update(value, learn)) this.wait = 0;
    else if (++this.wait >= this.patience) this.stopping = true;
  }

  // NOTE: the stop is raised at the start of the next epoch, not in afterEpoch, so every other
  // callback (progress, checkpoints) still finishes the epoch that decided it.
  beforeEpoch(learn: Learner): void {
    if (!this.stopping) return;
    this.stoppedEpoch = learn.epoch;
    throw new CancelFitError(`EarlyStopping: no improvement in ${this.tracker.monitor} for ${this.wait} epochs (best ${this.tracker.best}); stopped after epoch ${this.stoppedEpoch}`);
  }

  getState(): Record<string, unknown> { return { best: this.tracker.best, mode: this.tracker.mode, wait: this.wait, stopping: this.stopping }; }

  setState(state: Record<string, unknown>): void {
    this.tracker.best = Number(state.best);
    this.tracker.mode = state.mode as 'min' | 'max' | undefined;
    this.wait = Number(state.wait);
    this.stopping = state.stopping === true;
  }
}
