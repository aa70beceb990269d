/** Loss functions (PyTorch's kernels) and Flux-style label helpers. */
import { type Tensor, op, tensor, tidy } from '../tensor/index.js';

/** How a loss reduces over the batch. */
export type Reduction = 'none' | 'mean' | 'sum';
const reductionCode = (r: Reduction = 'mean'): number => ({ none: 0, mean: 1, sum: 2 })[r];

// NOTE: PyTorch ignores targets equal to ignoreIndex (default -100), so the range check skips them.
function checkTargets(logits: Tensor, target: Tensor, name: string, ignoreIndex: number): void {
  if (target.dtype !== 'int64' || logits.rank < 2 || target.size === 0) return;
  const classes = logits.shape[1];
  const [lo, hi] = tidy(() => {
    const valid = target.maskedSelect(target.ne(ignoreIndex));
    return valid.size === 0 ? [0, 0] : [valid.min().item(), valid.max().item()];
  });
  if (lo < 0 || hi >= classes) {
    throw new Error(`${name}: label out of range: labels must be in [0, ${classes - 1}] for ${classes} classes, got ${lo < 0 ? lo : hi}`);
  }
}

/** Options of crossEntropy. */
export interface CrossEntropyOptions {
  /** Per-class weights (float tensor of length C). */
  weight?: Tensor;
  reduction?: Reduction;
  /** Target index to ignore. */
  ignoreIndex?: number;
  /** Mixes targets with the uniform distribution (0 = off). */
  labelSmoothing?: number;
}

/** Cross-entropy of raw logits [N, C] against class indices [N] (int64) or probabilities [N, C]. */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const ignoreIndex = options.ignoreIndex ?? -100;
  checkTargets(logits, target, 'crossEntropy', ignoreIndex);
  return op('aten::cross_entropy_loss', '', [logits.handle, target.handle, options.weight?.handle ?? null,
    reductionCode(options.reduction), ignoreIndex, options.labelSmoothing ?? 0]);
}

/** Negative log-likelihood of log-probabilities [N, C] against class indices [N]. */
export function nllLoss(logProbs: Tensor, target: Tensor, options: { weight?: Tensor; reduction?: Reduction; ignoreIndex?: number } = {}): Tensor {
  const ignoreIndex = options.ignoreIndex ?? -100;
  checkTargets(logProbs, target, 'nllLoss', ignoreIndex);
  return op('aten::nll_loss_nd', '', [logProbs.handle, target.handle, options.weight?.handle ?? null, reductionCode(options.reduction), ignoreIndex]);
}

/** Binary cross-entropy on logits (numerically stable sigmoid + BCE). */
export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, options: { weight?: Tensor; posWeight?: Tensor; reduction?: Reduction } = {}): Tensor {
  return op('aten::binary_cross_entropy_with_logits', '', [logits.handle, target.handle, options.weight?.handle ?? null, options.posWeight?.handle ?? null, reductionCode(options.reduction)]);
}

/** Mean squared error. */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  return op('aten::mse_loss', '', [input.handle, target.handle, reductionCode(options.reduction)]);
}

/** One-hot float32 matrix [N, numClasses] from int labels (Flux's onehotbatch). */
export function oneHot(labels: Tensor | number[], numClasses: number): Tensor {
  const indices = Array.isArray(labels) ? tensor(labels, { dtype: 'int64' }) : labels;
  try {
    const [hi, lo] = indices.size === 0 ? [0, 0] : tidy(() => [indices.max().item(), indices.min().item()]);
    if (lo < 0 || hi >= numClasses) throw new Error(`oneHot: label ${lo < 0 ? lo : hi} out of range for ${numClasses} classes`);
    const hot = op('aten::one_hot', '', [indices.handle, numClasses]);
    const out = hot.float();
    hot.dispose();
    return out;
  } finally {
    if (Array.isArray(labels)) indices.dispose();
  }
}

/** Index of the largest score in each row (Flux's onecold); int64 [N]. */
export function argmax(scores: Tensor, dim = -1): Tensor {
  return scores.argmax(dim);
}
