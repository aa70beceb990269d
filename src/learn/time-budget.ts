/**
 * Training within a time budget: a short measured warm-up (train and validation samples per second
 * on this machine, with this model and data), then a plan of how many iterations fit in the budget.
 */
import { dispose } from '../tensor/index.js';
import type { Batch, BatchSource } from '../data/index.js';
import { type Callback, CancelFitError, CancelValidateError, NonFiniteLossError } from './events.js';
import type { Learner } from './learner.js';
import { snapshotTraining, suspendEpochCallbacks } from './snapshot.js';

/** Options of {@link measureSpeed}. */
export interface MeasureSpeedOptions {
  /** First training batches left out of the timing (allocations, kernel selection; default 3). */
  warmupBatches?: number;
  /** Timed training batches at least (default 8). */
  minBatches?: number;
  /** Timed training seconds at least (default 2). */
  minSeconds?: number;
  /** Timed training batches at most, whatever the time (default 200). */
  maxBatches?: number;
  /** Validation batches to time, after one untimed (default 3). */
  validBatches?: number;
  /** lr of the trial steps (default: the learner's lr). */
  lr?: number;
}

/** What {@link measureSpeed} measured. */
export interface SpeedMeasurement {
  /** Training samples per second (data loading, augmentation, forward, backward, step). */
  trainSamplesPerSecond: number;
  /** Validation samples per second (learn.evaluate). */
  validSamplesPerSecond: number;
  /** Training batches timed. */
  trainBatches: number;
  /** Validation batches timed. */
  validBatches: number;
  /** Wall seconds the measurement took, untimed batches included. */
  seconds: number;
}

/** Records when each training batch ends; stops the trial fit once enough is timed. */
class BatchTimer implements Callback {
  readonly name = 'BatchTimer';
  readonly order = 100;
  private readonly ends: number[] = [];
  private readonly sizes: number[] = [];
  constructor(private readonly options: Required<Omit<MeasureSpeedOptions, 'lr' | 'validBatches'>>) {}

  afterBatch(learn: Learner): void {
    this.ends.push(performance.now());
    this.sizes.push(learn.yb?.shape[0] ?? 0);
    const timed = this.ends.length - 1 - this.options.warmupBatches;
    if ((timed >= this.options.minBatches && this.seconds() >= this.options.minSeconds) || timed >= this.options.maxBatches) throw new CancelFitError('speed measured');
  }

  beforeValidate(): void { throw new CancelValidateError(); }

  /** Timed seconds: from the end of the last warm-up batch to the end of the last batch. */
  seconds(): number {
    const first = this.options.warmupBatches;
    return this.ends.length > first + 1 ? (this.ends[this.ends.length - 1] - this.ends[first]) / 1000 : 0;
  }

  /** Timed batches and their samples. */
  timed(): { batches: number; samples: number } {
    const sizes = this.sizes.slice(this.options.warmupBatches + 1);
    return { batches: sizes.length, samples: sizes.reduce((a, b) => a + b, 0) };
  }
}

/** The first `count` batches of `source`, with the time each following batch took to be consumed. */
function timedPrefix(source: BatchSource, count: number): BatchSource & { durations: number[]; sizes: number[] } {
  const durations: number[] = [];
  const sizes: number[] = [];
  return {
    length: Math.min(count, source.length),
    numSamples: Math.min(source.numSamples, Math.ceil(source.numSamples / source.length) * count),
    durations, sizes,
    async *[Symbol.asyncIterator](): AsyncIterator<Batch> {
      let seen = 0;
      let last = 0;
      let lastSize = 0;
      for await (const batch of source) {
        const now = performance.now();
        // NOTE: the time between handing out two batches is the consumer's work on the first plus loading the second.
        if (seen > 0) { durations.push((now - last) / 1000); sizes.push(batch.y.shape[0]); }
        if (seen === count) { dispose(batch); break; }
        seen++;
        last = now;
        lastSize = batch.y.shape[0];
        yield batch;
      }
      // NOTE: a source of one batch has nothing after its untimed first: that batch is timed instead.
      if (sizes.length === 0 && seen > 0) { durations.push((performance.now() - last) / 1000); sizes.push(lastSize); }
    },
  };
}

/**
 * Times a few training steps and validation batches of `learn` on its own data, then restores
 * everything the trial changed (see snapshotTraining), so the following fit is the one that would
 * have run without it. A trial whose loss is not finite still counts: only the time matters.
 */
export async function measureSpeed(learn: Learner, options: MeasureSpeedOptions = {}): Promise<SpeedMeasurement> {
  const settings = { warmupBatches: 3, minBatches: 8, minSeconds: 2, maxBatches: 200, ...options };
  const validBatches = options.validBatches ?? 3;
  const started = performance.now();
  const timer = new BatchTimer(settings);
  const snapshot = snapshotTraining(learn);
  const resume = suspendEpochCallbacks(learn);
  let validSamplesPerSecond = NaN;
  let validTimed = 0;
  try {
    try {
      // NOTE: as many epochs as the most batches need (small datasets have short epochs); the timer ends the fit.
      const epochs = Math.ceil((settings.warmupBatches + settings.maxBatches + 1) / learn.data.train.length);
      await learn.fit(epochs, options.lr ?? learn.defaultLr, { callbacks: [timer] });
    } catch (error) {
      if (!(error instanceof NonFiniteLossError)) throw error;
    }
    if (learn.data.valid) {
      // NOTE: one untimed batch first (batch norm folding, kernel choice), then `validBatches` timed.
      const prefix = timedPrefix(learn.data.valid, 1 + validBatches);
      await learn.evaluate(prefix);
      const seconds = prefix.durations.reduce((a, b) => a + b, 0);
      validTimed = prefix.sizes.length;
      validSamplesPerSecond = seconds > 0 ? prefix.sizes.reduce((a, b) => a + b, 0) / seconds : NaN;
    }
  } finally {
    snapshot.restore();
    resume();
  }
  const { batches, samples } = timer.timed();
  const seconds = timer.seconds();
  return {
    trainSamplesPerSecond: seconds > 0 ? samples / seconds : NaN,
    validSamplesPerSecond, trainBatches: batches, validBatches: validTimed,
    seconds: (performance.now() - started) / 1000,
  };
}

/** What {@link planFit} needs to know. */
export interface PlanInput {
  /** The whole budget in seconds, counted from the start of the process. */
  budgetSeconds: number;
  /** Seconds already spent (loading data, building the model, the warm-up). */
  elapsedSeconds: number;
  /** Training batches per epoch and samples per epoch. */
  batchesPerEpoch: number;
  trainSamples: number;
  /** Validation samples per epoch (0 without validation). */
  validSamples: number;
  /** Measured speeds. */
  trainSamplesPerSecond: number;
  validSamplesPerSecond: number;
  /** Validation-set passes after training (e.g. 2 for flip-TTA; default 1). */
  finalPasses?: number;
  /** Seconds kept for saving and exiting (default 1). */
  fixedSeconds?: number;
  /** Share of the budget left unplanned against slow-downs (default 0.03). */
  margin?: number;
  /** Most epochs to plan (default: no limit). */
  maxEpochs?: number;
}

/** A training plan within a time budget. */
export interface FitPlan {
  /** Epochs to pass to fit (the last may be partial). */
  epochs: number;
  /** Training iterations in all (FitOptions.iterations). */
  iterations: number;
  /** iterations / batchesPerEpoch. */
  fractionalEpochs: number;
  /** Predicted seconds of one full epoch with its validation. */
  epochSeconds: number;
  /** Predicted seconds of the final evaluation and saving. */
  finalSeconds: number;
  /** Predicted process time at the end, from its start. */
  expectedSeconds: number;
  /** Whether the budget or maxEpochs set the length. */
  limitedBy: 'time' | 'epochs';
}

/**
 * Training iterations that fit in `seconds`: whole epochs (`batches` batches of `batchSeconds`, then a
 * validation of `validSeconds`), then a partial epoch when the time left holds some batches and one more
 * validation. Shared by planFit (before training) and TimeKeeper (re-planning during it).
 */
export function iterationsWithin(seconds: number, batches: number, batchSeconds: number, validSeconds: number): number {
  const epochSeconds = batches * batchSeconds + validSeconds;
  const whole = Math.max(0, Math.floor(seconds / epochSeconds));
  const rest = seconds - whole * epochSeconds;
  const partial = rest > validSeconds + batchSeconds ? Math.min(batches - 1, Math.floor((rest - validSeconds) / batchSeconds)) : 0;
  return whole * batches + partial;
}

/**
 * Plans the iterations that fit in what is left of the budget: whole epochs (train + validation)
 * and then a partial one when the time left holds some training batches and one more validation.
 * Pure arithmetic; throws when not even one batch and its validation fit.
 */
export function planFit(input: PlanInput): FitPlan {
  const { batchesPerEpoch: batches, trainSamples, validSamples } = input;
  const margin = input.margin ?? 0.03;
  if (!(input.budgetSeconds > 0)) throw new Error(`time-budget.ts: the budget must be positive, got ${input.budgetSeconds} s`);
  if (!(input.trainSamplesPerSecond > 0)) throw new Error(`time-budget.ts: the measured training speed must be positive, got ${input.trainSamplesPerSecond}`);
  if (!Number.isInteger(batches) || batches < 1) throw new Error(`time-budget.ts: batchesPerEpoch must be a positive integer, got ${batches}`);
  const batchSeconds = trainSamples / batches / input.trainSamplesPerSecond;
  const validSeconds = validSamples > 0 ? validSamples / input.validSamplesPerSecond : 0;
  const finalSeconds = (input.finalPasses ?? 1) * validSeconds + (input.fixedSeconds ?? 1);
  const epochSeconds = batches * batchSeconds + validSeconds;
  const available = input.budgetSeconds * (1 - margin) - input.elapsedSeconds - finalSeconds;
  let iterations = iterationsWithin(available, batches, batchSeconds, validSeconds);
  let limitedBy: FitPlan['limitedBy'] = 'time';
  if (input.maxEpochs !== undefined && iterations >= input.maxEpochs * batches) {
    iterations = input.maxEpochs * batches;
    limitedBy = 'epochs';
  }
  if (iterations < 1) {
    throw new Error(`the time budget of ${input.budgetSeconds.toFixed(0)} s is too short: ${input.elapsedSeconds.toFixed(1)} s went to loading and measuring, `
      + `and one batch with its validation and the final evaluation need ${(batchSeconds + validSeconds + finalSeconds).toFixed(1)} s more`);
  }
  const epochs = Math.ceil(iterations / batches);
  return {
    epochs, iterations, fractionalEpochs: iterations / batches, epochSeconds, finalSeconds, limitedBy,
    expectedSeconds: input.elapsedSeconds + iterations * batchSeconds + epochs * validSeconds + finalSeconds,
  };
}

/**
 * Seconds in a duration such as `10m`, `90s`, `1h30m`, `1.5h` or `600` (seconds).
 * NOTE: by hand: the npm duration parsers either reject compound forms (`1h30m`) or return
 * undefined for typos; this one names the bad input.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed) && Number(trimmed) > 0) return Number(trimmed);
  const match = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(trimmed);
  if (!match || trimmed === '') throw new Error(`'${text}' is not a duration: write it like 10m, 90s, 1h30m or 1.5h`);
  const [hours, minutes, seconds] = match.slice(1).map((v) => Number(v ?? 0));
  const total = hours * 3600 + minutes * 60 + seconds;
  if (!(total > 0)) throw new Error(`'${text}' is not a positive duration`);
  return total;
}
