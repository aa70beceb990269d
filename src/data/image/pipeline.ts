/** One sample end to end: read, check header, plan the transform, crop/resize/flip (native JPEG path or sharp), warp and colour in JS. */
import { BadImageError, describeImageError } from './bad-image.js';
import { type DecodedImage, type ResolvedDecodeOptions, decodeImageBuffer, finishPixels, orientedPipeline, readHeader, readImageFile } from './decode.js';
import { decodeJpegFast, fastJpegHeader, imageAddon } from './native-jpeg.js';
import { SampleRng } from './rng.js';
import { type ImageTransforms, type TransformPlan, planTransform } from './transforms.js';
import { adjustColour, warpImage } from './warp.js';

/** Identifies one draw of augmentation: the same (seed, epoch, index) always gives the same pixels. */
export interface SampleKey {
  seed: number;
  epoch: number;
  index: number;
}

/** Loads one image file and applies `transforms` with the generator for `key`; HWC uint8 at the output size. */
export async function loadImageSample(file: string, transforms: ImageTransforms | null, decode: ResolvedDecodeOptions, key: SampleKey): Promise<DecodedImage> {
  return transformImageBuffer(await readImageFile(file), file, transforms, decode, key);
}

/** Like {@link loadImageSample} for bytes already in memory (`file` names them in errors). */
export async function transformImageBuffer(buffer: Buffer, file: string, transforms: ImageTransforms | null, decode: ResolvedDecodeOptions, key: SampleKey): Promise<DecodedImage> {
  if (!transforms) return decodeImageBuffer(buffer, file, decode);
  // NOTE: plain JPEGs (most photo datasets) take the native path; it returns null for anything it does not handle.
  const fast = (transforms.kernel ?? 'linear') === 'linear' ? fastJpegHeader(buffer, file, decode.maxPixels) : null;
  const header = fast ?? await readHeader(buffer, file, decode.maxPixels);
  const plan = planTransform(transforms, header.width, header.height, new SampleRng(key.seed, key.epoch, key.index));
  const request = { crop: plan.crop, outWidth: plan.resizeWidth, outHeight: plan.resizeHeight, flipHorizontal: plan.flipHorizontal, flipVertical: plan.flipVertical };
  let image = (fast && plan.fit === 'fill' && decodeJpegFast(buffer, file, decode, fast, request)) || await sharpSample(buffer, file, decode, transforms, plan);
  if (plan.warp) {
    const data = warpImage(image.data, image.width, image.height, image.channels, plan.warp, plan.outWidth, plan.outHeight);
    image = { data, width: plan.outWidth, height: plan.outHeight, channels: image.channels };
  }
  adjustColour(image.data, plan.brightness, plan.contrast);
  return image;
}

/**
 * Crop, resize and flips of a plan for every format (EXIF orientation, letterboxing): sharp decodes; the resize is the
 * native antialiased triangle filter (as on the JPEG fast path) when the plan allows, else sharp's.
 * NOTE: one resize for every format means a PNG and a JPEG of the same pixels give the same sample, the filter is
 * PIL's (torchvision's) bilinear, and the exported web page can replicate it exactly.
 */
async function sharpSample(buffer: Buffer, file: string, decode: ResolvedDecodeOptions, transforms: ImageTransforms, plan: TransformPlan): Promise<DecodedImage> {
  const header = await readHeader(buffer, file, decode.maxPixels);
  const addon = imageAddon();
  if (addon && plan.fit === 'fill' && (transforms.kernel ?? 'linear') === 'linear') {
    const full = await finishPixels(orientedPipeline(buffer, decode.maxPixels), file, decode, header);
    const { crop } = plan;
    const same = crop.left === 0 && crop.top === 0 && crop.width === full.width && crop.height === full.height && plan.resizeWidth === full.width && plan.resizeHeight === full.height;
    if (same && !plan.flipHorizontal && !plan.flipVertical) return full;
    const data = addon.resize(full.data, full.width, full.height, full.channels, crop.left, crop.top, crop.left + crop.width, crop.top + crop.height,
      plan.resizeWidth, plan.resizeHeight, plan.flipHorizontal, plan.flipVertical);
    return { data, width: plan.resizeWidth, height: plan.resizeHeight, channels: full.channels };
  }
  let pipeline = orientedPipeline(buffer, decode.maxPixels);
  const { crop } = plan;
  if (crop.left !== 0 || crop.top !== 0 || crop.width !== header.width || crop.height !== header.height) pipeline = pipeline.extract(crop);
  if (plan.resizeWidth !== crop.width || plan.resizeHeight !== crop.height || plan.fit === 'contain') {
    pipeline = pipeline.resize(plan.resizeWidth, plan.resizeHeight, { fit: plan.fit, kernel: transforms.kernel ?? 'linear', background: { r: 0, g: 0, b: 0, alpha: 1 } });
  }
  if (plan.flipHorizontal) pipeline = pipeline.flop();
  if (plan.flipVertical) pipeline = pipeline.flip();
  const image = await finishPixels(pipeline, file, decode, header);
  if (image.width !== plan.resizeWidth || image.height !== plan.resizeHeight) {
    throw new BadImageError(file, `resized to ${image.width}x${image.height}, expected ${plan.resizeWidth}x${plan.resizeHeight}`);
  }
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
