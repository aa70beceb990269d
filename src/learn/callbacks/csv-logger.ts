/** CSVLogger: one CSV row per epoch (epoch, losses, metrics, lr, time), rewritten atomically. */
import { existsSync, readFileSync } from 'node:fs';
import { writeTextFileAtomic } from '../../tensor/index.js';
import { csvLine, parseCsvRows } from '../../data/csv.js';
import { isMainProcess } from '../../distributed/index.js';
import type { Callback } from '../events.js';
import type { Learner } from '../learner.js';

/**
 * Writes `epoch,trainLoss,validLoss,<metrics...>,lr,seconds` rows to `path` after every epoch
 * (the whole file is rewritten atomically, so it is never half a row). With `append`, or when a
 * fit resumes at startEpoch, rows of an existing file are kept (up to startEpoch when resuming).
 */
export class CSVLogger implements Callback {
  readonly name = 'CSVLogger';
  readonly order = 60;
  private rows: string[][] = [];

  /** Logs to `path`; `append` keeps an existing file's rows (default false). */
  constructor(readonly path: string, readonly options: { append?: boolean } = {}) {}

  /** Column names for a learner's metrics. */
  static columns(learn: Learner): string[] {
    return ['epoch', 'trainLoss', 'validLoss', ...learn.metrics.map((m) => m.name), 'lr', 'seconds'];
  }

  beforeFit(learn: Learner): void {
    const header = CSVLogger.columns(learn);
    const keep = (this.options.append || learn.startEpoch > 0) && existsSync(this.path);
    this.rows = keep ? parseCsvRows(readFileSync(this.path, 'utf8'), `CSVLogger: '${this.path}'`).map((r) => r.cells) : [header];
    // NOTE: rows written after the checkpoint a resumed fit starts from are dropped (they are redone).
    if (learn.startEpoch > 0) this.rows = this.rows.filter((row, i) => i === 0 || Number(row[0]) <= learn.startEpoch);
    if (csvLine(this.rows[0] ?? []) !== csvLine(header)) throw new Error(`CSVLogger: '${this.path}' has columns ${csvLine(this.rows[0] ?? [])}, expected ${csvLine(header)}`);
    this.write();
  }

  afterEpoch(learn: Learner): void {
    const record = learn.history[learn.history.length - 1];
    if (!record || record.epoch !== learn.epoch + 1) return;
    const cells = CSVLogger.columns(learn).map((column) => {
      const value = record.metrics[column] ?? record[column];
      return typeof value === 'number' ? String(value) : '';
    });
    this.rows.push(cells);
    this.write();
  }

  // NOTE: in data-parallel training only rank 0 writes (every rank sees the same, reduced, numbers).
  private write(): void {
    if (isMainProcess()) writeTextFileAtomic(this.path, this.rows.map(csvLine).join('\n') + '\n');
  }
}
