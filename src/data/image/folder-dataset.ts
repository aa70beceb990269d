/**
 * Image datasets from folders: `root/{train,valid,test}/<class>/*` or `root/<class>/*` split by `validPct`,
 * labels from sub-folders, a file-name pattern or a CSV, and an unlabelled test folder for predictions.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeTextFileAtomic } from '../../tensor/index.js';
import { type BadImage, BadImageLog, type OnBadImage } from './bad-image.js';
import { DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS } from './decode.js';
import { type LabelSource, makeLabeller, readLabelsCsv } from './labels.js';
import { epochOrder } from './rng.js';
import { listImageFiles, subfolders, validateImages } from './scan.js';

/** One image: its path and class index (-1 when unlabelled). */
export interface ImageItem {
  file: string;
  label: number;
}

/** A list of image files with class indices; what {@link ImageLoader} reads. */
export class ImageDataset {
  /** Builds a dataset from items and the class names their labels index. */
  constructor(readonly items: readonly ImageItem[], readonly classes: string[], readonly description = 'images') {}

  /** Number of images. */
  get length(): number { return this.items.length; }

  /** File paths, in dataset order (for matching predictions to files). */
  get files(): string[] { return this.items.map((i) => i.file); }

  /** True when the items have no labels (a test folder). */
  get unlabelled(): boolean { return this.items.every((i) => i.label < 0); }

  /** Writes the class names, one per line (index order). */
  saveClasses(path: string): void { writeTextFileAtomic(path, this.classes.join('\n') + '\n'); }
}

/** How folders become datasets. */
export interface ImageFolderOptions {
  /** Label source (default 'folder'). */
  labels?: LabelSource;
  /** Fraction held out for validation when there is no `valid` folder (default 0.2). */
  validPct?: number;
  /** Seed of the train/valid split (default 42). */
  seed?: number;
  /** Names of the split folders (defaults 'train', 'valid' (or 'val'), 'test'). */
  trainName?: string;
  validName?: string;
  testName?: string;
  /** Unusable files: 'skip' (default; a summary is logged) or 'error'. */
  onBadImage?: OnBadImage;
  /** Header-check every file now (default true). Decoding failures later are handled by the loader. */
  validate?: boolean;
  /** Pixel limit per image (decompression-bomb guard). */
  maxPixels?: number;
  /** Where warnings go (default console.warn). */
  log?: (message: string) => void;
}

/** The result of {@link imageFolders}. */
export interface ImageFolders {
  train: ImageDataset;
  valid: ImageDataset;
  /** The test folder, labelled if it has class folders, else unlabelled (label -1). */
  test?: ImageDataset;
  /** Sorted class names (label i is classes[i]). */
  classes: string[];
  /** Every file left out, with its reason. */
  skipped: BadImage[];
}

interface Labelled { file: string; label: string }

function hasImagesOrFolders(dir: string): boolean {
  return existsSync(dir) && statSync(dir).isDirectory();
}

function noImagesError(dir: string): Error {
  return new Error(`no images found in ${dir} (looked for ${IMAGE_EXTENSIONS.join(', ')} files, sub-folders included)`);
}

async function labelFolder(dir: string, labels: LabelSource, csv: Map<string, string> | undefined, bad: BadImage[], validate: boolean, maxPixels: number): Promise<Labelled[]> {
  let files = await listImageFiles(dir);
  if (csv) {
    // NOTE: files named in the CSV but absent on disk are reported (as missing), not silently dropped.
    const listed = [...csv.keys()].map((f) => resolve(dir, f));
    files = [...new Set([...files.map((f) => resolve(f)), ...listed])].sort();
  }
  if (files.length === 0) throw noImagesError(dir);
  const labeller = makeLabeller(labels, dir, csv);
  const broken = validate ? await validateImages(files, maxPixels) : [];
  const brokenSet = new Set(broken.map((b) => b.file));
  bad.push(...broken);
  const out: Labelled[] = [];
  for (const file of files) {
    if (brokenSet.has(file)) continue;
    const result = labeller(file);
    if ('reason' in result) bad.push({ file, reason: result.reason });
    else out.push({ file, label: result.label });
  }
  return out;
}

/** Class folders under `dir` without a usable image, added to `empty` (folder paths by class name). */
function findEmptyClasses(dir: string, present: Labelled[], labels: LabelSource, folders: string[], empty: Map<string, string[]>): void {
  if (labels !== 'folder') return;
  const seen = new Set(present.map((p) => p.label));
  for (const name of folders) if (!seen.has(name)) empty.set(name, [...(empty.get(name) ?? []), join(dir, name)]);
}

/** One line for the class folders that hold no usable image (they are not images, so not in the skipped count). */
function reportEmptyClasses(empty: Map<string, string[]>, classes: string[], options: ImageFolderOptions): void {
  const log = options.log ?? console.warn;
  const list = (names: string[]) => names.map((name) => `'${name}' (${empty.get(name)!.join(', ')})`).join(', ');
  // NOTE: a name that is a class through the other split is not left out, but that split lacks it.
  const leftOut = [...empty.keys()].filter((name) => !classes.includes(name));
  const partial = [...empty.keys()].filter((name) => classes.includes(name));
  if (leftOut.length > 0) log(`kestrel: left out ${leftOut.length === 1 ? 'a class folder' : `${leftOut.length} class folders`} with no usable images: ${list(leftOut)}`);
  if (partial.length > 0) log(`kestrel: ${partial.length === 1 ? 'a class has' : `${partial.length} classes have`} no usable images in one split: ${list(partial)}`);
}

function finish(bad: BadImage[], total: number, options: ImageFolderOptions): void {
  if (bad.length === 0) return;
  const log = new BadImageLog();
  bad.forEach((b) => log.add(b));
  if ((options.onBadImage ?? 'skip') === 'error') {
    throw new Error(`bad images (onBadImage: 'error'): ${bad.map((b) => `${b.file}: ${b.reason}`).join('; ')}`);
  }
  (options.log ?? console.warn)(`kestrel: ${log.summary(total)}`);
}

function toDataset(items: Labelled[], classes: string[], description: string): ImageDataset {
  const index = new Map(classes.map((c, i) => [c, i]));
  return new ImageDataset(items.map((i) => ({ file: i.file, label: index.get(i.label)! })), classes, description);
}

/** The train and valid folders of `root` when it is split already (`train/` and `valid/` or `val/`), else null. */
export function splitFolders(root: string, options: Pick<ImageFolderOptions, 'trainName' | 'validName'> = {}): { trainDir: string; validDir: string } | null {
  const trainDir = join(resolve(root), options.trainName ?? 'train');
  const validDir = [options.validName ?? 'valid', 'val'].map((n) => join(resolve(root), n)).find(hasImagesOrFolders);
  return hasImagesOrFolders(trainDir) && validDir ? { trainDir, validDir } : null;
}

/** Reads a labelled folder layout (split folders or a single folder split by `validPct`). */
export async function imageFolders(root: string, options: ImageFolderOptions = {}): Promise<ImageFolders> {
  const dir = resolve(root);
  if (!hasImagesOrFolders(dir)) throw new Error(`dataset folder ${root} does not exist or is not a folder`);
  const labels = options.labels ?? 'folder';
  const csv = typeof labels === 'object' && !(labels instanceof RegExp) ? readLabelsCsv(labels) : undefined;
  const validate = options.validate ?? true;
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const bad: BadImage[] = [];
  const empty = new Map<string, string[]>();
  const trainDir = join(dir, options.trainName ?? 'train');
  const split = splitFolders(dir, options);
  let train: Labelled[]; let valid: Labelled[]; let total: number;
  if (split) {
    const { validDir } = split;
    train = await labelFolder(trainDir, labels, csv, bad, validate, maxPixels);
    valid = await labelFolder(validDir, labels, csv, bad, validate, maxPixels);
    total = train.length + valid.length + bad.length;
    findEmptyClasses(trainDir, train, labels, await subfolders(trainDir), empty);
    findEmptyClasses(validDir, valid, labels, await subfolders(validDir), empty);
  } else {
    const all = await labelFolder(hasImagesOrFolders(trainDir) ? trainDir : dir, labels, csv, bad, validate, maxPixels);
    total = all.length + bad.length;
    const folders = (await subfolders(dir)).filter((n) => n !== (options.testName ?? 'test'));
    findEmptyClasses(dir, all, labels, folders, empty);
    const validPct = options.validPct ?? 0.2;
    if (!(validPct >= 0 && validPct < 1)) throw new Error(`validPct must be in [0, 1), got ${validPct}`);
    const order = epochOrder(all.length, options.seed ?? 42, 0, true);
    const nValid = Math.round(all.length * validPct);
    const validSet = new Set(Array.from(order.subarray(0, nValid)));
    train = all.filter((_, i) => !validSet.has(i));
    valid = all.filter((_, i) => validSet.has(i));
  }
  const classes = [...new Set([...train, ...valid].map((i) => i.label))].sort();
  if (train.length === 0) throw new Error(`no usable training images in ${root}${bad.length ? ` (${bad.length} bad files)` : ''}`);
  const missing = classes.filter((c) => !train.some((i) => i.label === c));
  for (const c of missing) bad.push({ file: join(dir, c), reason: `class '${c}' has validation images but no training images` });
  finish(bad, total, options);
  reportEmptyClasses(empty, classes, options);
  if (classes.length === 1) {
    (options.log ?? console.warn)(`kestrel: ${root} has a single class ('${classes[0]}'), so the model can only ever predict it; `
      + `a classifier needs at least two classes, each in its own sub-folder (${join(root, '<class>')}/*)`);
  }
  const testDir = join(dir, options.testName ?? 'test');
  let test: ImageDataset | undefined;
  if (hasImagesOrFolders(testDir)) test = await testFolder(testDir, classes, options);
  return {
    train: toDataset(train, classes, `${root} (train)`), valid: toDataset(valid, classes, `${root} (valid)`), test, classes, skipped: bad,
  };
}

async function testFolder(dir: string, classes: string[], options: ImageFolderOptions): Promise<ImageDataset> {
  const folders = await subfolders(dir);
  if (folders.length > 0 && folders.every((f) => classes.includes(f))) {
    const bad: BadImage[] = [];
    const items = await labelFolder(dir, 'folder', undefined, bad, options.validate ?? true, options.maxPixels ?? DEFAULT_MAX_PIXELS);
    finish(bad, items.length + bad.length, options);
    return toDataset(items, classes, `${dir} (test)`);
  }
  return unlabelledImages(dir, { ...options, classes });
}

/** An unlabelled folder of images for predictions (labels -1); `files` gives the names in order. */
export async function unlabelledImages(dir: string, options: ImageFolderOptions & { classes?: string[] } = {}): Promise<ImageDataset> {
  const files = await listImageFiles(resolve(dir));
  if (files.length === 0) throw noImagesError(dir);
  const bad = (options.validate ?? true) ? await validateImages(files, options.maxPixels ?? DEFAULT_MAX_PIXELS) : [];
  finish(bad, files.length, options);
  const badSet = new Set(bad.map((b) => b.file));
  return new ImageDataset(files.filter((f) => !badSet.has(f)).map((file) => ({ file, label: -1 })), options.classes ?? [], `${dir} (unlabelled)`);
}
