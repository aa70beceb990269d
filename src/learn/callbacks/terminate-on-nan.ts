/** TerminateOnNaN: ends fit() cleanly at the first non-finite training loss, naming where. */
import { type Callback, CancelFitError } from '../events.js';
import type { Learner } from '../learner.js';

/** Where a non-finite loss was seen. */
export interface NonFiniteAt {
  /** 1-based epoch. */
  epoch: number;
  /** 1-based batch within the epoch. */
  batch: number;
  /** The loss value (NaN or ±Infinity). */
  value: number;
}

/**
 * Checks each training loss right after it is computed (before backward, so the weights stay
 * finite); on NaN or ±Infinity it writes a message naming epoch and batch and cancels the fit,
 * which then resolves normally (Keras's TerminateOnNaN). The Learner's own `stopOnNonFinite`
 * check instead rejects fit() with NonFiniteLossError; this callback runs first.
 */
export class TerminateOnNaN implements Callback {
  readonly name = 'TerminateOnNaN';
  readonly order = -10;
  /** Where training stopped (undefined while the loss stays finite). */
  stoppedAt: NonFiniteAt | undefined;
  /** The message written when it stopped. */
  message: string | undefined;

  /** `out` receives the message (default stderr; null for none). */
  constructor(private readonly out: { write(text: string): unknown } | null = process.stderr) {}

  beforeFit(): void { this.stoppedAt = undefined; this.message = undefined; }

  afterLoss(learn: Learner): void {
    if (!learn.training || learn.loss === undefined) return;
    const value = learn.loss.item();
    if (Number.isFinite(value)) return;
    this.stoppedAt = { epoch: learn.epoch + 1, batch: learn.batchIndex + 1, value };
    const shown = Number.isNaN(value) ? 'NaN' : value > 0 ? '+Infinity' : '-Infinity';
    this.message = `TerminateOnNaN: loss is ${shown} at epoch ${this.stoppedAt.epoch}, batch ${this.stoppedAt.batch}: training terminated`;
    this.out?.write(this.message + '\n');
    throw new CancelFitError(this.message);
  }
}
