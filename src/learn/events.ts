/** The training loop's events, the Callback shape, and the typed errors that cancel parts of it. */
import type { Learner } from './learner.js';

/**
 * Every event of the loop, in the order they fire. Batch-level events (`beforeBatch` to
 * `afterBatch`) run synchronously inside the batch's memory scope; the others may be async.
 */
export const EVENTS = [
  'beforeFit', 'beforeEpoch', 'beforeTrain', 'beforeBatch', 'afterPred', 'afterLoss',
  'beforeBackward', 'afterBackward', 'beforeStep', 'afterStep', 'afterCancelBatch', 'afterBatch',
  'afterCancelTrain', 'afterTrain', 'beforeValidate', 'afterCancelValidate', 'afterValidate',
  'afterCancelEpoch', 'afterEpoch', 'afterCancelFit', 'afterFit',
] as const;

/** Name of one loop event. */
export type EventName = (typeof EVENTS)[number];

/** Events that run inside a batch and must be synchronous. */
export const BATCH_EVENTS: ReadonlySet<EventName> = new Set<EventName>([
  'beforeBatch', 'afterPred', 'afterLoss', 'beforeBackward', 'afterBackward', 'beforeStep', 'afterStep', 'afterCancelBatch', 'afterBatch',
]);

type BatchHook = (learn: Learner) => void;
type PhaseHook = (learn: Learner) => void | Promise<void>;

/**
 * A callback: an object with any of the event hooks. Lower `order` runs first (default 0).
 * Batch-level hooks must be synchronous; fit/epoch/train/validate hooks may return promises.
 */
export interface Callback {
  /** Shown by showTrainingLoop(); defaults to the class name. */
  name?: string;
  /** Position among callbacks at each event (lower first). */
  order?: number;
  beforeFit?: PhaseHook; beforeEpoch?: PhaseHook; beforeTrain?: PhaseHook;
  beforeBatch?: BatchHook; afterPred?: BatchHook; afterLoss?: BatchHook;
  beforeBackward?: BatchHook; afterBackward?: BatchHook; beforeStep?: BatchHook; afterStep?: BatchHook;
  afterCancelBatch?: BatchHook; afterBatch?: BatchHook;
  afterCancelTrain?: PhaseHook; afterTrain?: PhaseHook;
  beforeValidate?: PhaseHook; afterCancelValidate?: PhaseHook; afterValidate?: PhaseHook;
  afterCancelEpoch?: PhaseHook; afterEpoch?: PhaseHook;
  afterCancelFit?: PhaseHook; afterFit?: PhaseHook;
  /** JSON-ready state saved in checkpoints (e.g. EarlyStopping's best value and patience count). */
  getState?(): Record<string, unknown>;
  /** Restores state from getState() when a checkpoint is loaded. */
  setState?(state: Record<string, unknown>): void;
}

/** Thrown by a callback to skip the rest of the current batch (fires afterCancelBatch). */
export class CancelBatchError extends Error { override name = 'CancelBatchError'; }
/** Thrown by a callback to end the training phase of this epoch early. */
export class CancelTrainError extends Error { override name = 'CancelTrainError'; }
/** Thrown by a callback to skip the rest of validation. */
export class CancelValidateError extends Error { override name = 'CancelValidateError'; }
/** Thrown by a callback to end the current epoch. */
export class CancelEpochError extends Error { override name = 'CancelEpochError'; }
/** Thrown by a callback to end fit() cleanly (e.g. early stopping); fit resolves normally. */
export class CancelFitError extends Error { override name = 'CancelFitError'; }

/** Thrown when the loss stops being finite; names where it happened. fit() rejects with it. */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
  /** Records the epoch (1-based), batch (1-based) and loss value. */
  constructor(readonly epoch: number, readonly batch: number, readonly value: number) {
    super(`loss is ${Number.isNaN(value) ? 'NaN' : value > 0 ? '+Infinity' : '-Infinity'} at epoch ${epoch}, batch ${batch}: training stopped (try a lower learning rate)`);
  }
}
