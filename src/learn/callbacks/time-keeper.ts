/** TimeKeeper: holds a planned fit to its time budget, shortening it when the epochs run slower than planned and lengthening it when they run faster. */
import type { Callback } from '../events.js';
import type { Learner } from '../learner.js';
import { iterationsWithin } from '../time-budget.js';

/** Options of {@link TimeKeeper}. */
export interface TimeKeeperOptions {
  /** The whole budget in seconds, on `clock`. */
  budgetSeconds: number;
  /** Seconds kept after training (final evaluation, saving), as planned. */
  finalSeconds: number;
  /** Share of the budget left unplanned (default 0.03, as planFit). */
  margin?: number;
  /**
   * Predicted overrun, as a share of the budget, below which the plan is kept (default 0.005): a
   * shorter fit moves the schedule, so jitter alone should not.
   */
  tolerance?: number;
  /** Seconds on the budget's clock (default: process.uptime(), the CLI's budget starts with the process). */
  clock?: () => number;
  /**
   * The most iterations it may lengthen the fit to (default: the fit's planned length, so it only gives
   * back what it took). A recipe passes its epoch cap, so a plan from a pessimistic warm-up still fills the budget;
   * Infinity for a budget with no cap (`kestrel train --time 5m`).
   */
  maxIterations?: number;
  /** Called with a one-line description when the fit is shortened or lengthened again (default: none). */
  onReplan?: (line: string, change: TimeKeeperChange) => void;
}

/** A change of length the TimeKeeper made. */
export interface TimeKeeperChange {
  /** After this many epochs. */
  epoch: number;
  /** Total iterations before and after. */
  from: number;
  to: number;
  /** Measured seconds per training iteration and per validation pass (recent epochs). */
  iterationSeconds: number;
  validSeconds: number;
  /** Predicted end on the clock with the old plan. */
  predictedSeconds: number;
}

/** What one epoch took, for the pace. */
interface EpochPace { trainSeconds: number; iterations: number; validSeconds: number }

/** Epochs the pace is averaged over (the most recent ones). */
const RECENT_EPOCHS = 3;

/**
 * After each epoch from the second, predicts from the recent pace (training seconds per iteration and
 * validation seconds per pass over the last few epochs) when the planned iterations will end. When that
 * is past the budget, lowers `learn.totalIterations` to what still fits (whole epochs, then a partial
 * one), which the fit loop and the schedules follow; when the fit is running early (the machine was
 * busy for a while, or the warm-up was pessimistic), it lengthens it, never past `maxIterations`.
 * NOTE: a warm-up of a few batches can be several percent optimistic (caches, data-loading threads
 * and the machine's other work settle over an epoch), which a 30-minute budget cannot absorb in its
 * 3% margin; and the first epoch, which fills caches and allocator pools, is left out of the pace.
 */
export class TimeKeeper implements Callback {
  readonly name = 'TimeKeeper';
  readonly order = 90;
  /** The changes made in this fit. */
  readonly changes: TimeKeeperChange[] = [];
  private readonly clock: () => number;
  private readonly epochs: EpochPace[] = [];
  private current: EpochPace = { trainSeconds: 0, iterations: 0, validSeconds: 0 };
  private phaseStart = 0;
  private iterationAtTrain = 0;
  private planned = 0;

  /** Keeps fits within `options.budgetSeconds`. */
  constructor(readonly options: TimeKeeperOptions) {
    if (!(options.budgetSeconds > 0)) throw new Error(`TimeKeeper: budgetSeconds must be positive, got ${options.budgetSeconds}`);
    this.clock = options.clock ?? (() => process.uptime());
  }

  beforeFit(learn: Learner): void {
    this.epochs.length = 0;
    this.changes.length = 0;
    this.planned = learn.totalIterations;
  }

  beforeEpoch(): void { this.current = { trainSeconds: 0, iterations: 0, validSeconds: 0 }; }

  beforeTrain(learn: Learner): void { this.phaseStart = this.clock(); this.iterationAtTrain = learn.iteration; }

  afterTrain(learn: Learner): void {
    this.current.trainSeconds += this.clock() - this.phaseStart;
    this.current.iterations += learn.iteration - this.iterationAtTrain;
  }

  beforeValidate(): void { this.phaseStart = this.clock(); }

  afterValidate(): void { this.current.validSeconds += this.clock() - this.phaseStart; }

  afterEpoch(learn: Learner): void {
    this.epochs.push(this.current);
    if (this.epochs.length < 2) return;
    const recent = this.epochs.slice(1).slice(-RECENT_EPOCHS);
    const iterations = recent.reduce((a, e) => a + e.iterations, 0);
    if (iterations === 0) return;
    const perIteration = recent.reduce((a, e) => a + e.trainSeconds, 0) / iterations;
    const perValid = recent.reduce((a, e) => a + e.validSeconds, 0) / recent.length;
    const batches = learn.data.train.length;
    const now = this.clock();
    const left = learn.totalIterations - learn.iteration;
    if (left <= 0) return;
    const epochsLeft = Math.ceil(learn.totalIterations / batches) - Math.ceil(learn.iteration / batches);
    const { budgetSeconds, finalSeconds, margin = 0.03, tolerance = 0.005 } = this.options;
    const predicted = now + left * perIteration + epochsLeft * perValid + finalSeconds;
    const late = predicted > budgetSeconds * (1 - margin + tolerance);
    // NOTE: giving back needs 4x the tolerance (2% of the budget by default): small changes each epoch would only move the schedule.
    const ceiling = this.options.maxIterations ?? this.planned;
    const early = predicted < budgetSeconds * (1 - margin - 4 * tolerance) && learn.totalIterations < ceiling;
    if (!late && !early) return;
    const epochSeconds = batches * perIteration + perValid;
    const fits = learn.iteration + iterationsWithin(budgetSeconds * (1 - margin) - now - finalSeconds, batches, perIteration, perValid);
    const to = late ? Math.max(learn.iteration, Math.min(learn.totalIterations, fits)) : Math.min(ceiling, Math.max(learn.totalIterations, fits));
    if (to === learn.totalIterations) return;
    const change: TimeKeeperChange = { epoch: learn.epoch + 1, from: learn.totalIterations, to, iterationSeconds: perIteration, validSeconds: perValid, predictedSeconds: predicted };
    this.changes.push(change);
    learn.totalIterations = to;
    learn.epochs = Math.max(learn.epochs, Math.ceil(to / batches));
    this.options.onReplan?.(
      `epochs take ${epochSeconds.toFixed(1)} s here, so the plan would end at ${predicted.toFixed(0)} s of the ${budgetSeconds.toFixed(0)} s budget: `
      + `${late ? 'shortened' : change.from < this.planned ? 'lengthened again' : 'lengthened'} from ${(change.from / batches).toFixed(2)} to ${(to / batches).toFixed(2)} epochs (${to.toLocaleString('en-US')} iterations)`, change);
  }
}
