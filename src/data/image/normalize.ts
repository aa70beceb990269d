/** Normalisation statistics: ImageNet's, given ones, or none. */

/** ImageNet channel means (RGB, 0-1 scale), as in torchvision. */
export const IMAGENET_MEAN: readonly number[] = [0.485, 0.456, 0.406];
/** ImageNet channel standard deviations (RGB, 0-1 scale). */
export const IMAGENET_STD: readonly number[] = [0.229, 0.224, 0.225];

/** 'imagenet', explicit per-channel statistics on the 0-1 scale, or 'none'. */
export type Normalization = 'imagenet' | 'none' | { mean: number[]; std: number[] };

/** Checks a normalisation against the channel count and returns the statistics (null for none). */
export function resolveNormalization(normalize: Normalization, channels: number): { mean: number[]; std: number[] } | null {
  if (normalize === 'none') return null;
  const stats = normalize === 'imagenet' ? { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] } : normalize;
  if (normalize === 'imagenet' && channels !== 3) throw new Error(`ImageNet normalisation needs 3 channels, the loader decodes ${channels}`);
  if (stats.mean.length !== channels || stats.std.length !== channels) {
    throw new Error(`normalisation needs ${channels} means and stds, got ${stats.mean.length} and ${stats.std.length}`);
  }
  if (stats.std.some((s) => !(s > 0))) throw new Error(`normalisation std must be positive, got [${stats.std.join(', ')}]`);
  return { mean: [...stats.mean], std: [...stats.std] };
}
