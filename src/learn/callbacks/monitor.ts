/** Monitored quantities: reading a value from the last epoch record and deciding whether it improved. */
import type { Learner } from '../learner.js';

/** Which direction is better: 'min', 'max', or 'auto' (losses and errors min, metrics by their higherIsBetter). */
export type MonitorMode = 'min' | 'max' | 'auto';

/** Options shared by callbacks that watch a quantity. */
export interface MonitorOptions {
  /** `validLoss` (default), `trainLoss`, or a metric name such as `accuracy`. */
  monitor?: string;
  /** Direction of improvement (default 'auto'). */
  mode?: MonitorMode;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
}

/** Tracks the best value of a monitored quantity across epochs (fastai's TrackerCallback). */
export class Monitor {
  readonly monitor: string;
  readonly minDelta: number;
  private readonly requested: MonitorMode;
  /** Resolved direction ('min' or 'max'), fixed at the first update. */
  mode: 'min' | 'max' | undefined;
  /** Best value seen so far (±Infinity before any). */
  best = NaN;

  /** Watches `monitor` (default validLoss). */
  constructor(options: MonitorOptions, private readonly owner: string) {
    this.monitor = options.monitor ?? 'validLoss';
    this.requested = options.mode ?? 'auto';
    this.minDelta = options.minDelta ?? 0;
    if (!['min', 'max', 'auto'].includes(this.requested)) throw new Error(`${owner}: mode must be 'min', 'max' or 'auto', got '${String(this.requested)}'`);
    if (!(this.minDelta >= 0)) throw new Error(`${owner}: minDelta must be >= 0, got ${this.minDelta}`);
  }

  /** Resolves 'auto' against the learner's metrics and sets best to the worst possible value. */
  reset(learn: Learner): void {
    this.mode = resolveMode(this.requested, this.monitor, learn);
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }

  /** The monitored value of the last epoch record; throws naming the known keys when it is missing. */
  current(learn: Learner): number {
    const record = learn.history[learn.history.length - 1];
    if (record === undefined) throw new Error(`${this.owner}: no epoch has been recorded yet`);
    const value = record.metrics[this.monitor] ?? record[this.monitor];
    if (typeof value !== 'number') {
      const known = ['trainLoss', 'validLoss', ...Object.keys(record.metrics)].join(', ');
      throw new Error(`${this.owner}: cannot monitor '${this.monitor}': epoch records have ${known}`);
    }
    return value;
  }

  /** Whether `value` beats the best by more than minDelta; if so it becomes the best. */
  update(value: number, learn: Learner): boolean {
    if (this.mode === undefined) this.reset(learn);
    const better = this.mode === 'min' ? value < this.best - this.minDelta : value > this.best + this.minDelta;
    if (better) this.best = value;
    return better;
  }
}

function resolveMode(mode: MonitorMode, monitor: string, learn: Learner): 'min' | 'max' {
  if (mode !== 'auto') return mode;
  const metric = learn.metrics.find((m) => m.name === monitor);
  if (metric) return metric.higherIsBetter ? 'max' : 'min';
  return /loss|error/i.test(monitor) ? 'min' : 'max';
}
