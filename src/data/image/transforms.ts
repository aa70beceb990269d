/**
 * Image transforms as plain data (so they can be sent to worker threads) and the per-sample plan drawn from them.
 * Geometry is planned here in JS and executed by sharp (crop, resize, flips) plus, for rotate/zoom/perspective,
 * one projective warp in {@link warpImage}.
 */
import { type SampleRng } from './rng.js';
import { type Matrix3, homographyFromCorners, multiply3 } from './warp.js';

/** How an image reaches the output size when it is not randomly cropped. */
export type ResizeMode = 'squish' | 'crop' | 'pad';

/** Options of torchvision-style RandomResizedCrop. */
export interface RandomResizedCropOptions {
  /** Range of the crop's area as a fraction of the image (default [0.08, 1]). */
  scale?: [number, number];
  /** Range of the crop's aspect ratio w/h (default [3/4, 4/3]). */
  ratio?: [number, number];
}

/** A transform pipeline, applied per sample with a seeded generator. */
export interface ImageTransforms {
  /** Output size: a square side or [height, width]. */
  size: number | [number, number];
  /** 'squish' (stretch), 'crop' (fit the aspect ratio by cropping; default) or 'pad' (letterbox in black). */
  resize?: ResizeMode;
  /** In 'crop' mode, the fraction of the fitted region kept (0.875 = Resize(256) + CenterCrop(224)). Default 1. */
  cropFraction?: number;
  /** In 'crop' mode, pick the crop position at random instead of the centre (training). */
  randomCrop?: boolean;
  /** Random resized crop (replaces `resize`): true for torchvision's defaults. */
  randomResizedCrop?: boolean | RandomResizedCropOptions;
  /** Probability of a horizontal flip (true = 0.5). */
  flipHorizontal?: boolean | number;
  /** Probability of a vertical flip (true = 0.5). */
  flipVertical?: boolean | number;
  /** Largest rotation in degrees (uniform in [-rotate, rotate]). */
  rotate?: number;
  /** Largest zoom factor (uniform in [1, zoom]), e.g. 1.1. */
  zoom?: number;
  /** Perspective warp strength: corners move by up to this fraction of the half size, e.g. 0.2. */
  perspective?: number;
  /** Brightness change: factor uniform in [1 - b, 1 + b]. */
  brightness?: number;
  /** Contrast change: factor uniform in [1 - c, 1 + c]. */
  contrast?: number;
  /**
   * Presizing (fastai): warped samples are first resized to this side (e.g. 460) so that crop, rotation, zoom and
   * perspective are interpolated once from a large image down to `size`. Default: `size` (no presizing).
   */
  presize?: number;
  /** Resampling kernel of sharp's resize (default 'linear', like torchvision's bilinear). */
  kernel?: 'nearest' | 'linear' | 'cubic' | 'lanczos3';
}

/** A crop rectangle in source pixels. */
export interface CropRect { left: number; top: number; width: number; height: number }

/** Everything random about one sample, decided before any pixel is touched. */
export interface TransformPlan {
  /** Region of the (oriented) source image to use. */
  crop: CropRect;
  /** Size sharp resizes the crop to (the output size, or the presized size when warping). */
  resizeWidth: number;
  resizeHeight: number;
  /** 'contain' letterboxes (pad mode), 'fill' stretches. */
  fit: 'fill' | 'contain';
  /** Flips done by sharp (only when there is no warp; otherwise folded into `warp`). */
  flipHorizontal: boolean;
  flipVertical: boolean;
  /** Output-pixel to resized-pixel homography, or null when sharp's output is final. */
  warp: Matrix3 | null;
  outWidth: number;
  outHeight: number;
  /** Colour factors (1 = unchanged). */
  brightness: number;
  contrast: number;
}

/** The output [height, width] of a transform spec. */
export function outputSize(spec: ImageTransforms): [number, number] {
  const [h, w] = typeof spec.size === 'number' ? [spec.size, spec.size] : spec.size;
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) throw new Error(`transform size must be positive integers, got ${JSON.stringify(spec.size)}`);
  return [h, w];
}

/** True when a spec draws nothing at random, so a sample's pixels are the same every epoch (and can be cached). */
export function isDeterministic(spec: ImageTransforms | null): boolean {
  if (!spec) return true;
  const p = (v: boolean | number | undefined) => v === undefined || v === false || v === 0;
  return !spec.randomResizedCrop && !spec.randomCrop && p(spec.flipHorizontal) && p(spec.flipVertical) && !spec.rotate && !(spec.zoom && spec.zoom > 1)
    && !spec.perspective && !spec.brightness && !spec.contrast;
}

/** Checks a transform spec, throwing a clear Error for impossible values. */
export function validateTransforms(spec: ImageTransforms): void {
  outputSize(spec);
  const check = (name: string, value: number | undefined, ok: (v: number) => boolean, want: string) => {
    if (value !== undefined && !(Number.isFinite(value) && ok(value))) throw new Error(`transform ${name} must be ${want}, got ${value}`);
  };
  check('cropFraction', spec.cropFraction, (v) => v > 0 && v <= 1, 'in (0, 1]');
  check('rotate', spec.rotate, (v) => v >= 0 && v <= 180, 'in [0, 180] degrees');
  check('zoom', spec.zoom, (v) => v >= 1, '>= 1');
  check('perspective', spec.perspective, (v) => v >= 0 && v < 1, 'in [0, 1)');
  check('brightness', spec.brightness, (v) => v >= 0 && v < 1, 'in [0, 1)');
  check('contrast', spec.contrast, (v) => v >= 0 && v < 1, 'in [0, 1)');
  check('presize', spec.presize, (v) => v >= 1, 'a positive size');
  if (spec.resize !== undefined && !['squish', 'crop', 'pad'].includes(spec.resize)) throw new Error(`transform resize must be squish, crop or pad, got '${spec.resize}'`);
  const rrc = typeof spec.randomResizedCrop === 'object' ? spec.randomResizedCrop : {};
  const [s0, s1] = rrc.scale ?? [0.08, 1];
  const [r0, r1] = rrc.ratio ?? [3 / 4, 4 / 3];
  if (!(s0 > 0 && s0 <= s1 && s1 <= 1)) throw new Error(`randomResizedCrop scale must satisfy 0 < low <= high <= 1, got [${s0}, ${s1}]`);
  if (!(r0 > 0 && r0 <= r1)) throw new Error(`randomResizedCrop ratio must satisfy 0 < low <= high, got [${r0}, ${r1}]`);
}

function probability(value: boolean | number | undefined): number {
  return value === true ? 0.5 : typeof value === 'number' ? value : 0;
}

/** torchvision's RandomResizedCrop.get_params, with our generator. */
export function randomResizedCropRect(width: number, height: number, options: RandomResizedCropOptions, rng: SampleRng): CropRect {
  const [s0, s1] = options.scale ?? [0.08, 1];
  const [r0, r1] = options.ratio ?? [3 / 4, 4 / 3];
  const area = width * height;
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(s0, s1);
    const aspect = Math.exp(rng.uniform(Math.log(r0), Math.log(r1)));
    const w = Math.round(Math.sqrt(targetArea * aspect));
    const h = Math.round(Math.sqrt(targetArea / aspect));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      return { left: Math.floor(rng.next() * (width - w + 1)), top: Math.floor(rng.next() * (height - h + 1)), width: w, height: h };
    }
  }
  // NOTE: torchvision's fallback: the whole image clamped to the ratio range, centred.
  const inRatio = width / height;
  let w = width; let h = height;
  if (inRatio < r0) h = Math.round(w / r0);
  else if (inRatio > r1) w = Math.round(h * r1);
  return { left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h };
}

/** The region kept by 'crop' mode: the output's aspect ratio, scaled by `fraction`, centred or at random. */
export function aspectCropRect(width: number, height: number, outWidth: number, outHeight: number, fraction: number, rng: SampleRng | null): CropRect {
  const aspect = outWidth / outHeight;
  let w = width / height > aspect ? height * aspect : width;
  let h = width / height > aspect ? height : width / aspect;
  w = Math.max(1, Math.min(width, Math.round(w * fraction)));
  h = Math.max(1, Math.min(height, Math.round(h * fraction)));
  const px = rng ? rng.next() : 0.5;
  const py = rng ? rng.next() : 0.5;
  return { left: Math.round((width - w) * px), top: Math.round((height - h) * py), width: w, height: h };
}

/** Draws the plan for one sample of size width x height (after EXIF orientation). */
export function planTransform(spec: ImageTransforms, width: number, height: number, rng: SampleRng): TransformPlan {
  const [outHeight, outWidth] = outputSize(spec);
  const mode = spec.resize ?? 'crop';
  let crop: CropRect = { left: 0, top: 0, width, height };
  if (spec.randomResizedCrop) {
    crop = randomResizedCropRect(width, height, typeof spec.randomResizedCrop === 'object' ? spec.randomResizedCrop : {}, rng);
  } else if (mode === 'crop') {
    crop = aspectCropRect(width, height, outWidth, outHeight, spec.cropFraction ?? 1, spec.randomCrop ? rng : null);
  }
  const flipHorizontal = rng.chance(probability(spec.flipHorizontal));
  const flipVertical = rng.chance(probability(spec.flipVertical));
  const angle = spec.rotate ? rng.uniform(-spec.rotate, spec.rotate) * Math.PI / 180 : 0;
  const zoom = spec.zoom && spec.zoom > 1 ? rng.uniform(1, spec.zoom) : 1;
  const shiftX = zoom > 1 ? rng.uniform(-1, 1) * (1 - 1 / zoom) : 0;
  const shiftY = zoom > 1 ? rng.uniform(-1, 1) * (1 - 1 / zoom) : 0;
  const corners: number[] = [];
  if (spec.perspective) for (let i = 0; i < 8; i++) corners.push(rng.uniform(-spec.perspective, spec.perspective));
  const brightness = spec.brightness ? rng.uniform(1 - spec.brightness, 1 + spec.brightness) : 1;
  const contrast = spec.contrast ? rng.uniform(1 - spec.contrast, 1 + spec.contrast) : 1;
  const fit = mode === 'pad' && !spec.randomResizedCrop ? 'contain' : 'fill';
  const base = { crop, fit, outWidth, outHeight, brightness, contrast } as const;
  if (angle === 0 && zoom === 1 && corners.length === 0) {
    return { ...base, resizeWidth: outWidth, resizeHeight: outHeight, flipHorizontal, flipVertical, warp: null };
  }
  const scale = Math.max(1, (spec.presize ?? 0) / Math.min(outWidth, outHeight));
  const resizeWidth = Math.round(outWidth * scale);
  const resizeHeight = Math.round(outHeight * scale);
  // NOTE: in normalised coordinates ([-1, 1] both ways) output point p samples source point A * P * p, where P is
  // the perspective and A = zoom/shift * rotation * flips; then A is mapped to the resized image's pixels.
  const toNormal: Matrix3 = [2 / outWidth, 0, 1 / outWidth - 1, 0, 2 / outHeight, 1 / outHeight - 1, 0, 0, 1];
  const perspective = corners.length ? homographyFromCorners(corners) : [1, 0, 0, 0, 1, 0, 0, 0, 1] as Matrix3;
  const cos = Math.cos(angle); const sin = Math.sin(angle);
  const fx = flipHorizontal ? -1 : 1; const fy = flipVertical ? -1 : 1;
  // NOTE: rotation in pixel-aspect-correct units: scale y by h/w around the rotation so squares stay squares.
  const aspect = outHeight / outWidth;
  const affine: Matrix3 = [
    (cos * fx) / zoom, (-sin * fy * aspect) / zoom, shiftX,
    (sin * fx) / (zoom * aspect), (cos * fy) / zoom, shiftY,
    0, 0, 1,
  ];
  const toPixels: Matrix3 = [resizeWidth / 2, 0, resizeWidth / 2 - 0.5, 0, resizeHeight / 2, resizeHeight / 2 - 0.5, 0, 0, 1];
  const warp = multiply3(toPixels, multiply3(affine, multiply3(perspective, toNormal)));
  return { ...base, resizeWidth, resizeHeight, flipHorizontal: false, flipVertical: false, warp };
}
