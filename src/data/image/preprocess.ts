/**
 * Single images (files or bytes in memory) turned into a model's input exactly as a validation loader
 * would: the same decode, resize and normalisation, so predictions on one image equal the loader's.
 */
import { type Tensor, keep, op, tensor, tidy } from '../../tensor/index.js';
import { BadImageError, describeImageError } from './bad-image.js';
import { type DecodeOptions, readImageFile, resolveDecodeOptions } from './decode.js';
import { type Normalization, resolveNormalization } from './normalize.js';
import { transformImageBuffer } from './pipeline.js';
import { type ImageTransforms, isDeterministic, outputSize, validateTransforms } from './transforms.js';

/** How an image becomes a model input: deterministic transforms, decoding, normalisation. */
export interface Preprocessing {
  /** Resize/crop to the model's input size (must draw nothing at random). */
  transforms: ImageTransforms;
  /** Channels (1 or 3) and the pixel limit. */
  decode?: DecodeOptions;
  /** Per-channel statistics on the 0-1 scale, 'imagenet', or 'none'. */
  normalize?: Normalization | null;
}

/** An image to preprocess: a file path or the encoded bytes of a file. */
export type ImageSource = string | Uint8Array;

/** One image that could not be used, with its position in the input list. */
export interface FailedImage {
  index: number;
  file: string;
  reason: string;
}

/** Checks a preprocessing spec once (deterministic transforms, valid channels and statistics). */
export function checkPreprocessing(prep: Preprocessing): void {
  validateTransforms(prep.transforms);
  if (!isDeterministic(prep.transforms)) throw new Error('preprocessing for predictions must be deterministic (no random crops, flips or warps)');
  resolveNormalization(prep.normalize ?? 'none', resolveDecodeOptions(prep.decode).channels);
}

/** The name an image goes by in messages: its path, or `image #i` for bytes. */
export function imageName(source: ImageSource, index: number): string {
  return typeof source === 'string' ? source : `image #${index + 1}`;
}

/** Scales HWC uint8 pixels of one or more images into a normalised NCHW float32 batch. */
export function pixelsToBatch(data: Uint8Array, n: number, height: number, width: number, channels: number, stats: { mean: number[]; std: number[] } | null): Tensor {
  return tidy(() => {
    const x = tensor(data, [n, height, width, channels]).permute(0, 3, 1, 2).contiguous().float();
    const mean = stats?.mean ?? new Array<number>(channels).fill(0);
    const std = stats?.std ?? new Array<number>(channels).fill(1);
    // NOTE: (x / 255 - mean) / std as one fused addcmul, the same arithmetic as ImageLoader, so results match bit for bit.
    const scale = tensor(Float32Array.from(std, (s) => 1 / (255 * s)), [1, channels, 1, 1]);
    const shift = tensor(Float32Array.from(mean, (m, c) => -m / std[c]), [1, channels, 1, 1]);
    return keep(op('aten::addcmul', '', [shift.handle, x.handle, scale.handle, 1]));
  });
}

/**
 * Decodes and transforms `sources` (at most `concurrency` at a time) into one normalised batch
 * [N, C, H, W] of the images that worked; the others are listed in `failed` and left out.
 */
export async function preprocessImages(sources: readonly ImageSource[], prep: Preprocessing, options: { concurrency?: number } = {}): Promise<{ x: Tensor | null; ok: number[]; failed: FailedImage[] }> {
  checkPreprocessing(prep);
  const decode = resolveDecodeOptions(prep.decode);
  const stats = resolveNormalization(prep.normalize ?? 'none', decode.channels);
  const [height, width] = outputSize(prep.transforms);
  const size = height * width * decode.channels;
  const pixels: (Uint8Array | null)[] = new Array(sources.length).fill(null);
  const failed: FailedImage[] = [];
  let next = 0;
  const work = async (): Promise<void> => {
    while (next < sources.length) {
      const index = next++;
      const source = sources[index];
      const file = imageName(source, index);
      try {
        const buffer = typeof source === 'string' ? await readImageFile(source) : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
        if (buffer.length === 0) throw new BadImageError(file, 'empty file (0 bytes)');
        const image = await transformImageBuffer(buffer, file, prep.transforms, decode, { seed: 0, epoch: 0, index });
        if (image.data.length !== size) throw new BadImageError(file, `decoded to ${image.width}x${image.height}x${image.channels}, expected ${width}x${height}x${decode.channels}`);
        pixels[index] = image.data;
      } catch (error) {
        failed.push({ index, file, reason: error instanceof BadImageError ? error.reason : describeImageError(error) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, sources.length)) }, work));
  failed.sort((a, b) => a.index - b.index);
  const ok = pixels.flatMap((p, i) => (p ? [i] : []));
  if (ok.length === 0) return { x: null, ok, failed };
  const data = new Uint8Array(ok.length * size);
  ok.forEach((i, k) => data.set(pixels[i]!, k * size));
  return { x: pixelsToBatch(data, ok.length, height, width, decode.channels, stats), ok, failed };
}
