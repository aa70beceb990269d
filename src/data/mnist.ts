/** MNIST-style datasets from IDX files: Fashion-MNIST (Debian's files), the bundled sample, any directory. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tensor, tidy } from '../tensor/index.js';
import { TensorDataset } from './dataset.js';
import { readIdx } from './idx.js';

/** Fashion-MNIST's class names (Zalando Research). */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** MNIST's class names. */
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Where Debian's dataset-fashion-mnist package puts the files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Which part of a dataset. */
export type Split = 'train' | 'test';

function findFile(dir: string, prefix: string, kind: 'images' | 'labels'): string {
  const rank = kind === 'images' ? 3 : 1;
  const names = [`${prefix}-${kind}-idx${rank}-ubyte`, `${prefix}-${kind}.idx${rank}-ubyte`];
  for (const name of names) {
    for (const candidate of [join(dir, `${name}.gz`), join(dir, name)]) if (existsSync(candidate)) return candidate;
  }
  throw new Error(`${dir}: no ${prefix} ${kind} file (expected ${names[0]}.gz or ${names[0]})`);
}

/**
 * Loads one split of an MNIST-style directory (train-* / t10k-* IDX files, gzipped or not).
 * Class names come from `classes`, else a `classes.txt` in the directory, else '0'..'9'.
 */
export function loadIdxDataset(dir: string, options: { split?: Split; classes?: string[] } = {}): TensorDataset {
  if (!existsSync(dir)) throw new Error(`${dir}: no such directory`);
  if (!statSync(dir).isDirectory()) throw new Error(`${dir}: not a directory (expected one holding the IDX files)`);
  const prefix = (options.split ?? 'train') === 'train' ? 'train' : 't10k';
  const imagesPath = findFile(dir, prefix, 'images');
  const labelsPath = findFile(dir, prefix, 'labels');
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  // NOTE: float images are taken as already scaled to [0, 1] (TensorDataset divides only uint8 by 255).
  if (!['uint8', 'float32', 'float64'].includes(images.type) || (images.shape.length !== 3 && images.shape.length !== 4)) {
    throw new Error(`${imagesPath}: expected uint8 or float images [N, H, W] or [N, C, H, W], got ${images.type} [${images.shape.join(', ')}]`);
  }
  if (labels.shape.length !== 1) throw new Error(`${labelsPath}: expected labels [N], got [${labels.shape.join(', ')}]`);
  if (labels.shape[0] !== images.shape[0]) {
    throw new Error(`${labelsPath}: ${labels.shape[0]} labels but ${imagesPath} has ${images.shape[0]} images`);
  }
  const classesFile = join(dir, 'classes.txt');
  const classes = options.classes ?? (existsSync(classesFile) ? readFileSync(classesFile, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean) : MNIST_CLASSES);
  for (let i = 0; i < labels.data.length; i++) {
    const label = Number(labels.data[i]);
    if (!Number.isInteger(label) || label < 0 || label >= classes.length) {
      throw new Error(`${labelsPath}: label ${label} of sample ${i} is out of range for ${classes.length} classes`);
    }
  }
  const [n, h, w] = images.shape.length === 3 ? images.shape : [images.shape[0], images.shape[2], images.shape[3]];
  const channels = images.shape.length === 3 ? 1 : images.shape[1];
  return tidy(() => new TensorDataset(
    tensor(images.data as Uint8Array | Float32Array | Float64Array, [n, channels, h, w]),
    tensor(Int32Array.from(labels.data as ArrayLike<number>), [n]).long(),
    { classes },
  ));
}

/** Fashion-MNIST from Debian's package (or `dir`), with its class names. */
export function loadFashionMnist(options: { split?: Split; dir?: string } = {}): TensorDataset {
  const dir = options.dir ?? process.env.KESTREL_FASHION_MNIST ?? DEBIAN_FASHION_MNIST_DIR;
  const whereToGet = "install it with 'sudo apt-get install dataset-fashion-mnist', or pass a directory holding " +
    'train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz';
  if (!existsSync(dir)) throw new Error(`Fashion-MNIST not found at ${dir}: ${whereToGet}`);
  const prefix = (options.split ?? 'train') === 'train' ? 'train' : 't10k';
  try {
    findFile(dir, prefix, 'images');
    findFile(dir, prefix, 'labels');
  } catch (error) {
    throw new Error(`Fashion-MNIST incomplete: ${(error as Error).message}; ${whereToGet}`);
  }
  return loadIdxDataset(dir, { split: options.split, classes: FASHION_MNIST_CLASSES });
}

/** Directory of the bundled sample (data/sample in the package). */
export function sampleDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'data', 'sample', 'classes.txt'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('kestrel: the bundled sample (data/sample) is missing from the package');
    dir = parent;
  }
  return join(dir, 'data', 'sample');
}

/** The bundled Fashion-MNIST sample (3,000 train + 1,000 test images). */
export function loadSample(options: { split?: Split } = {}): TensorDataset {
  return loadIdxDataset(sampleDir(), { split: options.split, classes: FASHION_MNIST_CLASSES });
}
