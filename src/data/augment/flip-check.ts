/** Whether horizontal flips suit a dataset, decided from the data: do mirrored images still look like their class? */
import { type Tensor, cat, dispose, noGrad, op, tidy } from '../../tensor/index.js';
import type { Dataset } from '../dataset.js';
import type { BatchSource } from '../loader.js';

/**
 * Smallest ratio of flipped to original nearest-class-mean accuracy at which flips are used.
 * NOTE: measured with 3,000 images each: Fashion-MNIST 0.82 (shoes face left, yet a mirrored shoe is
 * still a shoe), scikit-learn's digits 0.40 (a mirrored 2, 3, 7 or 9 is no digit); photos of objects
 * and animals are left-right symmetric as a distribution and score about 1. 0.7 sits between.
 */
export const FLIP_THRESHOLD = 0.7;

/** What {@link flipCheck} measured. */
export interface FlipCheck {
  /** Nearest-class-mean accuracy on the images. */
  accuracy: number;
  /** The same classifier's accuracy on the mirrored images. */
  flippedAccuracy: number;
  /** flippedAccuracy / accuracy: 1 when mirroring keeps every image's class. */
  ratio: number;
  /** Images measured. */
  samples: number;
  /** The decision: ratio >= threshold. */
  flip: boolean;
}

/**
 * Fits a nearest-class-mean classifier to `x` [N, C, H, W] with labels `y` [N] and compares its
 * accuracy on `x` and on `x` mirrored left-right. Digits and letters change meaning (or stop being
 * one) when mirrored, so their ratio is low; clothes, objects and animals keep it near 1.
 */
export function flipCheck(x: Tensor, y: Tensor, numClasses: number, threshold = FLIP_THRESHOLD): FlipCheck {
  if (x.rank !== 4 || y.rank !== 1 || y.shape[0] !== x.shape[0]) {
    throw new Error(`flipCheck: needs images [N, C, H, W] and labels [N], got [${x.shape.join(', ')}] and [${y.shape.join(', ')}]`);
  }
  const n = x.shape[0];
  if (n === 0) throw new Error('flipCheck: no images to measure');
  return noGrad(() => tidy(() => {
    const flat = x.float().flatten(1);
    const hot = op('aten::one_hot', '', [y.long().handle, numClasses]).float();
    const counts = hot.sum(0);
    const means = hot.t().matmul(flat).div(counts.clamp(1, null).unsqueeze(1));
    // NOTE: a class absent from the sample gets a huge distance, so it is never predicted.
    const absent = counts.eq(0).float().mul(1e30);
    const meanNorms = means.square().sum(1).add(absent);
    const accuracyOf = (images: Tensor): number => {
      const distances = meanNorms.sub(images.matmul(means.t()).mul(2));
      return distances.argmin(1).eq(y).float().mean().item();
    };
    const accuracy = accuracyOf(flat);
    const flippedAccuracy = accuracyOf(op('aten::flip', '', [x.float().handle, [3]]).flatten(1));
    const ratio = accuracy > 0 ? flippedAccuracy / accuracy : 0;
    return { accuracy, flippedAccuracy, ratio, samples: n, flip: ratio >= threshold };
  }));
}

/** {@link flipCheck} on up to `samples` images of a dataset, evenly spread over it (default 3000). */
export function flipCheckDataset(dataset: Dataset, options: { samples?: number; threshold?: number } = {}): FlipCheck {
  const count = Math.min(dataset.length, options.samples ?? 3000);
  const step = dataset.length / count;
  const indices = Int32Array.from({ length: count }, (_, i) => Math.floor(i * step));
  const batch = dataset.getBatch(indices);
  try {
    return flipCheck(batch.x, batch.y, dataset.classes.length, options.threshold);
  } finally {
    dispose(batch);
  }
}

/** {@link flipCheck} on the first `samples` images (default 3000) of an unaugmented batch source. */
export async function flipCheckSource(source: BatchSource, numClasses: number, options: { samples?: number; threshold?: number } = {}): Promise<FlipCheck> {
  const limit = options.samples ?? 3000;
  const xs: Tensor[] = [];
  const ys: Tensor[] = [];
  let seen = 0;
  try {
    for await (const batch of source) {
      xs.push(batch.x); ys.push(batch.y);
      seen += batch.y.shape[0];
      if (seen >= limit) break;
    }
    return tidy(() => flipCheck(cat(xs).slice(0, 0, limit), cat(ys).slice(0, 0, limit), numClasses, options.threshold));
  } finally {
    dispose(xs); dispose(ys);
  }
}
