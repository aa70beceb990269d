/** SaveModel: saves weights every N epochs and/or whenever a monitored quantity reaches a new best. */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { writeTextFileAtomic } from '../../tensor/index.js';
import { isMainProcess } from '../../distributed/index.js';
import type { Callback } from '../events.js';
import type { Learner } from '../learner.js';
import { loadWeights, saveWeights } from '../weights.js';
import { Monitor, type MonitorOptions } from './monitor.js';

/** Options of SaveModel. */
export interface SaveModelOptions extends MonitorOptions {
  /** Directory for the files (created if needed). */
  dir: string;
  /** File name stem (default 'model'). */
  fileName?: string;
  /** Also save `<fileName>-epoch-NNN.safetensors` every this many epochs (default: never). */
  everyNEpochs?: number;
  /** Save `<fileName>-best.safetensors` on each new best of the monitored value (default true). */
  saveBest?: boolean;
  /** Load the best weights back into the model when fit ends (default false). */
  loadBestAtEnd?: boolean;
}

/**
 * Saves model weights with saveWeights (atomic safetensors) plus a small JSON beside each file
 * (`{ epoch, monitor, value, record }`): every N epochs, and on each new best of `monitor`.
 */
export class SaveModel implements Callback {
  readonly name = 'SaveModel';
  readonly order = 80;
  readonly tracker: Monitor;
  /** Epoch (1-based) of the best weights saved so far. */
  bestEpoch: number | undefined;
  /** Paths written during the last fit, in order. */
  readonly written: string[] = [];

  /** Saves into `options.dir`. */
  constructor(readonly options: SaveModelOptions) {
    if (typeof options?.dir !== 'string' || options.dir === '') throw new Error('SaveModel: options.dir is required');
    const every = options.everyNEpochs;
    if (every !== undefined && (!Number.isInteger(every) || every < 1)) throw new Error(`SaveModel: everyNEpochs must be a positive integer, got ${every}`);
    this.tracker = new Monitor(options, 'SaveModel');
  }

  /** Path of the best weights file. */
  get bestPath(): string { return join(this.options.dir, `${this.options.fileName ?? 'model'}-best.safetensors`); }

  /** Path of the weights file of a 1-based epoch. */
  epochPath(epoch: number): string { return join(this.options.dir, `${this.options.fileName ?? 'model'}-epoch-${String(epoch).padStart(3, '0')}.safetensors`); }

  beforeFit(learn: Learner): void {
    mkdirSync(this.options.dir, { recursive: true });
    this.written.length = 0;
    if (learn.startEpoch > 0 && this.tracker.mode !== undefined) return;
    this.tracker.reset(learn);
    this.bestEpoch = undefined;
  }

  afterEpoch(learn: Learner): void {
    const epoch = learn.epoch + 1;
    const record = learn.history[learn.history.length - 1];
    const every = this.options.everyNEpochs;
    if (every !== undefined && epoch % every === 0) this.save(this.epochPath(epoch), learn, { epoch, record });
    if (this.options.saveBest ?? true) {
      const value = this.tracker.current(learn);
      if (this.tracker.update(value, learn)) {
        this.bestEpoch = epoch;
        this.save(this.bestPath, learn, { epoch, monitor: this.tracker.monitor, value, record });
      }
    }
  }

  afterFit(learn: Learner): void {
    // NOTE: in data-parallel training rank 0 loads (it wrote the file); DataParallel then copies its weights to all.
    if (this.options.loadBestAtEnd && this.bestEpoch !== undefined && isMainProcess()) loadWeights(this.bestPath, learn.model);
  }

  private save(path: string, learn: Learner, info: Record<string, unknown>): void {
    if (!isMainProcess()) return;
    saveWeights(path, learn.model, { epoch: String(info.epoch) });
    writeTextFileAtomic(path.replace(/\.safetensors$/, '.json'), JSON.stringify(info, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) + '\n');
    this.written.push(path);
  }

  getState(): Record<string, unknown> { return { best: this.tracker.best, mode: this.tracker.mode, bestEpoch: this.bestEpoch }; }

  setState(state: Record<string, unknown>): void {
    this.tracker.best = Number(state.best);
    this.tracker.mode = state.mode as 'min' | 'max' | undefined;
    this.bestEpoch = state.bestEpoch === undefined || state.bestEpoch === null ? undefined : Number(state.bestEpoch);
  }
}
