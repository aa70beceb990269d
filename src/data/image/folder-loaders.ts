/** One call from an image folder to train/valid loaders, with channels and normalisation chosen from the data. */
import { type DecodeOptions, readHeader } from './decode.js';
import { type ImageFolderOptions, type ImageFolders, type ImageDataset, imageFolders } from './folder-dataset.js';
import { type Normalization, resolveNormalization } from './normalize.js';
import { augmentTransforms, validTransforms } from './presets.js';
import { computeImageStats } from './stats.js';
import { type ImageTransforms } from './transforms.js';
import { ImageLoader } from './worker-loader.js';

/** Options of {@link imageFolderLoaders}. */
export interface ImageFolderLoadersOptions extends ImageFolderOptions {
  /** Output side in pixels. */
  size: number;
  /** Batch size of the training loader (validation uses twice it). Default 64. */
  batchSize?: number;
  /** fastai-style augmentation for training (default false: the validation resize only). */
  augment?: boolean;
  /** 1, 3, or 'auto' (default): 1 when every sampled image is greyscale. */
  channels?: 1 | 3 | 'auto';
  /** 'dataset' (default: measured on the training images), 'imagenet', 'none' or explicit statistics. */
  normalize?: Normalization | 'dataset';
  /** Worker threads per loader. */
  workers?: number;
}

/** What {@link imageFolderLoaders} returns: loaders plus what a model bundle records. */
export interface ImageFolderLoaders {
  train: ImageLoader;
  valid: ImageLoader;
  folders: ImageFolders;
  classes: string[];
  inputShape: [number, number, number];
  normalize: { mean: number[]; std: number[] } | null;
  /** Closes both loaders' workers. */
  close(): Promise<void>;
}

async function detectChannels(dataset: ImageDataset): Promise<1 | 3> {
  const step = Math.max(1, Math.floor(dataset.length / 32));
  for (let i = 0; i < dataset.length; i += step) {
    const header = await readHeader(dataset.items[i].file, dataset.items[i].file).catch(() => null);
    if (header && header.space !== 'b-w' && header.space !== 'grey16') return 3;
  }
  return 1;
}

/** Reads `root` (see imageFolders) and builds seeded train/valid loaders at `size`. */
export async function imageFolderLoaders(root: string, options: ImageFolderLoadersOptions): Promise<ImageFolderLoaders> {
  const folders = await imageFolders(root, options);
  const channels = options.channels === undefined || options.channels === 'auto' ? await detectChannels(folders.train) : options.channels;
  const decode: DecodeOptions = { channels, maxPixels: options.maxPixels };
  const validSpec: ImageTransforms = validTransforms(options.size);
  const trainSpec = options.augment ? augmentTransforms({ size: options.size }) : validSpec;
  const requested = options.normalize ?? 'dataset';
  const normalize: Normalization = requested === 'dataset'
    ? await computeImageStats(folders.train, { transforms: validSpec, decode, seed: options.seed })
    : requested;
  const stats = resolveNormalization(normalize, channels);
  const common = { decode, normalize, workers: options.workers, onBadImage: options.onBadImage, log: options.log, seed: options.seed ?? 42 };
  const batchSize = options.batchSize ?? 64;
  const train = new ImageLoader(folders.train, { ...common, batchSize, shuffle: true, transforms: trainSpec });
  const valid = new ImageLoader(folders.valid, { ...common, batchSize: batchSize * 2, transforms: validSpec });
  return {
    train, valid, folders, classes: folders.classes, inputShape: [channels, options.size, options.size], normalize: stats,
    close: async () => { await train.close(); await valid.close(); },
  };
}
