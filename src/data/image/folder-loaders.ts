/** One call from an image folder to train/valid loaders, with channels and normalisation chosen from the data. */
import { type DecodeOptions, readHeader } from './decode.js';
import { type ImageFolderOptions, type ImageFolders, type ImageDataset, imageFolders } from './folder-dataset.js';
import { type Normalization, resolveNormalization } from './normalize.js';
import { type AugmentOptions, augmentTransforms, validTransforms } from './presets.js';
import { computeImageStats } from './stats.js';
import { type ImageTransforms } from './transforms.js';
import { ImageLoader } from './worker-loader.js';

/** Options of {@link imageFolderLoaders}. */
export interface ImageFolderLoadersOptions extends ImageFolderOptions {
  /** Output side in pixels. */
  size: number;
  /** Batch size of the training loader (validation uses twice it). Default 64. */
  batchSize?: number;
  /**
   * fastai-style augmentation for training: true, or its options (e.g. `{ flip: false }` for digits and
   * text); default false (the validation resize only).
   */
  augment?: boolean | Omit<AugmentOptions, 'size'>;
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

/** What a sample of the training images says about channels: the first colour file, and how many were grey. */
async function sampleChannels(dataset: ImageDataset): Promise<{ colour: string | null; grey: number; sampled: number }> {
  const step = Math.max(1, Math.floor(dataset.length / 32));
  let colour: string | null = null; let grey = 0; let sampled = 0;
  for (let i = 0; i < dataset.length; i += step) {
    const file = dataset.items[i].file;
    const header = await readHeader(file, file).catch(() => null);
    if (!header) continue;
    sampled++;
    if (header.space === 'b-w' || header.space === 'grey16') grey++;
    else colour ??= file;
  }
  return { colour, grey, sampled };
}

/**
 * Channels for `channels: 'auto'`: 1 when every sampled image is grey, else 3. A mixed folder and an
 * ImageNet normalisation of grey images are said out loud, naming the file that decided.
 */
async function detectChannels(dataset: ImageDataset, normalize: ImageFolderLoadersOptions['normalize'], log: (message: string) => void): Promise<1 | 3> {
  const { colour, grey, sampled } = await sampleChannels(dataset);
  if (colour && grey > 0) {
    log(`kestrel: decoding every image as 3 channels (RGB): ${colour} is in colour while ${grey} of ${sampled} sampled images are grey; pass channels: 1 to decode all as grey`);
  }
  if (colour) return 3;
  if (normalize === 'imagenet') {
    log(`kestrel: the images are greyscale; decoding them as 3 channels (RGB) because normalize is 'imagenet' (pass channels: 1 and normalize: 'dataset' to keep one channel)`);
    return 3;
  }
  return 1;
}

/** Reads `root` (see imageFolders) and builds seeded train/valid loaders at `size`. */
export async function imageFolderLoaders(root: string, options: ImageFolderLoadersOptions): Promise<ImageFolderLoaders> {
  const folders = await imageFolders(root, options);
  const log = options.log ?? console.warn;
  const channels = options.channels === undefined || options.channels === 'auto' ? await detectChannels(folders.train, options.normalize, log) : options.channels;
  if (channels === 1 && options.normalize === 'imagenet') {
    throw new Error(`imageFolderLoaders(${root}): normalize 'imagenet' needs 3 channels, but channels is 1; pass channels: 3 (grey images are decoded as RGB) or normalize: 'dataset'`);
  }
  const decode: DecodeOptions = { channels, maxPixels: options.maxPixels };
  const validSpec: ImageTransforms = validTransforms(options.size);
  const augment = options.augment === true ? {} : options.augment;
  const trainSpec = augment ? augmentTransforms({ ...augment, size: options.size }) : validSpec;
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
