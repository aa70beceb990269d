/** TimeKeeper: holds a planned fit to its time budget by shortening it when the epochs run slower than planned. */
import type { Callback } from '../events.js';
import type { Learner } from '../learner.js';

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
  /** Called with a one-line description when the fit is shortened (default: none). */
  onReplan?: (line: string, change: TimeKeeperChange) => void;
}

/** A shortening the TimeKeeper made. */
export interface TimeKeeperChange {
  /** After this many epochs. */
  epoch: number;
  /** Total iterations before and after. */
  from: number;
  to: number;
  /** Measured seconds per training iteration and per validation pass so far. */
  iterationSeconds: number;
  validSeconds: number;
  /** Predicted end on the clock with the old plan. */
  predictedSeconds: number;
}

/**
 * After each epoch from the second, predicts from the measured pace (training seconds per iteration,
 * validation seconds per pass, averaged over the fit's epochs after its first) when the planned iterations will end; when that is
 * past the budget, lowers `learn.totalIterations` to what still fits (whole epochs, then a partial
 * one), which the fit loop and the schedules follow. It never lengthens a fit: a faster machine
 * finishes early. NOTE: a warm-up of a few batches can be several percent optimistic (caches,
 * data-loading threads and the machine's other work settle over an epoch), which a 30-minute budget
 * cannot absorb in its 3% margin.
 */
export class TimeKeeper implements Callback {
  readonly name = 'TimeKeeper';
  readonly order = 90;
  /** The shortenings made in this fit. */
  readonly changes: TimeKeeperChange[] = [];
  private readonly clock: () => number;
  private trainSeconds = 0;
  private trainIterations = 0;
  private validSeconds = 0;
  private validPasses = 0;
  private phaseStart = 0;
  private iterationAtTrain = 0;
  private epochsSeen = 0;

  /** Keeps fits within `options.budgetSeconds`. */
  constructor(readonly options: TimeKeeperOptions) {
    if (!(options.budgetSeconds > 0)) throw new Error(`TimeKeeper: budgetSeconds must be positive, got ${options.budgetSeconds}`);
    this.clock = options.clock ?? (() => process.uptime());
  }

  beforeFit(): void {
    this.trainSeconds = this.trainIterations = this.validSeconds = this.validPasses = this.epochsSeen = 0;
    this.changes.length = 0;
  }

  beforeTrain(learn: Learner): void { this.phaseStart = this.clock(); this.iterationAtTrain = learn.iteration; }

  afterTrain(learn: Learner): void {
    this.trainSeconds += this.clock() - this.phaseStart;
    this.trainIterations += learn.iteration - this.iterationAtTrain;
  }

  beforeValidate(): void { this.phaseStart = this.clock(); }

  afterValidate(): void {
    this.validSeconds += this.clock() - this.phaseStart;
    this.validPasses++;
  }

  afterEpoch(learn: Learner): void {
    // NOTE: the first epoch of a fit is left out of the pace (it fills caches and allocator pools, and ran
    // 10% slower than the rest in a Fashion-MNIST run), so the first decision comes after the second epoch.
    if (++this.epochsSeen === 1) {
      this.trainSeconds = this.trainIterations = this.validSeconds = this.validPasses = 0;
      return;
    }
    if (this.trainIterations === 0) return;
    const perIteration = this.trainSeconds / this.trainIterations;
    const perValid = this.validPasses > 0 ? this.validSeconds / this.validPasses : 0;
    const batches = learn.data.train.length;
    const now = this.clock();
    const left = learn.totalIterations - learn.iteration;
    if (left <= 0) return;
    const epochsLeft = Math.ceil(learn.totalIterations / batches) - Math.ceil(learn.iteration / batches);
    const { budgetSeconds, finalSeconds, margin = 0.03, tolerance = 0.005 } = this.options;
    const predicted = now + left * perIteration + epochsLeft * perValid + finalSeconds;
    if (predicted <= budgetSeconds * (1 - margin + tolerance)) return;
    // NOTE: as planFit: whole epochs of training + validation, then a partial epoch if one more validation fits.
    const available = budgetSeconds * (1 - margin) - now - finalSeconds;
    const epochSeconds = batches * perIteration + perValid;
    const whole = Math.max(0, Math.floor(available / epochSeconds));
    const rest = available - whole * epochSeconds;
    const partial = rest > perValid + perIteration ? Math.min(batches - 1, Math.floor((rest - perValid) / perIteration)) : 0;
    const to = Math.max(learn.iteration, Math.min(learn.totalIterations, learn.iteration + whole * batches + partial));
    if (to >= learn.totalIterations) return;
    const change: TimeKeeperChange = { epoch: learn.epoch + 1, from: learn.totalIterations, to, iterationSeconds: perIteration, validSeconds: perValid, predictedSeconds: predicted };
    this.changes.push(change);
    learn.totalIterations = to;
    this.options.onReplan?.(
      `epochs take ${epochSeconds.toFixed(1)} s here, so the plan would end at ${predicted.toFixed(0)} s of the ${budgetSeconds.toFixed(0)} s budget: `
      + `shortened from ${(change.from / batches).toFixed(2)} to ${(to / batches).toFixed(2)} epochs (${to.toLocaleString('en-US')} iterations)`, change);
  }
}
