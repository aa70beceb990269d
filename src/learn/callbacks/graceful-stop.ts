/** GracefulStop: ends a fit after the current batch when asked (a stop button, Ctrl-C) and leaves a checkpoint that resumes mid-epoch. */
import { CancelBatchError, CancelFitError, type Callback } from '../events.js';
import type { Learner } from '../learner.js';
import { type CheckpointInfo, saveCheckpoint } from '../checkpoint.js';

interface StatefulSource { getState(): unknown; setState(state: never): void }

function stateful(source: unknown): source is StatefulSource {
  return typeof (source as StatefulSource | undefined)?.getState === 'function' && typeof (source as StatefulSource).setState === 'function';
}

/** Where a graceful stop happened. */
export interface StopInfo {
  /** Epoch (1-based) and batch (1-based) after which training stopped. */
  epoch: number;
  batch: number;
  reason: string;
  /** The checkpoint written, when the callback has a directory. */
  checkpoint?: CheckpointInfo;
}

/**
 * `request()` makes the fit end cleanly once the running training batch is done (weights stepped, nothing
 * half-applied), through CancelFitError. With a checkpoint directory it then saves a checkpoint whose state
 * (kept through this callback's getState) records the batches done in the interrupted epoch and the data
 * loader's state at that epoch's start: loading it and fitting again with the same callback replays the
 * epoch's order, skips the batches already done and continues with the same weights, optimizer and RNG.
 * (The resumed epoch's trainLoss averages only the batches run after the resume.)
 */
export class GracefulStop implements Callback {
  readonly name = 'GracefulStop';
  // NOTE: first at every event, so a skipped batch is cancelled before other callbacks see it.
  readonly order = -100;
  /** Reason of a pending request, or null. */
  requested: string | null = null;
  /** Set once a requested stop has happened. */
  stopped: StopInfo | undefined;
  private epochStart: unknown = null;
  private resume: { epoch: number; batchesDone: number; train: unknown } | null = null;
  private skip = 0;
  private skipping = false;
  private saving: Record<string, unknown> | null = null;

  /** With `dir`, a stop writes a resumable checkpoint there (saveCheckpoint's layout). */
  constructor(readonly dir?: string) {}

  /** Asks the running fit to stop after the current batch (idempotent; the first reason is kept). */
  request(reason = 'stop requested'): void { this.requested ??= reason; }

  beforeFit(learn: Learner): void {
    this.stopped = undefined;
    this.skip = 0;
    if (this.resume && this.resume.epoch === learn.startEpoch) {
      // NOTE: the checkpoint's loader state is from mid-epoch; replay the epoch from its start instead.
      if (this.resume.train !== null && stateful(learn.data.train)) learn.data.train.setState(this.resume.train as never);
      this.skip = this.resume.batchesDone;
    }
    this.resume = null;
  }

  beforeTrain(learn: Learner): void {
    this.epochStart = stateful(learn.data.train) ? learn.data.train.getState() : null;
  }

  beforeBatch(learn: Learner): void {
    if (!learn.training || this.skip === 0) return;
    this.skip--;
    this.skipping = true;
    throw new CancelBatchError();
  }

  afterBatch(learn: Learner): void {
    if (this.skipping) { this.skipping = false; return; }
    if (learn.training && this.requested !== null) throw new CancelFitError(this.requested);
  }

  async afterCancelFit(learn: Learner): Promise<void> {
    if (this.requested === null || this.stopped) return;
    const info: StopInfo = { epoch: learn.epoch + 1, batch: learn.batchIndex + 1, reason: this.requested };
    if (this.dir) {
      this.saving = { epoch: learn.epoch, batchesDone: learn.batchIndex + 1, train: this.epochStart };
      try {
        info.checkpoint = saveCheckpoint(learn, this.dir);
      } finally {
        this.saving = null;
      }
    }
    this.stopped = info;
    this.requested = null;
  }

  getState(): Record<string, unknown> { return this.saving ?? {}; }

  setState(state: Record<string, unknown>): void {
    const { epoch, batchesDone, train } = state as { epoch?: unknown; batchesDone?: unknown; train?: unknown };
    this.resume = Number.isInteger(epoch) && Number.isInteger(batchesDone) ? { epoch: epoch as number, batchesDone: batchesDone as number, train: train ?? null } : null;
  }
}
