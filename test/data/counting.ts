/** Test fixtures: a dataset whose images reveal their sample index. */
import { type Batch, DataLoader, TensorDataset } from '../../src/data/index.js';
import { arange, dispose, tidy } from '../../src/tensor/index.js';

/** n images of 1x2x2 pixels; every pixel of image i equals i (n <= 256), label i % 3 of classes a, b, c. */
export function counting(n: number): TensorDataset {
  return tidy(() => new TensorDataset(arange(n).to('uint8').reshape(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous(), arange(n).remainder(3), { classes: ['a', 'b', 'c'] }));
}

/** The sample indices held by each image of a dataset built by counting(). */
export function indicesOf(ds: TensorDataset): number[] {
  return tidy(() => Array.from(ds.images.select(1, 0).select(1, 0).select(1, 0).toArray() as Uint8Array));
}

/** The sample indices held by a batch from a counting() dataset (no normalisation). */
export function batchIndices(batch: Batch): number[] {
  return tidy(() => Array.from(batch.x.select(1, 0).select(1, 0).select(1, 0).toArray() as Float32Array, (v) => Math.round(v * 255)));
}

/** One pass of a loader over a counting() dataset: the sample indices of each batch (batches disposed). */
export function samplesOf(loader: DataLoader): number[][] {
  const out: number[][] = [];
  for (const batch of loader) {
    out.push(batchIndices(batch));
    dispose(batch);
  }
  return out;
}
