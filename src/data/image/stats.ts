/** Dataset statistics for normalisation: per-channel mean and std of (a sample of) the decoded images. */
import { BadImageError } from './bad-image.js';
import { type DecodeOptions, resolveDecodeOptions } from './decode.js';
import { type ImageDataset } from './folder-dataset.js';
import { loadImageSampleChecked } from './pipeline.js';
import { epochOrder } from './rng.js';
import { type ImageTransforms } from './transforms.js';

/** Options of {@link computeImageStats}. */
export interface ImageStatsOptions {
  /** Transforms applied before measuring (e.g. the validation resize). Default: none. */
  transforms?: ImageTransforms | null;
  decode?: DecodeOptions;
  /** Images measured, chosen at random with `seed` (default 512; all when the dataset is smaller). */
  samples?: number;
  seed?: number;
}

/** Per-channel mean and std on the 0-1 scale, for `normalize: {mean, std}`; unreadable images are left out. */
export async function computeImageStats(dataset: ImageDataset, options: ImageStatsOptions = {}): Promise<{ mean: number[]; std: number[] }> {
  const decode = resolveDecodeOptions(options.decode);
  const count = Math.min(dataset.length, options.samples ?? 512);
  const order = epochOrder(dataset.length, options.seed ?? 0, 0, true).subarray(0, count);
  const c = decode.channels;
  const sum = new Float64Array(c); const squares = new Float64Array(c);
  let pixels = 0;
  for (const index of order) {
    let image;
    try {
      image = await loadImageSampleChecked(dataset.items[index].file, options.transforms ?? null, decode, { seed: options.seed ?? 0, epoch: 0, index });
    } catch (error) {
      if (error instanceof BadImageError) continue;
      throw error;
    }
    const { data } = image;
    for (let i = 0; i < data.length; i += c) {
      for (let k = 0; k < c; k++) { const v = data[i + k] / 255; sum[k] += v; squares[k] += v * v; }
    }
    pixels += data.length / c;
  }
  if (pixels === 0) throw new Error(`cannot compute image statistics: no readable images in ${dataset.description}`);
  const mean = Array.from(sum, (s) => s / pixels);
  const std = Array.from(squares, (s, k) => Math.sqrt(Math.max(1e-12, s / pixels - mean[k] * mean[k])));
  return { mean, std };
}
