/** Training plots as PNG files or Figures: the lr finder's curve, the lr schedule, and train/valid curves per epoch. */
import type { EpochRecord, LrFindResult } from '../learn/index.js';
import { type ChartSpec, type MarkerSpec, renderChart, saveChart } from './chart.js';
import { Figure } from './display.js';

/** Writes the chart to `path` (resolving to the path), or without a path resolves to a Figure (PNG + SVG). */
async function drawChart(spec: ChartSpec, path: string | undefined): Promise<string | Figure> {
  return path !== undefined ? saveChart(spec, path) : Figure.fromSvg(await renderChart(spec), { title: spec.title });
}

/** The (path, options) or (options) arguments of a plot function. */
function plotArgs<O extends object>(pathOrOptions: string | O | undefined, options: O | undefined): [string | undefined, O] {
  return typeof pathOrOptions === 'string' ? [pathOrOptions, options ?? ({} as O)] : [undefined, pathOrOptions ?? options ?? ({} as O)];
}

const BLUE = '#1f77b4'; const ORANGE = '#ff7f0e'; const GREEN = '#2ca02c'; const RED = '#d62728'; const PURPLE = '#9467bd';

/** Options of {@link plotLrFind}. */
export interface PlotLrFindOptions { title?: string; mark?: Array<keyof LrFindResult['suggestions']> }

/** The chart of {@link plotLrFind}: the y range holds the curve up to its minimum and every marked suggestion. */
export function lrFindChart(result: LrFindResult, options: PlotLrFindOptions = {}): ChartSpec {
  const { lrs, losses, suggestions } = result;
  // NOTE: like fastai, the last 5 points (usually the divergence) are left off so the curve keeps its scale.
  const end = Math.max(2, lrs.length - 5);
  const shown = losses.slice(0, end).filter(Number.isFinite);
  const colors: Record<string, string> = { valley: RED, steep: GREEN, minimum: PURPLE };
  const markers: MarkerSpec[] = (options.mark ?? ['valley', 'steep', 'minimum']).map((name) => {
    const point = suggestions[name];
    // NOTE: minimum suggests a tenth of the minimum's lr; the mark sits on the minimum itself.
    const x = name === 'minimum' ? point.lr * 10 : point.lr;
    return { x, y: point.loss, label: `${name}: ${point.lr.toExponential(2)}`, color: colors[name] };
  });
  const low = Math.min(...shown, ...markers.map((m) => m.y));
  // NOTE: the y range covers the curve up to its minimum (plus a margin for the rise after it) and every
  // marker; the divergence runs off the top instead of squashing the interesting part flat.
  const before = shown.slice(0, shown.indexOf(Math.min(...shown)) + 1);
  const top = Math.max(...before, ...markers.map((m) => m.y));
  const high = top + 0.25 * (top - low) || low + 1;
  return {
    title: options.title ?? 'Learning rate finder',
    x: { label: 'Learning rate (log scale)', log: true },
    y: { label: 'Loss (smoothed)', min: low - 0.05 * (high - low), max: high + 0.05 * (high - low) },
    series: [{ x: lrs.slice(0, end), y: losses.slice(0, end), label: 'smoothed loss', color: BLUE }],
    markers,
  };
}

/**
 * Smoothed loss against learning rate on a log axis, with the suggestions marked (fastai's
 * `recorder.plot_lr_find()`, `sched.plot()` in fastai v1). Resolves to the path written, or to a Figure
 * when no path is given (`display(plotLrFind(result))` in a notebook).
 */
export function plotLrFind(result: LrFindResult, path: string, options?: PlotLrFindOptions): Promise<string>;
export function plotLrFind(result: LrFindResult, options?: PlotLrFindOptions): Promise<Figure>;
export function plotLrFind(result: LrFindResult, pathOrOptions?: string | PlotLrFindOptions, maybeOptions?: PlotLrFindOptions): Promise<string | Figure> {
  const [path, options] = plotArgs(pathOrOptions, maybeOptions);
  return drawChart(lrFindChart(result, options), path);
}

/** Options of {@link plotLrSchedule}. */
export interface PlotLrScheduleOptions { title?: string; moms?: number[]; log?: boolean }

/**
 * Learning rate (linear y, or log with `log`) against iteration, with momentum on a twin axis when given
 * (fastai v1's `sched.plot_lr()`). Resolves to the path written, or to a Figure when no path is given.
 */
export function plotLrSchedule(lrs: number[], path: string, options?: PlotLrScheduleOptions): Promise<string>;
export function plotLrSchedule(lrs: number[], options?: PlotLrScheduleOptions): Promise<Figure>;
export function plotLrSchedule(lrs: number[], pathOrOptions?: string | PlotLrScheduleOptions, maybeOptions?: PlotLrScheduleOptions): Promise<string | Figure> {
  const [path, options] = plotArgs(pathOrOptions, maybeOptions);
  return drawChart(lrScheduleChart(lrs, options), path);
}

/** The chart of {@link plotLrSchedule}, for other renderers (reports, pages). */
export function lrScheduleChart(lrs: number[], options: { title?: string; moms?: number[]; log?: boolean } = {}): ChartSpec {
  const iterations = lrs.map((_, i) => i);
  const log = options.log ?? false;
  const moms = options.moms?.some(Number.isFinite) ? options.moms : undefined;
  return {
    title: options.title ?? 'Learning rate schedule',
    x: { label: 'Iteration' },
    y: { label: 'Learning rate', log },
    y2: moms ? { label: 'Momentum' } : undefined,
    series: [
      { x: iterations, y: lrs, label: 'learning rate', color: BLUE },
      ...(moms ? [{ x: iterations, y: moms, label: 'momentum', color: ORANGE, axis: 'right' as const, dash: '6 4' }] : []),
    ],
  };
}

/** Options of {@link plotHistory}. */
export interface PlotHistoryOptions { title?: string; metric?: string }

/**
 * Train and valid loss (left axis) and accuracy (right axis) per epoch: the Keras tutorial's
 * twin-axis training-curves plot. `metric` picks the right-axis metric (default accuracy). Resolves to
 * the path written, or to a Figure when no path is given (`display(plotHistory(learn.history))`).
 */
export function plotHistory(history: readonly EpochRecord[], path: string, options?: PlotHistoryOptions): Promise<string>;
export function plotHistory(history: readonly EpochRecord[], options?: PlotHistoryOptions): Promise<Figure>;
export function plotHistory(history: readonly EpochRecord[], pathOrOptions?: string | PlotHistoryOptions, maybeOptions?: PlotHistoryOptions): Promise<string | Figure> {
  const [path, options] = plotArgs(pathOrOptions, maybeOptions);
  return drawChart(historyChart(history, options), path);
}

/** The chart of {@link plotHistory} (records need epoch, trainLoss, validLoss and metrics), for other renderers. */
export function historyChart(history: readonly Pick<EpochRecord, 'epoch' | 'trainLoss' | 'validLoss' | 'metrics'>[], options: { title?: string; metric?: string } = {}): ChartSpec {
  if (history.length === 0) throw new Error('plots.ts: plotHistory needs at least one epoch record');
  const metric = options.metric ?? 'accuracy';
  const epochs = history.map((r) => r.epoch);
  const values = history.map((r) => r.metrics[metric] ?? NaN);
  const hasMetric = values.some(Number.isFinite);
  const hasValid = history.some((r) => Number.isFinite(r.validLoss));
  return {
    title: options.title ?? 'Training curves',
    x: { label: 'Epoch', min: epochs.length === 1 ? epochs[0] - 1 : undefined },
    y: { label: 'Loss' },
    // NOTE: a metric within [0, 1] (accuracy, F1) never gets an axis above 1.
    y2: hasMetric ? { label: metric === 'accuracy' ? 'Accuracy' : metric, max: Math.max(...values.filter(Number.isFinite)) <= 1 ? 1 : undefined } : undefined,
    series: [
      { x: epochs, y: history.map((r) => r.trainLoss), label: 'train loss', color: BLUE, dots: true },
      ...(hasValid ? [{ x: epochs, y: history.map((r) => r.validLoss), label: 'valid loss', color: ORANGE, dots: true }] : []),
      ...(hasMetric ? [{ x: epochs, y: values, label: `valid ${metric}`, color: GREEN, axis: 'right' as const, dash: '7 4', dots: true }] : []),
    ],
  };
}
