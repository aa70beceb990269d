/** Metrics accumulated over an epoch's batches (computed natively, read back as numbers). */
import { type Tensor, op, tidy } from '../tensor/index.js';

/** A metric: reset at the start of validation, fed every batch, read at the end. */
export interface Metric {
  /** Column name in logs and metrics.json. */
  readonly name: string;
  /** Whether bigger is better (for monitors such as early stopping). */
  readonly higherIsBetter: boolean;
  /** Clears accumulated state. */
  reset(): void;
  /** Adds one batch of predictions (logits [N, C]) and targets (int64 [N]). */
  accumulate(pred: Tensor, target: Tensor): void;
  /** The value over everything accumulated. */
  value(): number;
  /**
   * Accumulated counts that add up across processes; data-parallel validation sums every rank's and hands the totals
   * to setCounts, so value() covers the whole validation set. Metrics without it are averaged over samples instead.
   */
  counts?(): number[];
  /** Replaces the accumulated counts (the sums of every rank's counts()). */
  setCounts?(counts: number[]): void;
}

/** Fraction of samples whose top-k predictions include the target. */
export class TopKAccuracy implements Metric {
  readonly higherIsBetter = true;
  private correct = 0;
  private total = 0;
  /** Counts a hit when the target is among the `k` highest scores. */
  constructor(readonly k = 1, readonly name = k === 1 ? 'accuracy' : `top${k}Accuracy`) {}
  reset(): void { this.correct = 0; this.total = 0; }
  accumulate(pred: Tensor, target: Tensor): void {
    this.correct += tidy(() => {
      if (this.k === 1) return pred.argmax(1).eq(target).sum().item();
      const { indices } = pred.topk(this.k, 1);
      return indices.eq(target.unsqueeze(1)).sum().item();
    });
    this.total += target.shape[0];
  }
  value(): number { return this.total === 0 ? NaN : this.correct / this.total; }
  counts(): number[] { return [this.correct, this.total]; }
  setCounts(counts: number[]): void { [this.correct, this.total] = counts; }
}

/** Fraction of samples whose top prediction is the target. */
export function accuracy(): Metric { return new TopKAccuracy(1); }

/** Fraction of samples whose target is among the top k predictions. */
export function topKAccuracy(k: number): Metric { return new TopKAccuracy(k); }

/** 1 - accuracy. */
export class ErrorRate implements Metric {
  readonly name = 'errorRate';
  readonly higherIsBetter = false;
  private readonly inner = new TopKAccuracy(1);
  reset(): void { this.inner.reset(); }
  accumulate(pred: Tensor, target: Tensor): void { this.inner.accumulate(pred, target); }
  value(): number { return 1 - this.inner.value(); }
  counts(): number[] { return this.inner.counts(); }
  setCounts(counts: number[]): void { this.inner.setCounts(counts); }
}

/** 1 - accuracy. */
export function errorRate(): Metric { return new ErrorRate(); }

/** Which summary of a confusion matrix a ConfusionMatrix metric reports as its value. */
export type ConfusionSummary = 'balancedAccuracy' | 'precision' | 'recall' | 'f1';

/**
 * Confusion-matrix counts `[C, C]` (rows: true class, columns: predicted class), accumulated
 * natively with bincount. Its value is a macro average chosen by `summary`; the counts,
 * per-class accuracy (recall), precision and F1 are available after an epoch.
 * Macro averages follow scikit-learn: classes that never occur in targets or predictions are
 * left out, and a 0/0 ratio counts as 0.
 */
export class ConfusionMatrix implements Metric {
  readonly higherIsBetter = true;
  readonly name: string;
  private cells: Float64Array = new Float64Array(0);
  private classes = 0;

  /** Reports `summary` (default balancedAccuracy, the mean per-class accuracy) under `name`. */
  constructor(readonly summary: ConfusionSummary = 'balancedAccuracy', name?: string) {
    this.name = name ?? (summary === 'balancedAccuracy' ? 'balancedAccuracy' : `${summary}Macro`);
  }

  reset(): void { this.cells = new Float64Array(0); this.classes = 0; }

  accumulate(pred: Tensor, target: Tensor): void {
    const classes = pred.shape[1];
    if (pred.rank !== 2 || target.rank !== 1 || target.shape[0] !== pred.shape[0]) {
      throw new Error(`metrics.ts: ConfusionMatrix needs logits [N, C] and targets [N], got [${pred.shape.join(', ')}] and [${target.shape.join(', ')}]`);
    }
    if (this.classes === 0) { this.classes = classes; this.cells = new Float64Array(classes * classes); }
    if (classes !== this.classes) throw new Error(`metrics.ts: ConfusionMatrix saw ${classes} classes after ${this.classes}`);
    const batch = tidy(() => {
      const cell = target.long().mul(classes).add(pred.argmax(1));
      return op('aten::bincount', '', [cell.handle, null, classes * classes]).toArray() as BigInt64Array;
    });
    for (let i = 0; i < batch.length; i++) this.cells[i] += Number(batch[i]);
  }

  /** The C x C cells, row-major (empty before any batch). */
  counts(): number[] { return Array.from(this.cells); }

  /** Takes C x C summed cells (C is their square root). */
  setCounts(counts: number[]): void {
    const classes = Math.round(Math.sqrt(counts.length));
    if (classes * classes !== counts.length) throw new Error(`metrics.ts: ConfusionMatrix counts must be C x C cells, got ${counts.length}`);
    this.classes = classes;
    this.cells = Float64Array.from(counts);
  }

  /** Counts as rows (true class) of columns (predicted class). */
  matrix(): number[][] {
    return Array.from({ length: this.classes }, (_, r) => Array.from(this.cells.subarray(r * this.classes, (r + 1) * this.classes)));
  }

  /** Per class: true positives, samples of the class (support) and predictions of the class. */
  private tallies(): { tp: number[]; support: number[]; predicted: number[] } {
    const c = this.classes;
    const tp: number[] = []; const support: number[] = []; const predicted: number[] = new Array<number>(c).fill(0);
    for (let r = 0; r < c; r++) {
      tp.push(this.cells[r * c + r]);
      let row = 0;
      for (let k = 0; k < c; k++) { row += this.cells[r * c + k]; predicted[k] += this.cells[r * c + k]; }
      support.push(row);
    }
    return { tp, support, predicted };
  }

  /** Accuracy within each class (= recall): correct / samples of the class (NaN for absent classes). */
  perClassAccuracy(): number[] {
    const { tp, support } = this.tallies();
    return tp.map((t, i) => (support[i] > 0 ? t / support[i] : NaN));
  }

  /** Precision of each class: correct / predicted as the class (0 when never predicted). */
  perClassPrecision(): number[] {
    const { tp, predicted } = this.tallies();
    return tp.map((t, i) => (predicted[i] > 0 ? t / predicted[i] : 0));
  }

  /** Recall of each class (0 when the class never occurs). */
  perClassRecall(): number[] {
    return this.perClassAccuracy().map((v) => (Number.isNaN(v) ? 0 : v));
  }

  /** F1 of each class: harmonic mean of precision and recall (0 when both are 0). */
  perClassF1(): number[] {
    const p = this.perClassPrecision();
    return this.perClassRecall().map((r, i) => (p[i] + r > 0 ? (2 * p[i] * r) / (p[i] + r) : 0));
  }

  /** Mean over classes that occur in targets or predictions. */
  private macro(values: number[]): number {
    const { support, predicted } = this.tallies();
    const used = values.filter((_, i) => support[i] > 0 || predicted[i] > 0);
    return used.length === 0 ? NaN : used.reduce((a, b) => a + b, 0) / used.length;
  }

  value(): number {
    if (this.classes === 0) return NaN;
    switch (this.summary) {
      case 'precision': return this.macro(this.perClassPrecision());
      case 'recall': return this.macro(this.perClassRecall());
      case 'f1': return this.macro(this.perClassF1());
      default: {
        const { support } = this.tallies();
        const accuracies = this.perClassAccuracy().filter((_, i) => support[i] > 0);
        return accuracies.length === 0 ? NaN : accuracies.reduce((a, b) => a + b, 0) / accuracies.length;
      }
    }
  }
}

/** Macro-averaged precision (scikit-learn's precision_score(average='macro')). */
export function precisionMacro(): Metric { return new ConfusionMatrix('precision'); }

/** Macro-averaged recall (scikit-learn's recall_score(average='macro')). */
export function recallMacro(): Metric { return new ConfusionMatrix('recall'); }

/** Macro-averaged F1 (scikit-learn's f1_score(average='macro')). */
export function f1Macro(): Metric { return new ConfusionMatrix('f1'); }

/** Confusion-matrix metric whose value is balanced accuracy; read `.matrix()` and `.perClassAccuracy()` after evaluating. */
export function confusionMatrix(): ConfusionMatrix { return new ConfusionMatrix('balancedAccuracy'); }
