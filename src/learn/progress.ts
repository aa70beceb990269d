/** Progress display: a live table in a notebook, a bar with ETA on a terminal, one plain line per epoch otherwise. */
import { formatDuration } from '../data/index.js';
import type { Callback } from './events.js';
import type { Learner } from './learner.js';
import { type NotebookHost, notebookHost } from './notebook.js';
import { LiveProgress, progressBundle } from './notebook-progress.js';

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
  private readonly host: NotebookHost | undefined;
  private live: LiveProgress | undefined;
  private rows: string[][] = [];
  private phaseStart = 0;
  private lastDraw = 0;
  private columns: string[] = [];

  /**
   * `mode` 'auto' shows a live table in a notebook (tslab, see notebookHost), a bar on a terminal, plain
   * lines otherwise; 'notebook' needs a notebook host (or `host`).
   */
  constructor(options: { mode?: 'auto' | 'bar' | 'lines' | 'notebook'; out?: ProgressWriter; host?: NotebookHost } = {}) {
    this.out = options.out ?? process.stdout;
    const mode = options.mode ?? 'auto';
    // NOTE: an explicit writer means the caller wants text there, so only the default stdout defers to a notebook.
    this.host = mode === 'notebook' || (mode === 'auto' && !options.out) ? options.host ?? notebookHost() : undefined;
    if (mode === 'notebook' && !this.host) throw new Error("progress.ts: progress mode 'notebook' needs a notebook kernel (tslab) or a host");
    this.bar = !this.host && (mode === 'bar' || (mode === 'auto' && Boolean(this.out.isTTY)));
  }

  beforeFit(learn: Learner): void {
    const metricNames = learn.metrics.map((m) => m.name);
    this.columns = ['epoch', 'trainLoss', 'validLoss', ...metricNames, 'time', 'samples/s'];
    if (this.host) {
      // NOTE: one output per fit, replaced in place: a table that grows by a row per epoch and a bar under it.
      this.rows = [];
      this.live = new LiveProgress(this.host.live());
      this.live.draw(() => progressBundle(this.columns, this.rows), true);
      return;
    }
    this.out.write(this.columns.map((c) => c.padEnd(Math.max(11, c.length + 2))).join('').trimEnd() + '\n');
  }

  beforeTrain(): void { this.phaseStart = performance.now(); this.lastDraw = 0; }

  beforeValidate(): void { this.phaseStart = performance.now(); }

  afterBatch(learn: Learner): void {
    if (this.live && learn.training) {
      const done = learn.batchIndex + 1;
      const phase = {
        label: `epoch ${learn.epoch + 1}/${learn.epochs}`, done, total: learn.numBatches,
        elapsedSeconds: (performance.now() - this.phaseStart) / 1000,
        comment: Number.isFinite(learn.trainLoss) ? `loss ${fmt(learn.trainLoss)}` : undefined,
      };
      this.live.draw(() => progressBundle(this.columns, this.rows, phase), done === learn.numBatches);
      return;
    }
    if (!this.bar || !learn.training) return;
    const now = performance.now();
    const done = learn.batchIndex + 1;
    if (now - this.lastDraw < 100 && done < learn.numBatches) return;
    this.lastDraw = now;
    const elapsed = (now - this.phaseStart) / 1000;
    // NOTE: the epoch's mean loss is updated after afterBatch, so on the first batch it is still NaN: show
    // that batch's own loss then, and nothing rather than "NaN" when neither is known.
    const loss = Number.isFinite(learn.trainLoss) ? learn.trainLoss : learn.lossValue;
    const head = `epoch ${learn.epoch + 1}/${learn.epochs} `;
    const tail = Number.isFinite(loss) ? ` loss ${fmt(loss)}` : '';
    // NOTE: a narrow terminal gets a shorter bar, never a number cut in half.
    const room = (this.out.columns ?? 120) - 1 - head.length - tail.length - renderBar(done, learn.numBatches, elapsed, 0).length;
    const line = `${head}${renderBar(done, learn.numBatches, elapsed, Math.max(0, Math.min(30, room)))}${tail}`;
    this.out.write(`\r${line.slice(0, (this.out.columns ?? 120) - 1)}\x1b[K`);
  }

  afterEpoch(learn: Learner): void {
    const record = learn.history[learn.history.length - 1];
    if (!record || record.epoch !== learn.epoch + 1) return;
    const cells = [String(record.epoch), fmt(record.trainLoss), fmt(record.validLoss),
      ...learn.metrics.map((m) => fmt(record.metrics[m.name])), formatDuration(record.seconds), String(Math.round(record.samplesPerSecond))];
    if (this.live) {
      this.rows.push(cells);
      this.live.draw(() => progressBundle(this.columns, this.rows), true);
      return;
    }
    if (this.bar) this.out.write('\r\x1b[K');
    this.out.write(cells.map((c, i) => c.padEnd(Math.max(11, (this.columns[i]?.length ?? 0) + 2))).join('').trimEnd() + '\n');
  }

  afterCancelFit(): void { if (this.bar) this.out.write('\r\x1b[K'); }

  afterFit(): void {
    // NOTE: the last draw leaves the finished table without a bar.
    this.live?.draw(() => progressBundle(this.columns, this.rows), true);
    this.live = undefined;
  }
}
