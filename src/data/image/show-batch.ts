/** showBatch: a PNG contact sheet of images with their labels written underneath (SVG text composited by sharp). */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import sharp from 'sharp';
import { dispose } from '../../tensor/index.js';
import type { BatchSource } from '../loader.js';
import { BadImageError } from './bad-image.js';
import { type DecodeOptions, resolveDecodeOptions } from './decode.js';
import { ImageDataset } from './folder-dataset.js';
import { loadImageSampleChecked } from './pipeline.js';
import { epochOrder } from './rng.js';
import { type ImageTransforms } from './transforms.js';

/** Options of {@link showBatch}. */
export interface ShowBatchOptions {
  /** Output PNG path; without one, showBatch resolves to the PNG bytes (a notebook displays them). */
  path?: string;
  /** Images shown (default 36). */
  n?: number;
  /** Columns (default 6). */
  cols?: number;
  /** Class names for labels (default: the source's own, else the numbers). */
  classes?: readonly string[];
  /** Statistics x was normalised with, to undo it (default: the loader's own, if it has them). */
  normalization?: { mean: number[]; std: number[] } | null;
  /** Side of each picture in pixels (default: the images' size, at least 96 and at most 256). */
  cellSize?: number;
  /** For datasets: which images (seeded random choice) and how they are prepared (default: centre crop to 160). */
  seed?: number;
  transforms?: ImageTransforms;
  decode?: DecodeOptions;
}

interface Tile { data: Uint8Array; width: number; height: number; channels: number; label: string }

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[ch]!);
}

function labelOf(value: number, classes: readonly string[] | undefined): string {
  if (value < 0) return '(unlabelled)';
  return classes?.[value] ?? String(value);
}

async function tilesFromDataset(dataset: ImageDataset, n: number, options: ShowBatchOptions): Promise<Tile[]> {
  const decode = resolveDecodeOptions(options.decode);
  const transforms = options.transforms ?? { size: 160, resize: 'crop' };
  const tiles: Tile[] = [];
  for (const index of epochOrder(dataset.length, options.seed ?? 0, 0, true)) {
    if (tiles.length >= n) break;
    const item = dataset.items[index];
    try {
      const image = await loadImageSampleChecked(item.file, transforms, decode, { seed: options.seed ?? 0, epoch: 0, index });
      tiles.push({ ...image, label: labelOf(item.label, options.classes ?? dataset.classes) });
    } catch (error) {
      if (!(error instanceof BadImageError)) throw error;
    }
  }
  return tiles;
}

async function tilesFromSource(source: BatchSource, n: number, options: ShowBatchOptions): Promise<Tile[]> {
  type Stats = { mean: number[]; std: number[] };
  // NOTE: an ImageLoader knows its statistics and classes; a DataLoader's TensorDataset has them as `normalize`/`classes`.
  const loader = source as Partial<{ normalization: Stats | null; classes: readonly string[]; dataset: { classes?: string[]; normalize?: Stats | null } }>;
  const stats = options.normalization !== undefined ? options.normalization : loader.normalization ?? loader.dataset?.normalize ?? null;
  const classes = options.classes ?? loader.classes ?? loader.dataset?.classes;
  const tiles: Tile[] = [];
  for await (const batch of source) {
    try {
      const [count, channels, height, width] = batch.x.shape;
      const x = batch.x.toArray() as Float32Array;
      const y = Array.from(batch.y.toArray() as ArrayLike<number | bigint>, Number);
      const plane = height * width;
      // NOTE: undo the normalisation; values outside [0, 1] without known statistics are min-max scaled.
      const values = Float32Array.from(x, (v, i) => (stats ? v * stats.std[Math.floor(i / plane) % channels] + stats.mean[Math.floor(i / plane) % channels] : v));
      let low = 0; let high = 1;
      if (!stats) { for (const v of values) { low = Math.min(low, v); high = Math.max(high, v); } }
      for (let s = 0; s < count && tiles.length < n; s++) {
        const data = new Uint8Array(plane * channels);
        for (let c = 0; c < channels; c++) {
          for (let p = 0; p < plane; p++) data[p * channels + c] = Math.max(0, Math.min(255, Math.round(((values[(s * channels + c) * plane + p] - low) / (high - low)) * 255)));
        }
        tiles.push({ data, width, height, channels, label: labelOf(y[s], classes) });
      }
    } finally {
      dispose(batch);
    }
    if (tiles.length >= n) break;
  }
  return tiles;
}

/**
 * A PNG grid of `n` images (from a dataset or the first batches of a source) with labels under each: written
 * to `options.path` (resolving to the path), or resolved as PNG bytes when there is no path.
 */
export async function showBatch(source: BatchSource | ImageDataset, options: ShowBatchOptions & { path: string }): Promise<string>;
export async function showBatch(source: BatchSource | ImageDataset, options?: ShowBatchOptions): Promise<Buffer>;
export async function showBatch(source: BatchSource | ImageDataset, options: ShowBatchOptions = {}): Promise<string | Buffer> {
  const n = options.n ?? 36;
  const cols = Math.max(1, Math.min(options.cols ?? 6, n));
  const tiles = source instanceof ImageDataset ? await tilesFromDataset(source, n, options) : await tilesFromSource(source, n, options);
  if (tiles.length === 0) throw new Error('showBatch: no images to show');
  const largest = Math.max(...tiles.map((t) => Math.max(t.width, t.height)));
  const cell = options.cellSize ?? Math.max(96, Math.min(256, largest));
  const fontSize = Math.max(11, Math.round(cell / 9));
  const pad = 8; const labelHeight = Math.round(fontSize * 1.6);
  const rows = Math.ceil(tiles.length / cols);
  const width = pad + cols * (cell + pad);
  const height = pad + rows * (cell + labelHeight + pad);
  const maxChars = Math.max(4, Math.floor(cell / (fontSize * 0.6)));
  const composites: sharp.OverlayOptions[] = [];
  const texts: string[] = [];
  for (let i = 0; i < tiles.length; i++) {
    const t = tiles[i];
    const left = pad + (i % cols) * (cell + pad);
    const top = pad + Math.floor(i / cols) * (cell + labelHeight + pad);
    // NOTE: small images (e.g. 28-px digits) are enlarged with nearest-neighbour so pixels stay crisp.
    const kernel = Math.max(t.width, t.height) * 2 <= cell ? 'nearest' : 'lanczos3';
    const input = await sharp(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), { raw: { width: t.width, height: t.height, channels: t.channels as 1 | 3 } })
      .resize(cell, cell, { fit: 'contain', kernel, background: { r: 240, g: 240, b: 240 } }).png().toBuffer();
    composites.push({ input, left, top });
    const label = t.label.length > maxChars ? `${t.label.slice(0, maxChars - 1)}…` : t.label;
    texts.push(`<text x="${left + cell / 2}" y="${top + cell + fontSize * 1.2}" text-anchor="middle">${escapeXml(label)}</text>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><g font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="${fontSize}" fill="#222">${texts.join('')}</g></svg>`;
  composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
  const grid = sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } }).composite(composites).png();
  if (options.path === undefined) return grid.toBuffer();
  mkdirSync(dirname(options.path), { recursive: true });
  await grid.toFile(options.path);
  return options.path;
}
