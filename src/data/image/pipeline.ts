/** One sample end to end: read, check header, plan the transform, run sharp (crop/resize/flip), warp and colour in JS. */
import { BadImageError, describeImageError } from './bad-image.js';
import { type DecodedImage, type ResolvedDecodeOptions, finishPixels, orientedPipeline, readHeader, readImageFile } from './decode.js';
import { SampleRng } from './rng.js';
import { type ImageTransforms, planTransform } from './transforms.js';
import { adjustColour, warpImage } from './warp.js';

/** Identifies one draw of augmentation: the same (seed, epoch, index) always gives the same pixels. */
export interface SampleKey {
  seed: number;
  epoch: number;
  index: number;
}

/** Loads one image file and applies `transforms` with the generator for `key`; HWC uint8 at the output size. */
export async function loadImageSample(file: string, transforms: ImageTransforms | null, decode: ResolvedDecodeOptions, key: SampleKey): Promise<DecodedImage> {
  const buffer = await readImageFile(file);
  const header = await readHeader(buffer, file, decode.maxPixels);
  let pipeline = orientedPipeline(buffer, decode.maxPixels);
  if (!transforms) return finishPixels(pipeline, file, decode, header);
  const plan = planTransform(transforms, header.width, header.height, new SampleRng(key.seed, key.epoch, key.index));
  const { crop } = plan;
  if (crop.left !== 0 || crop.top !== 0 || crop.width !== header.width || crop.height !== header.height) pipeline = pipeline.extract(crop);
  if (plan.resizeWidth !== crop.width || plan.resizeHeight !== crop.height || plan.fit === 'contain') {
    pipeline = pipeline.resize(plan.resizeWidth, plan.resizeHeight, { fit: plan.fit, kernel: transforms.kernel ?? 'linear', background: { r: 0, g: 0, b: 0, alpha: 1 } });
  }
  if (plan.flipHorizontal) pipeline = pipeline.flop();
  if (plan.flipVertical) pipeline = pipeline.flip();
  let image = await finishPixels(pipeline, file, decode, header);
  if (image.width !== plan.resizeWidth || image.height !== plan.resizeHeight) {
    throw new BadImageError(file, `resized to ${image.width}x${image.height}, expected ${plan.resizeWidth}x${plan.resizeHeight}`);
  }
  if (plan.warp) {
    const data = warpImage(image.data, image.width, image.height, image.channels, plan.warp, plan.outWidth, plan.outHeight);
    image = { data, width: plan.outWidth, height: plan.outHeight, channels: image.channels };
  }
  adjustColour(image.data, plan.brightness, plan.contrast);
  return image;
}

/** Like {@link loadImageSample}, but every failure becomes a BadImageError naming the file. */
export async function loadImageSampleChecked(file: string, transforms: ImageTransforms | null, decode: ResolvedDecodeOptions, key: SampleKey): Promise<DecodedImage> {
  try {
    return await loadImageSample(file, transforms, decode, key);
  } catch (error) {
    if (error instanceof BadImageError) throw error;
    throw new BadImageError(file, describeImageError(error));
  }
}
