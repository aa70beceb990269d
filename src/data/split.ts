/** Seeded train/valid splits of a dataset. */
import { Random } from '../tensor/index.js';
import type { TensorDataset } from './dataset.js';

/**
 * Splits into train and valid parts with `validPct` of the samples in valid, chosen by a
 * seeded shuffle (same seed, same split). Both parts are copies.
 */
export function splitDataset(dataset: TensorDataset, options: { validPct: number; seed?: number }): { train: TensorDataset; valid: TensorDataset } {
  const { validPct, seed = 0 } = options;
  if (!(validPct > 0 && validPct < 1)) throw new Error(`splitDataset: validPct must be between 0 and 1, got ${validPct}`);
  const order = new Random(seed).permutation(dataset.length);
  const validCount = Math.round(dataset.length * validPct);
  const valid = order.slice(0, validCount).sort();
  const train = order.slice(validCount).sort();
  return { train: dataset.subset(train), valid: dataset.subset(valid) };
}
