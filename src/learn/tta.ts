/** Test-time augmentation: predictions averaged over flipped and shifted views of each batch. */
import { type Tensor, cat, dispose, op, tidy } from '../tensor/index.js';
import type { BatchSource } from '../data/index.js';
import type { Learner } from './learner.js';

/** Options of tta(). */
export interface TTAOptions {
  /** Add the horizontally flipped view (default true). */
  flips?: boolean;
  /**
   * Add four views shifted by this many pixels (up, down, left, right; edges padded by
   * replication), each also flipped when `flips` is on (default 0: none).
   */
  crops?: number;
}

/** The views of a batch [N, C, H, W] that tta averages over (the original first). */
export function ttaViews(x: Tensor, options: TTAOptions = {}): Tensor[] {
  const { flips = true, crops = 0 } = options;
  if (x.rank !== 4) throw new Error(`tta.ts: inputs must be [N, C, H, W], got [${x.shape.join(', ')}]`);
  const [, , height, width] = x.shape;
  if (!Number.isInteger(crops) || crops < 0 || crops >= Math.min(height, width)) {
    throw new Error(`tta.ts: crops must be an integer shift in [0, ${Math.min(height, width) - 1}], got ${crops}`);
  }
  const bases = [x];
  if (crops > 0) {
    const padded = op('aten::replication_pad2d', '', [x.handle, [crops, crops, crops, crops]]);
    for (const [dy, dx] of [[-crops, 0], [crops, 0], [0, -crops], [0, crops]]) {
      bases.push(padded.slice(2, crops + dy, crops + dy + height).slice(3, crops + dx, crops + dx + width));
    }
  }
  const views = [...bases];
  if (flips) for (const view of bases) views.push(op('aten::flip', '', [view.handle, [3]]));
  return views;
}

/**
 * Softmax predictions of every sample of `source`, averaged over the original and augmented
 * views (ttaViews), in eval mode through learn.inference (inference mode, float32 unless asked);
 * with targets, like learn.getPreds().
 */
export async function tta(learn: Learner, source: BatchSource, options: TTAOptions = {}): Promise<{ probs: Tensor; targets: Tensor }> {
  const probs: Tensor[] = [];
  const targets: Tensor[] = [];
  const wasTraining = learn.model.training;
  learn.model.eval();
  try {
    for await (const batch of source) {
      const y = learn.onDevice(batch.y);
      if (y !== batch.y) batch.y.dispose();
      targets.push(y);
      try {
        probs.push(tidy(() => {
          const views = ttaViews(learn.onDevice(batch.x), options);
          const softmax = (view: Tensor) => learn.inference.run(view, (out) => out.softmax(1));
          let sum = softmax(views[0]);
          for (const view of views.slice(1)) sum = sum.add(softmax(view));
          return sum.div(views.length);
        }));
      } finally {
        batch.x.dispose();
      }
    }
    return { probs: cat(probs), targets: cat(targets) };
  } finally {
    dispose(probs);
    dispose(targets);
    learn.model.train(wasTraining);
  }
}
