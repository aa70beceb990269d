/** Ready-made transform specs: fastai-style training augmentation and the matching validation resize. */
import { type ImageTransforms } from './transforms.js';

/** Options of {@link augmentTransforms}. */
export interface AugmentOptions {
  /** Output side. */
  size: number;
  /** Presize side (fastai uses 460 for 224); default: size * 2 when warping. */
  presize?: number;
  /** Smallest crop area fraction (default 0.35, fastai's min_scale). */
  minScale?: number;
  /** Horizontal flips (default true); false for digits and text. */
  flip?: boolean;
  /** Largest rotation in degrees (default 10). */
  rotate?: number;
  /** Largest zoom (default 1.1). */
  zoom?: number;
  /** Perspective strength (default 0.2). */
  perspective?: number;
  /** Brightness and contrast change (default 0.2). */
  lighting?: number;
}

/** fastai's aug_transforms at one size: random resized crop, flip, rotate, zoom, warp, lighting. */
export function augmentTransforms(options: AugmentOptions): ImageTransforms {
  const lighting = options.lighting ?? 0.2;
  return {
    size: options.size,
    randomResizedCrop: { scale: [options.minScale ?? 0.35, 1] },
    flipHorizontal: options.flip ?? true,
    rotate: options.rotate ?? 10,
    zoom: options.zoom ?? 1.1,
    perspective: options.perspective ?? 0.2,
    brightness: lighting,
    contrast: lighting,
    presize: options.presize ?? options.size * 2,
  };
}

/** Validation: resize the shorter side and centre-crop to `size` (cropFraction 1), no randomness. */
export function validTransforms(size: number, resize: ImageTransforms['resize'] = 'crop'): ImageTransforms {
  return { size, resize };
}
