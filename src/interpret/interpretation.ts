/**
 * Classification interpretation (fastai's ClassificationInterpretation): one pass over a dataset keeps, per
 * item, only its loss, target, prediction and two probabilities; the few items shown are fetched again.
 */
import { type Tensor, dispose, noGrad, tidy } from '../tensor/index.js';
import { type Module, crossEntropy } from '../nn/index.js';
import { type BatchSource, type Batch, sourceNormalization } from '../data/index.js';
import { ConfusionMatrix, Inference, type InferencePrecision, type Learner } from '../learn/index.js';
import { fetchItems, itemNames } from './fetch.js';

/** Per-item loss of logits [N, C] against targets [N] (reduction 'none'). */
export type ItemLoss = (pred: Tensor, target: Tensor) => Tensor;

/** Options of {@link Interpretation.fromModel}. */
export interface InterpretationOptions {
  /** Class names (default: the source's, else '0'..'C-1'). */
  classes?: readonly string[];
  /** Per-item loss (default cross-entropy with reduction 'none'). */
  itemLoss?: ItemLoss;
  /**
   * 'fp32' (default for fromModel) or a lower precision run as the Learner's inference runs it, so the
   * numbers equal a bf16 run's validation (fromLearner defaults to the learner's inference precision).
   */
  precision?: InferencePrecision;
}

/** One item of a ranking (top losses, most confident, ...): where it is and what the model said. */
export interface RankedItem {
  /** Position in the source's order (what {@link Interpretation.fetch} takes). */
  index: number;
  actual: number;
  predicted: number;
  loss: number;
  /** Probability of the predicted class. */
  probability: number;
  /** Probability given to the actual class. */
  actualProbability: number;
}

/** Precision, recall, F1 and support of one class. */
export interface ClassReport {
  name: string;
  precision: number;
  recall: number;
  f1: number;
  /** Items of this class. */
  support: number;
}

/**
 * What a model does on every item of a data source, kept as flat arrays (5 numbers per item). Confusion
 * counts come from the same ConfusionMatrix metric the Learner uses, so they equal `evaluate`'s.
 */
export class Interpretation {
  /** Class names by index. */
  readonly classes: string[];
  /** Mean item loss over the source (what Learner.evaluate reports for cross-entropy). */
  readonly loss: number;

  private constructor(
    readonly model: Module,
    readonly source: BatchSource,
    classes: readonly string[],
    /** True class per item. */
    readonly targets: Int32Array,
    /** Predicted (arg-max) class per item. */
    readonly predictions: Int32Array,
    /** Loss per item. */
    readonly losses: Float32Array,
    /** Probability of the predicted class per item. */
    readonly probabilities: Float32Array,
    /** Probability of the true class per item. */
    readonly actualProbabilities: Float32Array,
    /** Top-1 minus top-2 probability per item (small = uncertain). */
    readonly margins: Float32Array,
    /** The confusion-matrix metric accumulated over the pass. */
    readonly confusion: ConfusionMatrix,
  ) {
    this.classes = [...classes];
    let sum = 0;
    for (const l of losses) sum += l;
    this.loss = losses.length ? sum / losses.length : NaN;
  }

  /** Interprets a Learner's model on `source` (default its validation data). */
  static fromLearner(learn: Learner, source: BatchSource | undefined = learn.data.valid, options: InterpretationOptions = {}): Promise<Interpretation> {
    if (!source) throw new Error('Interpretation.fromLearner: the learner has no validation data; pass a source');
    return Interpretation.fromModel(learn.model, source, { precision: learn.inference.choice.precision, ...options });
  }

  /** Runs `model` (eval mode, no gradients) over every batch of `source` once. */
  static async fromModel(model: Module, source: BatchSource, options: InterpretationOptions = {}): Promise<Interpretation> {
    const itemLoss = options.itemLoss ?? ((pred: Tensor, target: Tensor) => crossEntropy(pred, target, { reduction: 'none' }));
    const confusion = new ConfusionMatrix();
    const parts: { y: Int32Array; pred: Int32Array; loss: Float32Array; prob: Float32Array; actual: Float32Array; margin: Float32Array }[] = [];
    let classCount = 0;
    const wasTraining = model.training;
    model.eval();
    const lowered = options.precision && options.precision !== 'fp32' ? new Inference(model, { precision: options.precision }) : null;
    try {
      for await (const batch of source) {
        try {
          const run = <T>(fn: (logits: Tensor) => T): T => (lowered ? lowered.run(batch.x, fn) : noGrad(() => tidy(() => fn(model.forward(batch.x)))));
          parts.push(run((logits) => {
            if (logits.rank !== 2) throw new Error(`Interpretation: the model must output class scores [N, classes], got [${logits.shape.join(', ')}]`);
            classCount = logits.shape[1];
            const target = batch.y.long();
            confusion.accumulate(logits, target);
            const probs = logits.softmax(1);
            const top = probs.topk(Math.min(2, classCount), 1);
            const values = top.values.toArray() as Float32Array;
            const k = top.values.shape[1];
            const n = target.shape[0];
            return {
              y: Int32Array.from(target.toArray() as BigInt64Array, Number),
              pred: Int32Array.from(top.indices.select(1, 0).toArray() as BigInt64Array, Number),
              loss: Float32Array.from(itemLoss(logits, target).toArray() as Float32Array),
              prob: Float32Array.from({ length: n }, (_, i) => values[i * k]),
              actual: Float32Array.from(probs.gather(1, target.unsqueeze(1)).toArray() as Float32Array),
              margin: Float32Array.from({ length: n }, (_, i) => (k > 1 ? values[i * k] - values[i * k + 1] : 1)),
            };
          }));
        } finally {
          dispose(batch);
        }
      }
    } finally {
      lowered?.dispose();
      model.train(wasTraining);
    }
    const join = <T extends Int32Array | Float32Array>(key: keyof (typeof parts)[number], make: (n: number) => T): T => {
      const out = make(parts.reduce((s, p) => s + p[key].length, 0));
      let at = 0;
      for (const p of parts) { out.set(p[key] as never, at); at += p[key].length; }
      return out;
    };
    const known = options.classes ?? (source.dataset?.classes as readonly string[] | undefined) ?? (source as { classes?: readonly string[] }).classes;
    const classes = known && known.length === classCount ? known : Array.from({ length: classCount }, (_, i) => known?.[i] ?? String(i));
    return new Interpretation(
      model, source, classes,
      join('y', (n) => new Int32Array(n)), join('pred', (n) => new Int32Array(n)), join('loss', (n) => new Float32Array(n)),
      join('prob', (n) => new Float32Array(n)), join('actual', (n) => new Float32Array(n)), join('margin', (n) => new Float32Array(n)), confusion,
    );
  }

  /** Items interpreted. */
  get length(): number { return this.targets.length; }

  /** Fraction of items predicted right. */
  get accuracy(): number {
    let right = 0;
    for (let i = 0; i < this.length; i++) if (this.predictions[i] === this.targets[i]) right++;
    return this.length ? right / this.length : NaN;
  }

  /** Counts, rows = actual class, columns = predicted class. */
  confusionMatrix(): number[][] { return this.confusion.matrix(); }

  /** Each row divided by its total (the share of each actual class predicted as each class). */
  normalizedConfusionMatrix(): number[][] {
    return this.confusionMatrix().map((row) => { const total = row.reduce((a, b) => a + b, 0); return row.map((v) => (total ? v / total : 0)); });
  }

  /** Off-diagonal cells with at least `minCount` items, most frequent first (fastai's most_confused). */
  mostConfused(minCount = 1): { actual: string; predicted: string; count: number }[] {
    const out: { actual: string; predicted: string; count: number }[] = [];
    this.confusionMatrix().forEach((row, a) => row.forEach((count, p) => { if (a !== p && count >= minCount) out.push({ actual: this.classes[a], predicted: this.classes[p], count }); }));
    return out.sort((x, y) => y.count - x.count || x.actual.localeCompare(y.actual) || x.predicted.localeCompare(y.predicted));
  }

  /** Precision, recall, F1 and support of every class (the ConfusionMatrix metric's definitions). */
  perClass(): ClassReport[] {
    const [precision, recall, f1] = [this.confusion.perClassPrecision(), this.confusion.perClassRecall(), this.confusion.perClassF1()];
    const matrix = this.confusionMatrix();
    return this.classes.map((name, i) => ({ name, precision: precision[i], recall: recall[i], f1: f1[i], support: matrix[i]?.reduce((a, b) => a + b, 0) ?? 0 }));
  }

  /** What the model said about the item at `index`. */
  at(index: number): RankedItem {
    return {
      index, actual: this.targets[index], predicted: this.predictions[index], loss: this.losses[index],
      probability: this.probabilities[index], actualProbability: this.actualProbabilities[index],
    };
  }

  private ranked(keep: (i: number) => boolean, key: (i: number) => number, k: number): RankedItem[] {
    const chosen: number[] = [];
    for (let i = 0; i < this.length; i++) if (keep(i)) chosen.push(i);
    // NOTE: ties keep the source's order, so rankings are reproducible.
    chosen.sort((a, b) => key(b) - key(a) || a - b);
    return chosen.slice(0, k).map((i) => this.at(i));
  }

  /** The `k` items with the largest losses (or smallest with `largest: false`). */
  topLosses(k = 9, options: { largest?: boolean } = {}): RankedItem[] {
    const sign = options.largest === false ? -1 : 1;
    return this.ranked(() => true, (i) => sign * this.losses[i], k);
  }

  /** Right predictions of `classIndex` (or any class), most confident first (lesson 1's "most correct"). */
  mostCorrect(k = 4, classIndex?: number): RankedItem[] {
    return this.ranked((i) => this.predictions[i] === this.targets[i] && (classIndex === undefined || this.targets[i] === classIndex), (i) => this.probabilities[i], k);
  }

  /** Wrong predictions on items of `classIndex` (or any class), most confidently wrong first. */
  mostIncorrect(k = 4, classIndex?: number): RankedItem[] {
    return this.ranked((i) => this.predictions[i] !== this.targets[i] && (classIndex === undefined || this.targets[i] === classIndex), (i) => this.probabilities[i], k);
  }

  /** Items of `classIndex` (or any class) whose two best classes are closest in probability. */
  mostUncertain(k = 4, classIndex?: number): RankedItem[] {
    return this.ranked((i) => classIndex === undefined || this.targets[i] === classIndex, (i) => -this.margins[i], k);
  }

  /** The items at `indices` (positions in the source's order) as one batch, fetched again from the source. */
  async fetch(indices: readonly number[]): Promise<Batch> {
    for (const i of indices) if (!Number.isInteger(i) || i < 0 || i >= this.length) throw new Error(`Interpretation.fetch: index ${i} out of range for ${this.length} items`);
    return fetchItems(this.source, indices);
  }

  /** File names of the items (image folders) or '#index' labels. */
  names(indices: readonly number[]): string[] { return itemNames(this.source, indices); }

  /** Statistics the source's x was normalised with (to show images), or null. */
  get normalization(): { mean: number[]; std: number[] } | null { return sourceNormalization(this.source); }
}
