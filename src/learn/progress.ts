/** Progress display: a bar with ETA on a terminal, one plain line per epoch otherwise. */
import { formatDuration } from '../data/index.js';
import type { Callback } from './events.js';
import type { Learner } from './learner.js';

/** Where progress text goes (a stream-like writer). */
export interface ProgressWriter {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** A text progress bar like `[#########.........]  45% 106/235 eta 0:07`. */
export function renderBar(done: number, total: number, elapsedSeconds: number, width = 30): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(fraction * width);
  const eta = done > 0 ? (elapsedSeconds / done) * (total - done) : NaN;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}% ${done}/${total} eta ${formatDuration(eta)}`;
}

const fmt = (v: unknown): string => (typeof v === 'number' ? (Number.isFinite(v) ? v.toFixed(4) : String(v)) : '');

/** Shows training progress; added by default to every Learner (order 90, after the others). */
export class ProgressCallback implements Callback {
  readonly name = 'ProgressCallback';
  readonly order = 90;
  private readonly out: ProgressWriter;
  private readonly bar: boolean;
  private phaseStart = 0;
  private lastDraw = 0;
  private columns: string[] = [];

  /** `mode` 'auto' shows a bar only on a terminal. */
  constructor(options: { mode?: 'auto' | 'bar' | 'lines'; out?: ProgressWriter } = {}) {
    this.out = options.out ?? process.stdout;
    const mode = options.mode ?? 'auto';
    this.bar = mode === 'bar' || (mode === 'auto' && Boolean(this.out.isTTY));
  }

  beforeFit(learn: Learner): void {
    const metricNames = learn.metrics.map((m) => m.name);
    this.columns = ['epoch', 'trainLoss', 'validLoss', ...metricNames, 'time', 'samples/s'];
    this.out.write(this.columns.map((c) => c.padEnd(Math.max(11, c.length + 2))).join('').trimEnd() + '\n');
  }

  beforeTrain(): void { this.phaseStart = performance.now(); this.lastDraw = 0; }

  beforeValidate(): void { this.phaseStart = performance.now(); }

  afterBatch(learn: Learner): void {
    if (!this.bar || !learn.training) return;
    const now = performance.now();
    const done = learn.batchIndex + 1;
    if (now - this.lastDraw < 100 && done < learn.numBatches) return;
    this.lastDraw = now;
    const elapsed = (now - this.phaseStart) / 1000;
    const line = `epoch ${learn.epoch + 1}/${learn.epochs} ${renderBar(done, learn.numBatches, elapsed)} loss ${fmt(learn.trainLoss)}`;
    this.out.write(`\r${line.slice(0, (this.out.columns ?? 120) - 1)}\x1b[K`);
  }

  afterEpoch(learn: Learner): void {
    const record = learn.history[learn.history.length - 1];
    if (!record || record.epoch !== learn.epoch + 1) return;
    const cells = [String(record.epoch), fmt(record.trainLoss), fmt(record.validLoss),
      ...learn.metrics.map((m) => fmt(record.metrics[m.name])), formatDuration(record.seconds), String(Math.round(record.samplesPerSecond))];
    if (this.bar) this.out.write('\r\x1b[K');
    this.out.write(cells.map((c, i) => c.padEnd(Math.max(11, (this.columns[i]?.length ?? 0) + 2))).join('').trimEnd() + '\n');
  }

  afterCancelFit(): void { if (this.bar) this.out.write('\r\x1b[K'); }
}
