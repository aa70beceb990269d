/**
 * Hyper-parameter schedules: pure functions of training progress (fastai's SchedLin, SchedCos,
 * SchedExp, SchedNo, combine_scheds), and the fit policies built on them (one-cycle, SGDR, flat-cos).
 */
import type { Callback } from './events.js';
import type { EpochRecord, FitOptions, Learner } from './learner.js';
import { ParamScheduler } from './callbacks/param-scheduler.js';
import type { LrSpec } from './lr-spec.js';

/** A schedule: the value at `pos`, the fraction of training done (0 at the start, 1 at the end). */
export type Schedule = (pos: number) => number;

/** Linear from start to end: `start + pos * (end - start)`; without `pos`, the schedule itself. */
export function linear(start: number, end: number): Schedule;
/** Linear value at `pos`. */
export function linear(start: number, end: number, pos: number): number;
export function linear(start: number, end: number, pos?: number): number | Schedule {
  const at = (p: number) => start + p * (end - start);
  return pos === undefined ? at : at(pos);
}

/** Half a cosine from start to end: `start + (1 + cos(pi * (1 - pos))) * (end - start) / 2`; without `pos`, the schedule. */
export function cosine(start: number, end: number): Schedule;
/** Cosine value at `pos`. */
export function cosine(start: number, end: number, pos: number): number;
export function cosine(start: number, end: number, pos?: number): number | Schedule {
  const at = (p: number) => start + ((1 + Math.cos(Math.PI * (1 - p))) * (end - start)) / 2;
  return pos === undefined ? at : at(pos);
}

/** Geometric from start to end: `start * (end / start) ** pos`; without `pos`, the schedule. */
export function exponential(start: number, end: number): Schedule;
/** Exponential value at `pos`. */
export function exponential(start: number, end: number, pos: number): number;
export function exponential(start: number, end: number, pos?: number): number | Schedule {
  if (!(start > 0) || !(end > 0)) throw new Error(`schedules.ts: exponential needs positive start and end, got ${start} and ${end}`);
  const at = (p: number) => start * (end / start) ** p;
  return pos === undefined ? at : at(pos);
}

/** Always `start` (end is ignored, as in fastai's SchedNo); without `pos`, the schedule. */
export function constant(start: number, end?: number): Schedule;
/** Constant value. */
export function constant(start: number, end: number | undefined, pos: number): number;
export function constant(start: number, _end?: number, pos?: number): number | Schedule {
  return pos === undefined ? () => start : start;
}

/**
 * Chains schedules: the i-th runs over a share `pcts[i]` of training (shares sum to 1), each
 * seeing its own 0..1 position (fastai's combine_scheds).
 */
export function combineSchedules(pcts: number[], scheds: Schedule[]): Schedule {
  if (pcts.length === 0 || pcts.length !== scheds.length) throw new Error(`schedules.ts: combineSchedules needs as many shares as schedules (got ${pcts.length} and ${scheds.length})`);
  if (pcts.some((p) => !(p >= 0))) throw new Error(`schedules.ts: combineSchedules shares must be >= 0, got [${pcts.join(', ')}]`);
  const total = pcts.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > 1e-6) throw new Error(`schedules.ts: combineSchedules shares must sum to 1, got ${total}`);
  const edges = [0];
  for (const p of pcts) edges.push(edges[edges.length - 1] + p);
  return (pos) => {
    let index = 0;
    for (let i = 0; i < pcts.length; i++) if (pos >= edges[i]) index = i;
    const width = edges[index + 1] - edges[index];
    // NOTE: a zero-width piece is only reached exactly at its edge; fastai then yields NaN, we take its end.
    return scheds[index](width > 0 ? (pos - edges[index]) / width : 1);
  };
}

/** Cosine from start to middle over `pct`, then cosine from middle to end (fastai's combined_cos). */
export function combinedCosine(pct: number, start: number, middle: number, end: number): Schedule {
  return combineSchedules([pct, 1 - pct], [cosine(start, middle), cosine(middle, end)]);
}

/** Options of fitOneCycle (fastai's defaults except finalDiv). */
export interface OneCycleOptions extends FitOptions {
  /** lr starts at lrMax / divFactor (default 25). */
  divFactor?: number;
  /** lr ends at lrMax / finalDiv (default 1e4). */
  finalDiv?: number;
  /** Share of training spent warming up (default 0.25). */
  pctStart?: number;
  /** Momentum (or Adam's beta1) at start, peak lr and end (default [0.95, 0.85, 0.95]). */
  moms?: [number, number, number];
}

/** The lr and momentum schedules of one-cycle training. */
export function oneCycleSchedules(lrMax: number, options: OneCycleOptions = {}): { lr: Schedule; mom: Schedule } {
  const { divFactor = 25, finalDiv = 1e4, pctStart = 0.25, moms = [0.95, 0.85, 0.95] } = options;
  checkPct(pctStart, 'fitOneCycle');
  return {
    lr: combinedCosine(pctStart, lrMax / divFactor, lrMax, lrMax / finalDiv),
    mom: combinedCosine(pctStart, moms[0], moms[1], moms[2]),
  };
}

/** Fits with a scheduler callback added for this fit only. */
async function fitScheduled(learn: Learner, epochs: number, lr: LrSpec, scheduler: Callback, options: FitOptions): Promise<EpochRecord[]> {
  return learn.fit(epochs, lr, { ...options, callbacks: [scheduler, ...(options.callbacks ?? [])] });
}

/** One schedule per parameter group (a single one when there is one group), each from that group's lr. */
function perGroup(lrs: number[], make: (lr: number) => Schedule): Schedule | Schedule[] {
  return lrs.length === 1 ? make(lrs[0]) : lrs.map(make);
}

/**
 * One-cycle training (Smith; fastai's fit_one_cycle): lr rises by cosine from lrMax/divFactor
 * to lrMax over pctStart of training, then falls to lrMax/finalDiv; momentum moves the other way.
 * `lrMax` may differ per group (an array or lrSlice): each group follows its own curve.
 */
export async function fitOneCycle(learn: Learner, epochs: number, lrMax: LrSpec, options: OneCycleOptions = {}): Promise<EpochRecord[]> {
  const lrs = learn.lrsFor(lrMax);
  const lr = perGroup(lrs, (max) => oneCycleSchedules(max, options).lr);
  const { mom } = oneCycleSchedules(lrs[lrs.length - 1], options);
  return fitScheduled(learn, epochs, lrs, new ParamScheduler({ lr, mom }), options);
}

/** Options of fitSGDR. */
export interface SGDROptions extends FitOptions {
  /** Peak lr of every cycle (default: the learner's lr); per group as an array or lrSlice. */
  lrMax?: LrSpec;
}

/** Epochs that `cycles` SGDR cycles take: cycleLen * (1 + mult + mult^2 + ...). */
export function sgdrEpochs(cycles: number, cycleLen: number, cycleMult = 2): number {
  return cycleMult === 1 ? cycles * cycleLen : (cycleLen * (cycleMult ** cycles - 1)) / (cycleMult - 1);
}

/** The lr schedule of SGDR: a cosine from lrMax to 0 per cycle, cycles growing by cycleMult. */
export function sgdrSchedule(lrMax: number, cycles: number, cycleLen: number, cycleMult = 2): Schedule {
  const total = sgdrEpochs(cycles, cycleLen, cycleMult);
  const pcts = Array.from({ length: cycles }, (_, i) => (cycleLen * cycleMult ** i) / total);
  return combineSchedules(pcts, pcts.map(() => cosine(lrMax, 0)));
}

/**
 * SGDR, warm restarts (Loshchilov & Hutter; fastai's fit_sgdr): `cycles` cosine annealings from
 * lrMax to 0, the first cycleLen epochs long, each next one cycleMult times longer.
 */
export async function fitSGDR(learn: Learner, cycles: number, cycleLen: number, cycleMult = 2, options: SGDROptions = {}): Promise<EpochRecord[]> {
  const lrs = learn.lrsFor(options.lrMax ?? learn.defaultLr);
  if (!Number.isInteger(cycles) || cycles < 1 || !Number.isInteger(cycleLen) || cycleLen < 1) {
    throw new Error(`schedules.ts: fitSGDR needs positive integer cycles and cycleLen, got ${cycles} and ${cycleLen}`);
  }
  if (!Number.isInteger(cycleMult) || cycleMult < 1) throw new Error(`schedules.ts: fitSGDR cycleMult must be a positive integer, got ${cycleMult}`);
  const epochs = sgdrEpochs(cycles, cycleLen, cycleMult);
  return fitScheduled(learn, epochs, lrs, new ParamScheduler({ lr: perGroup(lrs, (max) => sgdrSchedule(max, cycles, cycleLen, cycleMult)) }), options);
}

/** Options of fitFlatCos. */
export interface FlatCosOptions extends FitOptions {
  /** Share of training at the flat lr (default 0.75). */
  pctStart?: number;
  /** lr ends at lr / finalDiv (default 1e5, as fastai). */
  finalDiv?: number;
}

/** The lr schedule of fitFlatCos. */
export function flatCosSchedule(lr: number, options: FlatCosOptions = {}): Schedule {
  const { pctStart = 0.75, finalDiv = 1e5 } = options;
  checkPct(pctStart, 'fitFlatCos');
  return combinedCosine(pctStart, lr, lr, lr / finalDiv);
}

/** Flat lr for pctStart of training, then cosine annealing to lr/finalDiv (fastai's fit_flat_cos); lr may differ per group. */
export async function fitFlatCos(learn: Learner, epochs: number, lr: LrSpec, options: FlatCosOptions = {}): Promise<EpochRecord[]> {
  const lrs = learn.lrsFor(lr);
  return fitScheduled(learn, epochs, lrs, new ParamScheduler({ lr: perGroup(lrs, (value) => flatCosSchedule(value, options)) }), options);
}

function checkPct(pct: number, where: string): void {
  if (!(pct >= 0 && pct <= 1)) throw new Error(`schedules.ts: ${where} pctStart must be in [0, 1], got ${pct}`);
}
