/** Images from disk: decoding, seeded transforms, folder datasets, a worker-thread loader and showBatch. */
export { type BadImage, BadImageError, BadImageLog, type OnBadImage, describeImageError } from './bad-image.js';
export {
  DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, type DecodeOptions, type DecodedImage, type ImageHeader, decodeImage, hwcToChw, probeImage,
} from './decode.js';
export { type ImageTransforms, type RandomResizedCropOptions, type ResizeMode, type TransformPlan, outputSize, planTransform, validateTransforms } from './transforms.js';
export { type SampleKey, loadImageSample, transformImageBuffer } from './pipeline.js';
export { type Preprocessing, type ImageSource, type FailedImage, checkPreprocessing, imageName, pixelsToBatch, preprocessImages } from './preprocess.js';
export { SampleRng } from './rng.js';
export { type LabelSource, type CsvLabels } from './labels.js';
export { hasImageFiles, listImageFiles } from './scan.js';
export { ImageDataset, type ImageFolderOptions, type ImageFolders, type ImageItem, imageFolders, unlabelledImages } from './folder-dataset.js';
export { IMAGENET_MEAN, IMAGENET_STD, type Normalization } from './normalize.js';
export { computeImageStats, type ImageStatsOptions } from './stats.js';
export { ImageLoader, type ImageLoaderOptions, type ImageLoaderState } from './worker-loader.js';
export { showBatch, type ShowBatchOptions, renderTiles, batchPixels, sourceNormalization, type Tile, type TileGridOptions } from './show-batch.js';
export { imageFolderLoaders, type ImageFolderLoaders, type ImageFolderLoadersOptions } from './folder-loaders.js';
export { augmentTransforms, validTransforms, type AugmentOptions } from './presets.js';
