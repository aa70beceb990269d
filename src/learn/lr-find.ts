/** The learning-rate finder (Smith; fastai's lr_find): an exponential lr sweep with suggestions. */
import { type Callback, CancelFitError, CancelValidateError, NonFiniteLossError } from './events.js';
import type { Learner } from './learner.js';
import { exponential } from './schedules.js';
import type { LrSpec } from './lr-spec.js';
import { Recorder } from './callbacks/recorder.js';
import { snapshotTraining, suspendEpochCallbacks } from './snapshot.js';

/** Options of lrFind (fastai's defaults). */
export interface LrFindOptions {
  /** First lr of the sweep (default 1e-7); per group as an array or lrSlice. */
  startLr?: LrSpec;
  /** Last lr of the sweep (default 10); per group as an array or lrSlice. */
  endLr?: LrSpec;
  /** Iterations of the sweep (default 100, at least 6). */
  numIt?: number;
  /** Stop once the smoothed loss exceeds 4x its minimum (default true). */
  stopDiv?: boolean;
}

/** An lr with the smoothed loss the sweep saw there. */
export interface LrPoint { lr: number; loss: number }

/** fastai's three suggestions: each an lr and the point of the curve it comes from. */
export interface LrSuggestions {
  /** Middle of the longest descending stretch of the curve (fastai's default). */
  valley: LrPoint;
  /** Where the loss falls fastest (steepest negative slope against log lr). */
  steep: LrPoint;
  /** A tenth of the lr of the minimum loss (`lr` is that tenth; `loss` is the minimum). */
  minimum: LrPoint;
}

/** What lrFind returns. */
export interface LrFindResult {
  /** lr of each iteration of the sweep (of the last parameter group when lrs differ per group). */
  lrs: number[];
  /** Smoothed (debiased exponential average, beta 0.98) training loss of each iteration. */
  losses: number[];
  /** Raw loss of each iteration. */
  rawLosses: number[];
  /** Suggestions computed on the curve without its first tenth and last 5 points. */
  suggestions: LrSuggestions;
}

/** Sets the swept lr before each training batch, stops on divergence or after numIt, skips validation. */
class LrFinder implements Callback {
  readonly name = 'LrFinder';
  readonly order = 60;
  private best = Infinity;
  constructor(private readonly recorder: Recorder, private readonly options: { starts: number[]; ends: number[]; numIt: number; stopDiv: boolean }) {}
  beforeBatch(learn: Learner): void {
    const { starts, ends, numIt } = this.options;
    learn.createOptimizer().paramGroups.forEach((group, g) => { group.lr = exponential(starts[g], ends[g], learn.iteration / numIt); });
  }
  afterBatch(learn: Learner): void {
    const smooth = this.recorder.smoothLosses[this.recorder.smoothLosses.length - 1];
    if (smooth < this.best) this.best = smooth;
    if (this.options.stopDiv && (smooth > 4 * this.best || Number.isNaN(smooth))) throw new CancelFitError('lrFind: loss diverged');
    if (learn.iteration + 1 >= this.options.numIt) throw new CancelFitError('lrFind: sweep done');
  }
  beforeValidate(): void { throw new CancelValidateError(); }
}

/** fastai's valley: the middle of the longest strictly decreasing subsequence of the losses. */
export function valleySuggestion(lrs: number[], losses: number[]): LrPoint {
  const n = losses.length;
  const lengths = new Array<number>(n).fill(1);
  let maxStart = 0; let maxEnd = 0;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (losses[i] < losses[j] && lengths[i] < lengths[j] + 1) lengths[i] = lengths[j] + 1;
      if (lengths[maxEnd] < lengths[i]) { maxEnd = i; maxStart = maxEnd - lengths[maxEnd]; }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  const index = maxStart + Math.trunc(sections) + Math.trunc(sections / 2);
  return { lr: lrs[index], loss: losses[index] };
}

/** fastai's steep: the lr where d loss / d log(lr) is most negative (among points no higher than the first). */
export function steepSuggestion(lrs: number[], losses: number[]): LrPoint {
  let best = 0; let slope = Infinity;
  for (let i = 0; i + 1 < lrs.length; i++) {
    // NOTE: a steep fall from a spike above the starting loss is noise after divergence, not a place to train at.
    if (losses[i] > losses[0]) continue;
    const s = (losses[i + 1] - losses[i]) / (Math.log(lrs[i + 1]) - Math.log(lrs[i]));
    if (s < slope) { slope = s; best = i; }
  }
  return { lr: lrs[best], loss: losses[best] };
}

/** fastai's minimum: a tenth of the lr with the lowest loss. */
export function minimumSuggestion(lrs: number[], losses: number[]): LrPoint {
  let best = 0;
  for (let i = 1; i < losses.length; i++) if (losses[i] < losses[best]) best = i;
  return { lr: lrs[best] / 10, loss: losses[best] };
}

/**
 * The three suggestions for a sweep. Like fastai it trims the first numIt/10 and last 5 points and stops at a
 * NaN; it also ends the curve where, after its lowest point, the loss first rises above the starting loss
 * (the divergence), so no suggestion lies past it.
 */
export function suggestLrs(lrs: number[], losses: number[], numIt: number): LrSuggestions {
  let end = Math.max(0, lrs.length - 5);
  const nan = losses.findIndex((l) => Number.isNaN(l));
  if (nan >= 0) end = Math.min(end, nan);
  const start = Math.min(Math.floor(numIt / 10), end);
  let lowest = start;
  for (let i = start; i < end; i++) if (losses[i] < losses[lowest]) lowest = i;
  for (let i = lowest + 1; i < end; i++) if (losses[i] > losses[start]) { end = i; break; }
  const l = lrs.slice(start, end); const v = losses.slice(start, end);
  if (l.length < 2) throw new Error(`lr-find.ts: the sweep has too few points (${lrs.length}) for suggestions; raise numIt or lower startLr`);
  return { valley: valleySuggestion(l, v), steep: steepSuggestion(l, v), minimum: minimumSuggestion(l, v) };
}

/**
 * Sweeps the lr exponentially from startLr to endLr over numIt training batches, recording the
 * smoothed loss; stops early when it diverges. Callbacks with epoch- or fit-level hooks
 * (loggers, SaveModel, Checkpoint, EarlyStopping, schedulers) are suspended during the sweep. Afterwards the weights, the optimizer's state (or
 * its absence), libtorch's RNG, the loaders' shuffling state and the history are restored, so
 * lrFind leaves no trace on later training.
 */
export async function lrFind(learn: Learner, options: LrFindOptions = {}): Promise<LrFindResult> {
  const numIt = Math.max(6, options.numIt ?? 100);
  const starts = learn.lrsFor(options.startLr ?? 1e-7);
  const ends = learn.lrsFor(options.endLr ?? 10);
  starts.forEach((start, g) => {
    if (!(start > 0 && ends[g] > start)) throw new Error(`lr-find.ts: need 0 < startLr < endLr${starts.length > 1 ? ` in group ${g}` : ''}, got ${start} and ${ends[g]}`);
  });
  const settings = { starts, ends, numIt, stopDiv: options.stopDiv ?? true };
  const snapshot = snapshotTraining(learn);
  // NOTE: callbacks acting at epoch or fit end (progress, logging, saving, early stopping, lr
  // schedulers) are suspended: the sweep is not training. Batch-level ones (MixUp, clipping) stay.
  const resume = suspendEpochCallbacks(learn);
  const recorder = new Recorder();
  try {
    const epochs = Math.floor(settings.numIt / learn.data.train.length) + 1;
    try {
      await learn.fit(epochs, starts, { callbacks: [recorder, new LrFinder(recorder, settings)] });
    } catch (error) {
      // NOTE: a sweep that reaches a non-finite loss has diverged: that ends it, it is not a failure.
      if (!(error instanceof NonFiniteLossError)) throw error;
    }
  } finally {
    snapshot.restore();
    resume();
  }
  const lrs = recorder.lrs.slice(0, settings.numIt);
  const losses = recorder.smoothLosses.slice(0, settings.numIt);
  return { lrs, losses, rawLosses: recorder.losses.slice(0, settings.numIt), suggestions: suggestLrs(lrs, losses, settings.numIt) };
}
