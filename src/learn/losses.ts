/** Loss factories for the Learner. */
import { crossEntropy } from '../nn/index.js';
import type { LossFunction } from './learner.js';

/**
 * Cross-entropy with label smoothing `epsilon` (default 0.1): targets become
 * `(1 - epsilon) * onehot + epsilon / C`, as torch's `label_smoothing` and fastai's LabelSmoothingCrossEntropy.
 */
export function LabelSmoothingCrossEntropy(epsilon = 0.1): LossFunction {
  if (!(epsilon >= 0 && epsilon <= 1)) throw new Error(`losses.ts: label smoothing epsilon must be in [0, 1], got ${epsilon}`);
  return (pred, target) => crossEntropy(pred, target, { labelSmoothing: epsilon });
}
