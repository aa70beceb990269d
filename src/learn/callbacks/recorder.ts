/** Recorder: per-batch loss, lr and momentum, and per-epoch records, kept as plain arrays. */
import type { Callback } from '../events.js';
import type { EpochRecord, Learner } from '../learner.js';
import { groupMomentum } from './param-scheduler.js';

/**
 * Records every training batch's loss (raw and smoothed like fastai's AvgSmoothLoss), the lr and
 * momentum of the last parameter group (the head's, as fastai records), every group's lr, and every
 * epoch's record (losses and metrics).
 */
export class Recorder implements Callback {
  readonly name = 'Recorder';
  readonly order = 50;
  /** Training loss per batch. */
  readonly losses: number[] = [];
  /** Exponentially smoothed, debiased training loss per batch (beta = `beta`). */
  readonly smoothLosses: number[] = [];
  /** Learning rate per training batch (last parameter group: the only one, or the head's). */
  readonly lrs: number[] = [];
  /** Learning rate of every parameter group per training batch (groups in order). */
  readonly groupLrs: number[][] = [];
  /** Momentum (SGD momentum or Adam beta1) per training batch; NaN when the optimizer has none. */
  readonly moms: number[] = [];
  /** Learner iteration of each recorded batch. */
  readonly iterations: number[] = [];
  /** Epoch records, one per epoch ended while recording. */
  readonly epochs: EpochRecord[] = [];
  private smooth = 0;
  private count = 0;

  /** `beta` is the smoothing factor of smoothLosses (default 0.98, as fastai). */
  constructor(readonly beta = 0.98) {}

  /** Clears everything recorded. */
  reset(): void {
    for (const list of [this.losses, this.smoothLosses, this.lrs, this.groupLrs, this.moms, this.iterations, this.epochs]) list.length = 0;
    this.smooth = 0;
    this.count = 0;
  }

  beforeFit(): void { this.smooth = 0; this.count = 0; }

  afterBatch(learn: Learner): void {
    if (!learn.training || learn.loss === undefined) return;
    const group = learn.optimizer?.paramGroups.at(-1);
    const value = learn.lossValue;
    this.count++;
    // NOTE: torch.lerp(loss, val, beta) = beta * val + (1 - beta) * loss, debiased by 1 - beta^count.
    this.smooth = this.beta * this.smooth + (1 - this.beta) * value;
    this.losses.push(value);
    this.smoothLosses.push(this.smooth / (1 - this.beta ** this.count));
    this.lrs.push(group?.lr ?? NaN);
    this.groupLrs.push(learn.optimizer?.paramGroups.map((g) => g.lr) ?? []);
    this.moms.push(group ? groupMomentum(group) ?? NaN : NaN);
    this.iterations.push(learn.iteration);
  }

  afterEpoch(learn: Learner): void {
    const record = learn.history[learn.history.length - 1];
    if (record && record.epoch === learn.epoch + 1 && !this.epochs.includes(record)) this.epochs.push(record);
  }
}
