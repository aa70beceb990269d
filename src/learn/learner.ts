/** The Learner: model + data + loss + optimizer + metrics, trained by a loop of named events. */
import { Tensor, cat, checkDevice, dispose, tidy } from '../tensor/index.js';
import { isMainProcess } from '../distributed/index.js';
import { type Module, type Parameter, crossEntropy } from '../nn/index.js';
import { Adam, type Optimizer, type ParamsInput } from '../optim/index.js';
import { type Batch, type BatchSource, type ImageSource, requestLayout } from '../data/index.js';
import { type ImagePrediction, predictImage } from './predict-image.js';
import { type TTAOptions, tta } from './tta.js';
import {
  BATCH_EVENTS, type Callback, CancelBatchError, CancelEpochError, CancelFitError, CancelTrainError,
  CancelValidateError, EVENTS, type EventName, NonFiniteLossError,
} from './events.js';
import { type Metric, accuracy } from './metrics.js';
import { ProgressCallback } from './progress.js';
import { type LrFindOptions, type LrFindResult, lrFind } from './lr-find.js';
import { MixedPrecision, type Precision, modelDevice, resolvePrecision } from './precision.js';
import { Inference, type InferenceOptions, type InferencePrecision } from './inference.js';
import { type FlatCosOptions, type OneCycleOptions, type SGDROptions, fitFlatCos, fitOneCycle, fitSGDR } from './schedules.js';
import { type LrSpec, resolveLrs } from './lr-spec.js';
import { type Splitter, applyFreeze, batchNormParameters, freezeBatchNormStatistics, frozenIndex, splitParameters } from './param-groups.js';
import { type FineTuneOptions, fineTune } from './fine-tune.js';
import { DataParallel, type DataParallelOptions } from './data-parallel.js';
import { batchToDevice } from './device.js';

/** Training and validation data for a Learner. */
export interface DataPair {
  train: BatchSource;
  valid?: BatchSource;
}

/** Loss of predictions against targets (a scalar tensor). */
export type LossFunction = (pred: Tensor, target: Tensor) => Tensor;

/**
 * Builds the optimizer over the model's parameters with a starting lr: a plain parameter list
 * when the learner has one group, else one `{ params }` group init per parameter group.
 */
export type OptimizerFactory = (params: ParamsInput, lr: number) => Optimizer;

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
  /**
   * Splits the model's parameters into groups, earliest layers first, for freezing and per-group
   * learning rates (fastai's splitter; default: one group of every parameter).
   */
  splitter?: Splitter;
  /**
   * Batch-norm layers in frozen groups stay trainable (default true, fastai's train_bn): their
   * weights and biases get gradients and their running statistics keep updating in training
   * mode. With false they freeze with their group, and run in eval mode (fixed statistics).
   */
  trainBn?: boolean;
  /** Training precision (default 'fp32'; 'auto' picks bf16 where supported and says which; see precision.ts). */
  precision?: Precision;
  /** How evaluate/predict/getPreds run: precision (default 'fp32'), batch-norm folding, guard (see inference.ts). */
  inference?: InferenceOptions;
  /**
   * Precision of the validation after each epoch of a fit: 'fp32', 'bf16', 'fp16', or 'training' (the
   * training precision, as fastai's and Keras's mixed precision validate). Default: the inference precision.
   */
  validationPrecision?: InferencePrecision | 'training';
  /** Where the model and batches live: 'cpu' (default), 'cuda' or 'cuda:N' (needs a CUDA build of libtorch). */
  device?: string;
  /** Train data-parallel across the processes of a group: true for the default group, or options (see DataParallel). */
  distributed?: boolean | DataParallelOptions;
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
  /**
   * Stop training after this many iterations (batches) in all, part-way through the last epoch,
   * which still validates; schedules then span these iterations (default: every batch of every epoch).
   */
  iterations?: number;
}

/** What fit() records per epoch. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validLoss: number;
  seconds: number;
  samplesPerSecond: number;
  /** Learning rate of the last parameter group (the head's; the only one without a splitter) at the end of the epoch. */
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
  /** Whether batch-norm layers of frozen groups stay trainable (see LearnerOptions.trainBn). */
  readonly trainBn: boolean;
  /** Label of the running training stage (fineTune sets 'frozen' / 'unfrozen'); saved in checkpoints. */
  stage: string | undefined;
  private readonly splitter: Splitter;
  private groups: Parameter[][] | undefined;
  private frozen = 0;
  /** Training precision: runs forward (autocast, channels-last), backward and step. */
  readonly amp: MixedPrecision;
  /** Evaluation and prediction runner (inference mode, folded batch norm). */
  readonly inference: Inference;
  /** The runner of the validation after each epoch (`inference` unless validationPrecision differs). */
  readonly validation: Inference;
  /** Device of the model and batches ('cpu', 'cuda:0', ...). */
  readonly device: string;
  /** The data-parallel callback when training across processes. */
  readonly dataParallel: DataParallel | undefined;

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
  /** Training iterations the running fit does in all (epochs x batches, or FitOptions.iterations). */
  totalIterations = 0;
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
    for (const [name, source] of [['train', data?.train], ['valid', data?.valid]] as const) {
      if ((name === 'train' || source !== undefined) && typeof (source as Partial<BatchSource> | undefined)?.[Symbol.asyncIterator] !== 'function') {
        throw new Error(`Learner: data.${name} must be a DataLoader or ImageLoader (a BatchSource), got ${source === undefined ? 'undefined' : typeof source}`);
      }
    }
    this.lossFn = options.lossFn ?? ((pred, target) => crossEntropy(pred, target));
    this.optimizerFactory = options.optimizer ?? ((params, lr) => new Adam(params, { lr }));
    this.defaultLr = options.lr ?? 1e-3;
    this.metrics = options.metrics ?? [accuracy()];
    this.stopOnNonFinite = options.stopOnNonFinite ?? true;
    this.splitter = options.splitter ?? ((model) => [model.parameters()]);
    this.trainBn = options.trainBn ?? true;
    this.device = checkDevice(options.device ?? 'cpu', 'Learner device');
    if (this.device !== 'cpu') model.to(this.device);
    // NOTE: in a data-parallel run only rank 0 shows progress (and writes files; see the callbacks).
    const progress = options.progress ?? (isMainProcess() ? 'auto' : false);
    this.amp = new MixedPrecision(resolvePrecision(options.precision ?? 'fp32', modelDevice(model)), model);
    this.inference = new Inference(model, options.inference);
    const validation = options.validationPrecision === 'training' ? this.amp.precision : options.validationPrecision;
    this.validation = validation === undefined || validation === this.inference.choice.precision ? this.inference : new Inference(model, { ...options.inference, precision: validation });
    if (this.amp.precision !== 'fp32') this.addCallback(this.amp);
    if (options.precision === 'auto' && progress !== false) console.log(`kestrel: precision ${this.amp.precision} (auto: ${this.amp.choice.reason})`);
    if (progress !== false) this.addCallback(new ProgressCallback({ mode: progress }));
    for (const callback of options.callbacks ?? []) this.addCallback(callback);
    if (options.distributed) {
      this.dataParallel = new DataParallel(options.distributed === true ? {} : options.distributed);
      this.dataParallel.shardData(data);
      for (const callback of this.dataParallel.callbacks()) this.addCallback(callback);
    }
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

  /** The optimizer, created on first use over the parameter groups (one group per splitter group). */
  createOptimizer(lr = this.defaultLr): Optimizer {
    if (this.optimizer === undefined) {
      const groups = this.parameterGroups();
      this.optimizer = this.optimizerFactory(groups.length === 1 ? [...groups[0]] : groups.map((params) => ({ params: [...params] })), lr);
      if (this.optimizer.paramGroups.length !== groups.length) {
        throw new Error(`learner.ts: the optimizer factory made ${this.optimizer.paramGroups.length} parameter groups for the splitter's ${groups.length}`);
      }
    }
    return this.optimizer;
  }

  /** The parameter groups from the splitter (computed once), earliest layers first. */
  parameterGroups(): Parameter[][] {
    this.groups ??= splitParameters(this.model, this.splitter);
    return this.groups;
  }

  /** The learning rate of each parameter group for a spec (a number, one per group, or lrSlice). */
  lrsFor(lr: LrSpec): number[] {
    return resolveLrs(lr, this.parameterGroups().length);
  }

  /** Sets the lr of every parameter group: one value, one per group, or lrSlice(lo, hi) / lrSlice(hi). */
  setLr(lr: LrSpec): void {
    const lrs = this.lrsFor(lr);
    this.createOptimizer(lrs[lrs.length - 1]).paramGroups.forEach((group, g) => { group.lr = lrs[g]; });
  }

  /** Groups before this index are frozen (0: nothing frozen). */
  get frozenIdx(): number { return this.frozen; }

  /**
   * Freezes parameter groups 0..n-1 (negative n counts from the end) and unfreezes the rest;
   * batch-norm parameters stay trainable unless trainBn is false. Clears the optimizer's state
   * (moments, momentum buffers), as fastai's freeze_to does.
   */
  freezeTo(n: number): void {
    const groups = this.parameterGroups();
    this.frozen = frozenIndex(n, groups.length);
    applyFreeze(groups, this.frozen, this.trainBn ? batchNormParameters(this.model) : new Set());
    this.optimizer?.dispose();
  }

  /** Freezes every group but the last (the head): freezeTo(-1). */
  freeze(): void { this.freezeTo(-1); }

  /** Makes every group trainable: freezeTo(0). */
  unfreeze(): void { this.freezeTo(0); }

  /**
   * fastai's fine_tune: freeze, one-cycle for freezeEpochs at lrSlice(baseLr) (pctStart 0.99),
   * then halve baseLr, unfreeze and one-cycle for `epochs` at lrSlice(baseLr / lrMult, baseLr)
   * (see fineTune in fine-tune.ts). Returns the records of both stages.
   */
  fineTune(epochs: number, baseLr = 2e-3, options: FineTuneOptions = {}): Promise<EpochRecord[]> {
    return fineTune(this, epochs, baseLr, options);
  }

  /** Sets training or eval mode; in training, frozen batch norm runs in eval mode unless trainBn. */
  protected setTrainingMode(training: boolean): void {
    this.model.train(training);
    if (training && !this.trainBn && this.frozen > 0) freezeBatchNormStatistics(this.model);
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
  async fit(epochs: number, lr?: LrSpec, options: FitOptions = {}): Promise<EpochRecord[]> {
    if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`learner.ts: fit epochs must be a positive integer, got ${epochs}`);
    const startEpoch = options.startEpoch ?? 0;
    if (!Number.isInteger(startEpoch) || startEpoch < 0 || startEpoch > epochs) {
      throw new Error(`learner.ts: fit startEpoch must be an integer in [0, ${epochs}], got ${startEpoch}`);
    }
    this.createOptimizer(lr === undefined ? this.defaultLr : this.lrsFor(lr).at(-1));
    // NOTE: a resumed fit keeps the lr restored from the checkpoint (ReduceLROnPlateau may have lowered it).
    if (lr !== undefined && startEpoch === 0) this.setLr(lr);
    const planned = epochs * this.data.train.length;
    const iterations = options.iterations ?? planned;
    if (!Number.isInteger(iterations) || iterations < 1 || iterations > planned) {
      throw new Error(`learner.ts: fit iterations must be an integer in [1, ${planned}] (${epochs} epochs of ${this.data.train.length} batches), got ${iterations}`);
    }
    this.totalIterations = iterations;
    this.epochs = epochs;
    this.startEpoch = this.epoch = startEpoch;
    // NOTE: the iteration counts skipped epochs too, so schedules resume at the right position.
    this.iteration = startEpoch * this.data.train.length;
    // NOTE: a loader that caches decoded images fills its cache first, so epoch 1's samples/s measures training.
    for (const source of [this.data.train, this.data.valid]) await source?.prepare?.();
    const start = this.history.length;
    const extra = options.callbacks ?? [];
    for (const callback of extra) this.addCallback(callback);
    try {
      await this.phase('Fit', CancelFitError, async () => {
        // NOTE: this.epochs, not epochs: a callback may lengthen the running fit (TimeKeeper sets both counts).
        for (this.epoch = startEpoch; this.epoch < this.epochs && this.iteration < this.totalIterations; this.epoch++) {
          await this.phase('Epoch', CancelEpochError, () => this.oneEpoch());
        }
      });
    } catch (error) {
      throw this.dataParallel ? await this.dataParallel.explain(error, this) : error;
    } finally {
      for (const callback of extra) this.removeCallback(callback);
    }
    return this.history.slice(start);
  }

  /** One-cycle training (see fitOneCycle in schedules.ts). */
  fitOneCycle(epochs: number, lrMax: LrSpec = this.defaultLr, options: OneCycleOptions = {}): Promise<EpochRecord[]> {
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
  fitFlatCos(epochs: number, lr: LrSpec = this.defaultLr, options: FlatCosOptions = {}): Promise<EpochRecord[]> {
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
        const result = await this.evaluate(this.data.valid!, this.validation);
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
      lr: this.optimizer?.paramGroups.at(-1)?.lr ?? NaN,
      metrics,
    };
    this.history.push(record);
  }

  private async allBatches(source: BatchSource, training: boolean): Promise<number> {
    this.training = training;
    this.setTrainingMode(training);
    requestLayout(source, this.amp.channelsLast);
    // NOTE: a fit of FitOptions.iterations ends part-way through its last epoch.
    this.numBatches = training ? Math.min(source.length, this.totalIterations - this.iteration) : source.length;
    this.batchIndex = 0;
    let lossSum = 0;
    let samples = 0;
    this.trainLoss = NaN;
    for await (const raw of source) {
      const batch = batchToDevice(raw, this.device);
      try {
        const n = batch.y.shape[0];
        this.runBatch(batch);
        if (Number.isFinite(this.lossValue)) { lossSum += this.lossValue * n; samples += n; }
        this.trainLoss = lossSum / samples;
      } finally {
        dispose(batch);
      }
      this.batchIndex++;
      if (training && ++this.iteration >= this.totalIterations) break;
    }
    return samples;
  }

  private runBatch(batch: Batch): void {
    this.xb = batch.x;
    this.yb = batch.y;
    tidy(() => {
      try {
        this.emitBatch('beforeBatch');
        this.pred = this.amp.forward(this.model, this.xb!);
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
        this.amp.backward(this.loss, optimizer);
        this.emitBatch('afterBackward');
        this.emitBatch('beforeStep');
        this.amp.step(optimizer);
        this.emitBatch('afterStep');
      } catch (error) {
        if (!(error instanceof CancelBatchError)) throw error;
        this.emitBatch('afterCancelBatch');
      }
      this.emitBatch('afterBatch');
    });
    this.xb = this.yb = this.pred = this.loss = undefined;
  }

  /** `t` on the learner's device (itself when already there; a copy otherwise, freed by the enclosing tidy). */
  onDevice(t: Tensor): Tensor {
    return this.device === 'cpu' && t.device === 'cpu' ? t : t.toDevice(this.device);
  }

  /**
   * One optimisation step on a batch you provide (for hand-written loops); returns the loss.
   * Runs no callbacks; the tensors you pass stay yours.
   */
  step(xb: Tensor, yb: Tensor): number {
    const optimizer = this.createOptimizer();
    this.setTrainingMode(true);
    return tidy(() => {
      optimizer.zeroGrad();
      const loss = this.lossFn(this.amp.forward(this.model, this.onDevice(xb)), this.onDevice(yb));
      this.amp.backward(loss, optimizer);
      this.amp.step(optimizer);
      return loss.item();
    });
  }

  /**
   * Mean loss and metrics over a data source, in eval and inference mode, run by `runner` (default
   * `inference`: float32 unless asked; a fit's validation passes `validation`).
   */
  async evaluate(source: BatchSource, runner: Inference = this.inference): Promise<{ loss: number; metrics: Record<string, number> }> {
    const wasTraining = this.model.training;
    this.model.eval();
    requestLayout(source, this.amp.channelsLast);
    for (const metric of this.metrics) metric.reset();
    let lossSum = 0;
    let samples = 0;
    try {
      for await (const raw of source) {
        const batch = batchToDevice(raw, this.device);
        try {
          runner.run(batch.x, (pred) => {
            const n = batch.y.shape[0];
            lossSum += this.lossFn(pred, batch.y).item() * n;
            samples += n;
            for (const metric of this.metrics) metric.accumulate(pred, batch.y);
          });
        } finally {
          dispose(batch);
        }
      }
    } finally {
      this.model.train(wasTraining);
    }
    let metrics = Object.fromEntries(this.metrics.map((m) => [m.name, m.value()]));
    if (this.dataParallel) ({ lossSum, samples, values: metrics } = await this.dataParallel.reduceEvaluation(lossSum, samples, this.metrics));
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
    requestLayout(source, this.amp.channelsLast);
    try {
      for await (const raw of source) {
        const batch = batchToDevice(raw, this.device);
        probs.push(this.inference.run(batch.x, (out) => out.softmax(1)));
        targets.push(batch.y);
        batch.x.dispose();
      }
      return { probs: cat(probs), targets: cat(targets) };
    } finally {
      dispose(probs);
      dispose(targets);
    }
  }

  /** Class probabilities for an input batch (eval and inference mode; a normal float32 tensor). */
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
      return tidy(() => this.inference.run(this.onDevice(x), (out) => out.softmax(1)));
    } finally {
      this.model.train(wasTraining);
    }
  }
}
