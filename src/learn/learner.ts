/** The Learner: model + data + loss + optimizer + metrics, trained by a loop of named events. */
import { Tensor, cat, dispose, noGrad, tidy } from '../tensor/index.js';
import { type Module, type Parameter, crossEntropy } from '../nn/index.js';
import { Adam, type Optimizer } from '../optim/index.js';
import type { Batch, BatchSource, ImageSource } from '../data/index.js';
import { type ImagePrediction, predictImage } from './predict-image.js';
import { type TTAOptions, tta } from './tta.js';
import {
  BATCH_EVENTS, type Callback, CancelBatchError, CancelEpochError, CancelFitError, CancelTrainError,
  CancelValidateError, EVENTS, type EventName, NonFiniteLossError,
} from './events.js';
import { type Metric, accuracy } from './metrics.js';
import { ProgressCallback } from './progress.js';
import { type LrFindOptions, type LrFindResult, lrFind } from './lr-find.js';
import { type FlatCosOptions, type OneCycleOptions, type SGDROptions, fitFlatCos, fitOneCycle, fitSGDR } from './schedules.js';

/** Training and validation data for a Learner. */
export interface DataPair {
  train: BatchSource;
  valid?: BatchSource;
}

/** Loss of predictions against targets (a scalar tensor). */
export type LossFunction = (pred: Tensor, target: Tensor) => Tensor;

/** Builds the optimizer over the model's parameters with a starting lr. */
export type OptimizerFactory = (params: Parameter[], lr: number) => Optimizer;

/** Options of a Learner; everything has a default. */
export interface LearnerOptions {
  /** Default cross-entropy. */
  lossFn?: LossFunction;
  /** Default Adam. */
  optimizer?: OptimizerFactory;
  /** Default lr for fit() when none is given (1e-3). */
  lr?: number;
  /** Validation metrics (default [accuracy()]). */
  metrics?: Metric[];
  /** Extra callbacks. */
  callbacks?: Callback[];
  /** Progress display: 'auto' (a live table in a notebook, a bar on a terminal, lines otherwise), or false for silence. */
  progress?: 'auto' | 'bar' | 'lines' | 'notebook' | false;
  /** Stop with NonFiniteLossError when a training loss is NaN or infinite (default true). */
  stopOnNonFinite?: boolean;
}

/** Options of one fit() call. */
export interface FitOptions {
  /**
   * Epoch to start at (0-based; default 0), for resuming: epochs before it are skipped, but the
   * schedule position counts them, so a resumed fit follows the uninterrupted run's curve. When
   * it is above 0, fit's `lr` argument does not overwrite the optimizer's (restored) lr.
   */
  startEpoch?: number;
  /** Callbacks added for this fit only (removed when it ends). */
  callbacks?: Callback[];
}

/** What fit() records per epoch. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validLoss: number;
  seconds: number;
  samplesPerSecond: number;
  /** Learning rate of the first parameter group at the end of the epoch. */
  lr: number;
  /** Metric values by name (also spread onto the record, e.g. `accuracy`). */
  metrics: Record<string, number>;
  [metric: string]: number | Record<string, number>;
}

/**
 * Trains a model. `fit(epochs, lr)` runs the event loop; callbacks read and change the state
 * exposed here (xb, yb, pred, loss, epoch, ...). Each batch runs inside tidy(), so every
 * intermediate tensor is freed when the batch ends.
 */
export class Learner {
  readonly lossFn: LossFunction;
  readonly metrics: Metric[];
  readonly callbacks: Callback[] = [];
  /** One record per completed epoch. */
  readonly history: EpochRecord[] = [];
  optimizer: Optimizer | undefined;
  private readonly optimizerFactory: OptimizerFactory;
  readonly defaultLr: number;
  readonly stopOnNonFinite: boolean;

  // ---- loop state, readable (and some writable) by callbacks ----
  /** Current epoch, 0-based. */
  epoch = 0;
  /** Epochs of the running fit. */
  epochs = 0;
  /** Epoch the running fit started at (non-zero when resuming). */
  startEpoch = 0;
  /** Batch index within the current phase, 0-based. */
  batchIndex = 0;
  /** Batches in the current phase. */
  numBatches = 0;
  /** Training iterations done so far in this fit. */
  iteration = 0;
  /** Whether the current phase is training. */
  training = false;
  /** Current batch input (callbacks may replace it in beforeBatch). */
  xb: Tensor | undefined;
  /** Current batch target (callbacks may replace it in beforeBatch). */
  yb: Tensor | undefined;
  /** Model output of the current batch. */
  pred: Tensor | undefined;
  /** Loss tensor of the current batch (callbacks may replace it in afterLoss). */
  loss: Tensor | undefined;
  /** Loss of the current batch as a number. */
  lossValue = NaN;
  /** Mean training loss of the current epoch so far. */
  trainLoss = NaN;
  /** Validation results of the current epoch. */
  validLoss = NaN;

  /** A learner over `model` and `data`. */
  constructor(readonly model: Module, public data: DataPair, options: LearnerOptions = {}) {
    this.lossFn = options.lossFn ?? ((pred, target) => crossEntropy(pred, target));
    this.optimizerFactory = options.optimizer ?? ((params, lr) => new Adam(params, { lr }));
    this.defaultLr = options.lr ?? 1e-3;
    this.metrics = options.metrics ?? [accuracy()];
    this.stopOnNonFinite = options.stopOnNonFinite ?? true;
    const progress = options.progress ?? 'auto';
    if (progress !== false) this.addCallback(new ProgressCallback({ mode: progress }));
    for (const callback of options.callbacks ?? []) this.addCallback(callback);
  }

  /** Adds a callback (kept sorted by order). */
  addCallback(callback: Callback): this {
    this.callbacks.push(callback);
    this.callbacks.sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
    return this;
  }

  /** Removes a callback. */
  removeCallback(callback: Callback): this {
    const i = this.callbacks.indexOf(callback);
    if (i >= 0) this.callbacks.splice(i, 1);
    return this;
  }

  /** The optimizer, created on first use over all model parameters. */
  createOptimizer(lr = this.defaultLr): Optimizer {
    this.optimizer ??= this.optimizerFactory(this.model.parameters(), lr);
    return this.optimizer;
  }

  /** Sets the lr of every parameter group. */
  setLr(lr: number): void {
    for (const group of this.createOptimizer(lr).paramGroups) group.lr = lr;
  }

  /** Which callbacks run at each event, in order (fastai's show_training_loop). */
  showTrainingLoop(): string {
    const lines: string[] = [];
    for (const event of EVENTS) {
      const names = this.callbacks.filter((c) => typeof c[event] === 'function').map((c) => c.name ?? c.constructor.name);
      lines.push(`${event.padEnd(20)} ${names.length ? names.join(', ') : '-'}`);
    }
    return lines.join('\n');
  }

  private emitBatch(event: EventName): void {
    for (const callback of this.callbacks) {
      const hook = callback[event] as ((learn: Learner) => void) | undefined;
      if (hook) hook.call(callback, this);
    }
  }

  private async emit(event: EventName): Promise<void> {
    if (BATCH_EVENTS.has(event)) { this.emitBatch(event); return; }
    for (const callback of this.callbacks) {
      const hook = callback[event] as ((learn: Learner) => void | Promise<void>) | undefined;
      if (hook) await hook.call(callback, this);
    }
  }

  private async phase(name: 'Fit' | 'Epoch' | 'Train' | 'Validate', cancel: new (...args: never[]) => Error, body: () => Promise<void>): Promise<void> {
    try {
      await this.emit(`before${name}` as EventName);
      await body();
    } catch (error) {
      if (!(error instanceof cancel)) throw error;
      await this.emit(`afterCancel${name}` as EventName);
    }
    await this.emit(`after${name}` as EventName);
  }

  /**
   * Trains for `epochs` epochs at `lr` (default: the learner's lr), validating after each;
   * `options.startEpoch` resumes a fit part-way (see loadCheckpoint).
   */
  async fit(epochs: number, lr?: number, options: FitOptions = {}): Promise<EpochRecord[]> {
    if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`learner.ts: fit epochs must be a positive integer, got ${epochs}`);
    const startEpoch = options.startEpoch ?? 0;
    if (!Number.isInteger(startEpoch) || startEpoch < 0 || startEpoch > epochs) {
      throw new Error(`learner.ts: fit startEpoch must be an integer in [0, ${epochs}], got ${startEpoch}`);
    }
    this.createOptimizer(lr ?? this.defaultLr);
    // NOTE: a resumed fit keeps the lr restored from the checkpoint (ReduceLROnPlateau may have lowered it).
    if (lr !== undefined && startEpoch === 0) this.setLr(lr);
    this.epochs = epochs;
    this.startEpoch = this.epoch = startEpoch;
    // NOTE: the iteration counts skipped epochs too, so schedules resume at the right position.
    this.iteration = startEpoch * this.data.train.length;
    const start = this.history.length;
    const extra = options.callbacks ?? [];
    for (const callback of extra) this.addCallback(callback);
    try {
      await this.phase('Fit', CancelFitError, async () => {
        for (this.epoch = startEpoch; this.epoch < epochs; this.epoch++) {
          await this.phase('Epoch', CancelEpochError, () => this.oneEpoch());
        }
      });
    } finally {
      for (const callback of extra) this.removeCallback(callback);
    }
    return this.history.slice(start);
  }

  /** One-cycle training (see fitOneCycle in schedules.ts). */
  fitOneCycle(epochs: number, lrMax = this.defaultLr, options: OneCycleOptions = {}): Promise<EpochRecord[]> {
    return fitOneCycle(this, epochs, lrMax, options);
  }

  /** SGDR, cosine annealing with warm restarts (see fitSGDR in schedules.ts). */
  fitSGDR(cycles: number, cycleLen: number, cycleMult = 2, options: SGDROptions = {}): Promise<EpochRecord[]> {
    return fitSGDR(this, cycles, cycleLen, cycleMult, options);
  }

  /** Learning-rate finder; restores weights and optimizer state after (see lrFind in lr-find.ts). */
  lrFind(options: LrFindOptions = {}): Promise<LrFindResult> {
    return lrFind(this, options);
  }

  /** Flat lr then cosine annealing (see fitFlatCos in schedules.ts). */
  fitFlatCos(epochs: number, lr = this.defaultLr, options: FlatCosOptions = {}): Promise<EpochRecord[]> {
    return fitFlatCos(this, epochs, lr, options);
  }

  private async oneEpoch(): Promise<void> {
    const started = performance.now();
    let trainSeconds = 0;
    let trainSamples = 0;
    await this.phase('Train', CancelTrainError, async () => {
      const t0 = performance.now();
      trainSamples = await this.allBatches(this.data.train, true);
      trainSeconds = (performance.now() - t0) / 1000;
    });
    const metrics: Record<string, number> = {};
    if (this.data.valid) {
      await this.phase('Validate', CancelValidateError, async () => {
        const result = await this.evaluate(this.data.valid!);
        this.validLoss = result.loss;
        Object.assign(metrics, result.metrics);
      });
    }
    const record: EpochRecord = {
      epoch: this.epoch + 1,
      trainLoss: this.trainLoss,
      validLoss: this.data.valid ? this.validLoss : NaN,
      ...metrics,
      seconds: (performance.now() - started) / 1000,
      samplesPerSecond: trainSeconds > 0 ? trainSamples / trainSeconds : 0,
      lr: this.optimizer?.paramGroups[0]?.lr ?? NaN,
      metrics,
    };
    this.history.push(record);
  }

  private async allBatches(source: BatchSource, training: boolean): Promise<number> {
    this.training = training;
    this.model.train(training);
    this.numBatches = source.length;
    this.batchIndex = 0;
    let lossSum = 0;
    let samples = 0;
    this.trainLoss = NaN;
    for await (const batch of source) {
      try {
        const n = batch.y.shape[0];
        this.runBatch(batch);
        if (Number.isFinite(this.lossValue)) { lossSum += this.lossValue * n; samples += n; }
        this.trainLoss = lossSum / samples;
      } finally {
        dispose(batch);
      }
      this.batchIndex++;
      if (training) this.iteration++;
    }
    return samples;
  }

  private runBatch(batch: Batch): void {
    this.xb = batch.x;
    this.yb = batch.y;
    tidy(() => {
      try {
        this.emitBatch('beforeBatch');
        this.pred = this.model.forward(this.xb!);
        this.emitBatch('afterPred');
        this.loss = this.lossFn(this.pred, this.yb!);
        this.emitBatch('afterLoss');
        this.lossValue = this.loss.item();
        if (this.stopOnNonFinite && !Number.isFinite(this.lossValue)) {
          throw new NonFiniteLossError(this.epoch + 1, this.batchIndex + 1, this.lossValue);
        }
        const optimizer = this.createOptimizer();
        optimizer.zeroGrad();
        this.emitBatch('beforeBackward');
        this.loss.backward();
        this.emitBatch('afterBackward');
        this.emitBatch('beforeStep');
        optimizer.step();
        this.emitBatch('afterStep');
      } catch (error) {
        if (!(error instanceof CancelBatchError)) throw error;
        this.emitBatch('afterCancelBatch');
      }
      this.emitBatch('afterBatch');
    });
    this.xb = this.yb = this.pred = this.loss = undefined;
  }

  /**
   * One optimisation step on a batch you provide (for hand-written loops); returns the loss.
   * Runs no callbacks; the tensors you pass stay yours.
   */
  step(xb: Tensor, yb: Tensor): number {
    const optimizer = this.createOptimizer();
    this.model.train();
    return tidy(() => {
      optimizer.zeroGrad();
      const loss = this.lossFn(this.model.forward(xb), yb);
      loss.backward();
      optimizer.step();
      return loss.item();
    });
  }

  /** Mean loss and metrics over a data source, in eval mode without gradients. */
  async evaluate(source: BatchSource): Promise<{ loss: number; metrics: Record<string, number> }> {
    const wasTraining = this.model.training;
    this.model.eval();
    for (const metric of this.metrics) metric.reset();
    let lossSum = 0;
    let samples = 0;
    try {
      for await (const batch of source) {
        try {
          noGrad(() => tidy(() => {
            const pred = this.model.forward(batch.x);
            const n = batch.y.shape[0];
            lossSum += this.lossFn(pred, batch.y).item() * n;
            samples += n;
            for (const metric of this.metrics) metric.accumulate(pred, batch.y);
          }));
        } finally {
          dispose(batch);
        }
      }
    } finally {
      this.model.train(wasTraining);
    }
    const metrics = Object.fromEntries(this.metrics.map((m) => [m.name, m.value()]));
    return { loss: samples ? lossSum / samples : NaN, metrics };
  }

  /**
   * Predicted probabilities (softmax) and targets for every sample of a source (default: the validation data),
   * concatenated; with `tta`, averaged over flipped (and shifted) views as tta() does.
   */
  async getPreds(source: BatchSource | undefined = this.data.valid, options: { tta?: boolean | TTAOptions } = {}): Promise<{ probs: Tensor; targets: Tensor }> {
    if (!source) throw new Error('learner.ts: getPreds needs a data source (this learner has no validation data)');
    if (options.tta) return tta(this, source, options.tta === true ? {} : options.tta);
    const probs: Tensor[] = [];
    const targets: Tensor[] = [];
    this.model.eval();
    try {
      for await (const batch of source) {
        noGrad(() => { probs.push(tidy(() => this.model.forward(batch.x).softmax(1))); });
        targets.push(batch.y);
        batch.x.dispose();
      }
      return { probs: cat(probs), targets: cat(targets) };
    } finally {
      dispose(probs);
      dispose(targets);
    }
  }

  /** Class probabilities for an input batch (eval mode, no gradients). */
  predict(x: Tensor): Tensor;
  /**
   * The class of one image file (or its bytes), preprocessed as the validation loader does (fastai's
   * `learn.predict(img)`): label, class index and every class's probability.
   */
  predict(image: ImageSource): Promise<ImagePrediction>;
  predict(x: Tensor | ImageSource): Tensor | Promise<ImagePrediction> {
    if (!(x instanceof Tensor)) return predictImage(this, x);
    const wasTraining = this.model.training;
    this.model.eval();
    try {
      return noGrad(() => tidy(() => this.model.forward(x).softmax(1)));
    } finally {
      this.model.train(wasTraining);
    }
  }
}
