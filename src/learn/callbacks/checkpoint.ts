/** Checkpoint: saves a resumable checkpoint every N epochs (and after the last epoch). */
import { isMainProcess } from '../../distributed/index.js';
import type { Callback } from '../events.js';
import type { Learner } from '../learner.js';
import { type CheckpointInfo, saveCheckpoint } from '../checkpoint.js';

/**
 * After every `everyNEpochs`-th epoch and the fit's last epoch, calls saveCheckpoint(learn, dir).
 * Runs after the callbacks that change state at epoch end (ReduceLROnPlateau, EarlyStopping,
 * SaveModel), so their updated state is part of the checkpoint.
 */
export class Checkpoint implements Callback {
  readonly name = 'Checkpoint';
  readonly order = 85;
  readonly everyNEpochs: number;
  /** The last checkpoint saved. */
  last: CheckpointInfo | undefined;

  /** Saves into `dir` every `everyNEpochs` epochs (default 1). */
  constructor(readonly dir: string, options: { everyNEpochs?: number } = {}) {
    this.everyNEpochs = options.everyNEpochs ?? 1;
    if (!Number.isInteger(this.everyNEpochs) || this.everyNEpochs < 1) throw new Error(`Checkpoint: everyNEpochs must be a positive integer, got ${this.everyNEpochs}`);
  }

  afterEpoch(learn: Learner): void {
    const epoch = learn.epoch + 1;
    const record = learn.history[learn.history.length - 1];
    if (!record || record.epoch !== epoch) return;
    // NOTE: in data-parallel training every rank holds the same state; rank 0 saves it for all.
    if ((epoch % this.everyNEpochs === 0 || epoch === learn.epochs) && isMainProcess()) this.last = saveCheckpoint(learn, this.dir);
  }
}
