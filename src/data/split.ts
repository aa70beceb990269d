/** Seeded train/valid splits of a dataset. */
import { Random, tidy } from '../tensor/index.js';
import type { TensorDataset } from './dataset.js';

/** Options of splitDataset. */
export interface SplitOptions {
  /** Fraction of the samples that go to valid, in (0, 1). */
  validPct: number;
  /** Seed of the shuffle (default 0): same seed, same split. */
  seed?: number;
  /** Take validPct of each class separately, so both parts keep the class proportions (default false). */
  stratify?: boolean;
}

/**
 * Splits into train and valid parts with `validPct` of the samples in valid, chosen by a
 * seeded shuffle (same seed, same split). Both parts are copies, in the original sample order.
 */
export function splitDataset(dataset: TensorDataset, options: SplitOptions): { train: TensorDataset; valid: TensorDataset } {
  const { validPct, seed = 0, stratify = false } = options;
  if (!(validPct > 0 && validPct < 1)) throw new Error(`splitDataset: validPct must be between 0 and 1, got ${validPct}`);
  const random = new Random(seed);
  const groups = stratify ? indicesByLabel(dataset) : [Int32Array.from({ length: dataset.length }, (_, i) => i)];
  const valid: number[] = [];
  const train: number[] = [];
  for (const group of groups) {
    const order = random.permutation(group.length);
    const validCount = Math.round(group.length * validPct);
    for (let k = 0; k < order.length; k++) (k < validCount ? valid : train).push(group[order[k]]);
  }
  if (valid.length === 0 || train.length === 0) {
    throw new Error(`splitDataset: validPct ${validPct} of ${dataset.length} samples leaves ${valid.length} for valid and ${train.length} for train`);
  }
  const sorted = (xs: number[]) => Int32Array.from(xs).sort();
  return { train: dataset.subset(sorted(train)), valid: dataset.subset(sorted(valid)) };
}

/** Sample indices grouped by label, in class order. */
function indicesByLabel(dataset: TensorDataset): Int32Array[] {
  const labels = tidy(() => dataset.labels.toArray() as BigInt64Array);
  const groups: number[][] = dataset.classes.map(() => []);
  labels.forEach((label, i) => {
    const group = groups[Number(label)];
    if (!group) throw new Error(`splitDataset: cannot stratify: label ${label} of sample ${i} is not one of the ${groups.length} classes`);
    group.push(i);
  });
  return groups.map((g) => Int32Array.from(g));
}
