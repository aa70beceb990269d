/** Metrics accumulated over an epoch's batches (computed natively, read back as numbers). */
import { type Tensor, tidy } from '../tensor/index.js';

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
}

/** 1 - accuracy. */
export function errorRate(): Metric { return new ErrorRate(); }
