/** How the Learner runs a model for evaluation and prediction: inference mode, folded batch norm, channels-last, optional bf16. */
import { Tensor, inferenceMode, noGrad, tidy } from '../tensor/index.js';
import { BatchNormFolder, type Module, toChannelsLast, wantsChannelsLast } from '../nn/index.js';
import { type PrecisionChoice, autocastDtype, autocastFloat, modelDevice, resolvePrecision } from './precision.js';

/** Precisions for inference: float32 unless bf16 (or fp16 on CUDA) is asked for explicitly. */
export type InferencePrecision = 'fp32' | 'bf16' | 'fp16';

/** Options of inference (also LearnerOptions' inference fields). */
export interface InferenceOptions {
  /** 'fp32' (default, keeps parity with PyTorch, TF.js and onnxruntime), 'bf16' or 'fp16' (CUDA). */
  precision?: InferencePrecision;
  /** Fold batch norms into the convolutions before them in eval mode (default true). */
  foldBatchNorm?: boolean;
  /** 'inference-mode' (default: c10::InferenceMode) or 'no-grad' (NoGradGuard, for comparison). */
  guard?: 'inference-mode' | 'no-grad';
}

// NOTE: folding removes one pass over every batch-norm activation; bench/precision.ts measures it
// (resnet18 inference with and without). Flip this default if a quiet machine says otherwise.
const FOLD_BATCH_NORM_DEFAULT = true;

/**
 * Runs a model on batches for evaluation and prediction (the model must already be in eval mode).
 * Each call is synchronous and self-contained: the guard, the fold and autocast are on only while it runs.
 */
export class Inference {
  /** The resolved precision. */
  readonly choice: PrecisionChoice;
  readonly guard: 'inference-mode' | 'no-grad';
  private readonly folder: BatchNormFolder | null;
  private readonly channelsLast: boolean;

  /** Inference over `model` with `options`; an unsupported precision is an Error (see resolvePrecision). */
  constructor(readonly model: Module, options: InferenceOptions = {}) {
    const precision = options.precision ?? 'fp32';
    if (!['fp32', 'bf16', 'fp16'].includes(precision)) throw new Error(`inference precision must be fp32, bf16 or fp16; got '${String(precision)}'`);
    this.choice = resolvePrecision(precision, modelDevice(model));
    this.guard = options.guard ?? 'inference-mode';
    if (this.guard !== 'inference-mode' && this.guard !== 'no-grad') throw new Error(`inference guard must be 'inference-mode' or 'no-grad'; got '${String(this.guard)}'`);
    this.folder = options.foldBatchNorm ?? FOLD_BATCH_NORM_DEFAULT ? new BatchNormFolder(model, autocastDtype(this.choice)) : null;
    this.channelsLast = wantsChannelsLast(model);
  }

  /**
   * Computes the model's float32 output for `x` and passes it to `fn`, without autograd; returns
   * fn's result. A returned tensor is copied out of inference mode (a normal tensor, usable anywhere).
   */
  run<T>(x: Tensor, fn: (output: Tensor) => T): T {
    const guard = this.guard === 'inference-mode' ? inferenceMode : noGrad;
    const body = () => guard(() => tidy(() => {
      const input = this.channelsLast ? toChannelsLast(x) : x;
      return fn(autocastFloat(this.choice, () => this.model.forward(input)));
    }));
    const result = this.folder ? this.folder.run(body) : body();
    // NOTE: inference tensors cannot be saved for backward or changed in place later; a clone is a
    // normal tensor, and the outputs returned here are small (probabilities, logits).
    if (result instanceof Tensor && result.isInference) {
      const copy = result.clone();
      result.dispose();
      return copy as T;
    }
    return result;
  }

  /** Frees cached folded weights. */
  dispose(): void {
    this.folder?.release();
  }
}
