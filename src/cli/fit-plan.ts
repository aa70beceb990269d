/** How `kestrel train` fits: schedule choice, checkpoints, early stopping, resume, and what it reports. */
import { join } from 'node:path';
import {
  Checkpoint, type ConfusionMatrix, EarlyStopping, type EpochRecord, type FitOptions, Learner, Recorder, confusionMatrix,
  type Precision, hasCheckpoint, loadCheckpoint, resolvePrecision,
} from '../learn/index.js';
import type { BatchSource } from '../data/index.js';
import { UsageError } from './args.js';
import { isMainProcess } from '../distributed/index.js';

/** Learning-rate schedules the CLI offers. */
export const SCHEDULES = ['constant', 'one-cycle', 'sgdr', 'flat-cos'] as const;

/** One of SCHEDULES. */
export type ScheduleName = (typeof SCHEDULES)[number];

/** Callbacks a training run adds from its flags. */
export function planCallbacks(out: string, options: { checkpointEvery?: number; earlyStop?: number }): { recorder: Recorder; callbacks: (Recorder | Checkpoint | EarlyStopping)[] } {
  const recorder = new Recorder();
  const callbacks: (Recorder | Checkpoint | EarlyStopping)[] = [recorder];
  if (options.checkpointEvery) callbacks.push(new Checkpoint(join(out, 'checkpoint'), { everyNEpochs: options.checkpointEvery }));
  if (options.earlyStop) callbacks.push(new EarlyStopping({ monitor: 'validLoss', patience: options.earlyStop }));
  return { recorder, callbacks };
}

/**
 * Checks a --precision flag before anything is loaded or written (models train on CPU here): an
 * explicit bf16 this CPU or libtorch cannot run natively is an Error naming the flag and the reason.
 */
export function checkPrecisionFlag(value: string): Precision {
  try {
    resolvePrecision(value as Precision, 'cpu');
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(message.startsWith('precision ') ? `--${message.replace(/^precision '([^']*)'/, 'precision $1')}` : `--precision ${value}: ${message}`);
  }
  return value as Precision;
}

/**
 * Restores `resumeDir`'s last checkpoint into `learn`: the epoch to start from and the length of the
 * interrupted fit (its epochs, and its iterations when it was planned to end part-way through an
 * epoch). `epochs`, when given, must match the checkpoint's.
 */
export function resumeFrom(learn: Learner, resumeDir: string, epochs?: number): { startEpoch: number; epochs: number; stage: string | null; iterations?: number } {
  const dir = join(resumeDir, 'checkpoint');
  if (!hasCheckpoint(dir)) throw new UsageError(`--resume ${resumeDir}: no checkpoint there (train with --checkpoint-every N --out ${resumeDir} first)`);
  const info = loadCheckpoint(learn, dir);
  if (epochs !== undefined && info.epochs !== epochs) throw new UsageError(`--resume: the checkpoint is from a ${info.epochs}-epoch run; pass --epochs ${info.epochs}`);
  if (isMainProcess()) console.log(`kestrel: resuming from ${info.path} after epoch ${info.epoch} of ${info.epochs}`);
  const partial = info.totalIterations !== info.epochs * learn.data.train.length;
  return { startEpoch: info.epoch, epochs: info.epochs, stage: info.stage, ...(partial ? { iterations: info.totalIterations } : {}) };
}

/** Runs the fit for a schedule; SGDR restarts every epoch. */
export function runSchedule(learn: Learner, schedule: ScheduleName, epochs: number, lr: number, options: FitOptions): Promise<EpochRecord[]> {
  switch (schedule) {
    case 'one-cycle': return learn.fitOneCycle(epochs, lr, options);
    case 'flat-cos': return learn.fitFlatCos(epochs, lr, options);
    case 'sgdr': return learn.fitSGDR(epochs, 1, 1, { ...options, lrMax: lr });
    default: return learn.fit(epochs, lr, options);
  }
}

/** Per-class results of the model on `valid` (confusion matrix, accuracy, precision, recall, F1). */
export async function perClassResults(learn: Learner, valid: BatchSource, classes: string[]): Promise<Record<string, unknown>> {
  const matrix: ConfusionMatrix = confusionMatrix();
  // NOTE: in a data-parallel run each rank holds a shard of `valid`; the probe sums every rank's confusion counts.
  const dataParallel = learn.dataParallel ? { group: learn.dataParallel.group, shardData: false } : false;
  const probe = new Learner(learn.model, { train: valid }, { metrics: [matrix], progress: false, device: learn.device, distributed: dataParallel });
  await probe.evaluate(valid);
  return perClassFromMatrix(matrix, classes);
}

/** Per-class accuracy, precision, recall and F1 with the counts of a filled confusion matrix. */
export function perClassFromMatrix(matrix: ConfusionMatrix, classes: string[]): Record<string, unknown> {
  const [accuracy, precision, recall, f1] = [matrix.perClassAccuracy(), matrix.perClassPrecision(), matrix.perClassRecall(), matrix.perClassF1()];
  return {
    perClass: Object.fromEntries(classes.map((name, i) => [name, { accuracy: accuracy[i], precision: precision[i], recall: recall[i], f1: f1[i] }])),
    confusionMatrix: { classes, counts: matrix.matrix() },
  };
}
