/**
 * Readers for the binary versions of CIFAR-10 and CIFAR-100 (cs.toronto.edu/~kriz/cifar.html).
 * CIFAR-10 records are 1 label byte + 3072 pixel bytes; CIFAR-100 records are 2 label bytes
 * (coarse, fine) + 3072 pixel bytes. Pixels are three 32x32 planes (R, G, B), row-major.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Tensor, dispose, tensor } from '../tensor/index.js';
import { TensorDataset } from './dataset.js';

/** Pixel bytes of one CIFAR image (3 x 32 x 32). */
export const CIFAR_IMAGE_BYTES = 3 * 32 * 32;

/** Images, labels and class names read from CIFAR files; the caller owns (and disposes) the tensors. */
export interface CifarData {
  /** uint8 [N, 3, 32, 32], RGB planes. */
  images: Tensor;
  /** int64 [N] class indices. */
  labels: Tensor;
  /** Class names, indexed by label. */
  classes: string[];
}

/** Options of {@link readCifar10}. */
export interface CifarOptions {
  /** Which files: train (data_batch_1..5 / train.bin) or test (test_batch / test.bin). Default 'train'. */
  split?: 'train' | 'test';
}

/** Options of {@link readCifar100}. */
export interface Cifar100Options extends CifarOptions {
  /** Which labels to return: the 100 fine classes (default) or the 20 coarse superclasses. */
  labels?: 'fine' | 'coarse';
}

interface Layout {
  /** Label bytes before the pixels, and for each: its name, class count. */
  labelFields: { name: string; classes: number }[];
  /** Which label field to return. */
  pick: number;
}

/** Resolves `dir` or its standard sub-folder (the archives extract to `cifar-10-batches-bin` / `cifar-100-binary`). */
function dataFolder(dir: string, sub: string, probe: string): string {
  if (!existsSync(join(dir, probe)) && existsSync(join(dir, sub, probe))) return join(dir, sub);
  return dir;
}

function requireFiles(paths: string[], what: string): void {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length > 0) throw new Error(`${what}: missing file${missing.length > 1 ? 's' : ''} ${missing.map((p) => `'${p}'`).join(', ')}`);
}

/** Class names from a text file with one name per line (blank lines ignored). */
function readClassNames(path: string, count: number, what: string): string[] {
  requireFiles([path], what);
  const names = readFileSync(path, 'utf8').split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '');
  if (names.length !== count) throw new Error(`${what}: '${path}' lists ${names.length} class names, expected ${count}`);
  return names;
}

function readRecords(files: string[], layout: Layout, what: string): { images: Uint8Array; labels: BigInt64Array } {
  requireFiles(files, what);
  const labelBytes = layout.labelFields.length;
  const recordBytes = labelBytes + CIFAR_IMAGE_BYTES;
  let count = 0;
  for (const file of files) {
    const size = statSync(file).size;
    if (size === 0) throw new Error(`${what}: '${file}' is empty`);
    if (size % recordBytes !== 0) {
      throw new Error(`${what}: '${file}' is truncated or not a CIFAR file: ${size} bytes is not a multiple of the ${recordBytes}-byte record (${Math.floor(size / recordBytes)} whole records + ${size % recordBytes} bytes)`);
    }
    count += size / recordBytes;
  }
  const images = new Uint8Array(count * CIFAR_IMAGE_BYTES);
  const labels = new BigInt64Array(count);
  let n = 0;
  for (const file of files) {
    const bytes = readFileSync(file);
    const records = bytes.length / recordBytes;
    for (let r = 0; r < records; r += 1, n += 1) {
      const offset = r * recordBytes;
      layout.labelFields.forEach((field, i) => {
        const label = bytes[offset + i];
        if (label >= field.classes) throw new Error(`${what}: '${file}' record ${r}: ${field.name}label ${label} is out of range 0..${field.classes - 1}`);
      });
      labels[n] = BigInt(bytes[offset + layout.pick]);
      images.set(bytes.subarray(offset + labelBytes, offset + recordBytes), n * CIFAR_IMAGE_BYTES);
    }
  }
  return { images, labels };
}

function toTensors(data: { images: Uint8Array; labels: BigInt64Array }, classes: string[]): CifarData {
  const count = data.labels.length;
  const images = tensor(data.images, [count, 3, 32, 32]);
  try {
    return { images, labels: tensor(data.labels, [count]), classes };
  } catch (error) {
    dispose(images);
    throw error;
  }
}

/**
 * Reads CIFAR-10 (binary version) from `dir` (the extracted `cifar-10-batches-bin` folder or its
 * parent): data_batch_1..5.bin for train, test_batch.bin for test; names from batches.meta.txt.
 */
export function readCifar10(dir: string, options: CifarOptions = {}): CifarData {
  const split = options.split ?? 'train';
  const folder = dataFolder(dir, 'cifar-10-batches-bin', 'batches.meta.txt');
  const what = `CIFAR-10 ${split} in '${folder}'`;
  const names = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  const classes = readClassNames(join(folder, 'batches.meta.txt'), 10, what);
  const data = readRecords(names.map((name) => join(folder, name)), { labelFields: [{ name: '', classes: 10 }], pick: 0 }, what);
  return toTensors(data, classes);
}

/**
 * Reads CIFAR-100 (binary version) from `dir` (the extracted `cifar-100-binary` folder or its
 * parent): train.bin / test.bin, names from fine_label_names.txt or coarse_label_names.txt.
 */
export function readCifar100(dir: string, options: Cifar100Options = {}): CifarData {
  const split = options.split ?? 'train';
  const which = options.labels ?? 'fine';
  const folder = dataFolder(dir, 'cifar-100-binary', 'fine_label_names.txt');
  const what = `CIFAR-100 ${split} in '${folder}'`;
  const classes = which === 'fine'
    ? readClassNames(join(folder, 'fine_label_names.txt'), 100, what)
    : readClassNames(join(folder, 'coarse_label_names.txt'), 20, what);
  const layout: Layout = { labelFields: [{ name: 'coarse ', classes: 20 }, { name: 'fine ', classes: 100 }], pick: which === 'fine' ? 1 : 0 };
  const data = readRecords([join(folder, `${split}.bin`)], layout, what);
  return toTensors(data, classes);
}

function toDataset(data: CifarData): TensorDataset {
  try {
    return new TensorDataset(data.images, data.labels, { classes: data.classes });
  } catch (error) {
    dispose([data.images, data.labels]);
    throw error;
  }
}

/** CIFAR-10 as a {@link TensorDataset} (see {@link readCifar10} for the files read). */
export function loadCifar10(dir: string, options: CifarOptions = {}): TensorDataset {
  return toDataset(readCifar10(dir, options));
}

/** CIFAR-100 as a {@link TensorDataset} (see {@link readCifar100} for the files read). */
export function loadCifar100(dir: string, options: Cifar100Options = {}): TensorDataset {
  return toDataset(readCifar100(dir, options));
}
