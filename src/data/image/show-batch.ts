/** showBatch: a PNG contact sheet of images with their labels written underneath (SVG text composited by sharp). */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import sharp from 'sharp';
import { type Tensor, dispose } from '../../tensor/index.js';
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

/** One picture of a grid: HWC uint8 pixels and the caption written under it. */
export interface Tile {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
  /** Caption; each '\n' starts a new line. */
  label: string;
  /** Caption colour (default #222), e.g. green for a right prediction, red for a wrong one. */
  color?: string;
}

/** Options of {@link renderTiles}. */
export interface TileGridOptions {
  /** Columns (default 6). */
  cols?: number;
  /** Side of each picture in pixels (default: the images' size, at least 96 and at most 256). */
  cellSize?: number;
  /** A title over the grid. */
  title?: string;
}

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
  // NOTE: an ImageLoader knows its statistics and classes; a DataLoader's TensorDataset has them as `normalize`/`classes`.
  const loader = source as Partial<{ classes: readonly string[]; dataset: { classes?: string[] } }>;
  const stats = options.normalization !== undefined ? options.normalization : sourceNormalization(source);
  const classes = options.classes ?? loader.classes ?? loader.dataset?.classes;
  const tiles: Tile[] = [];
  for await (const batch of source) {
    try {
      const y = Array.from(batch.y.toArray() as ArrayLike<number | bigint>, Number);
      const images = batchPixels(batch.x, stats);
      for (let s = 0; s < images.length && tiles.length < n; s++) tiles.push({ ...images[s], label: labelOf(y[s], classes) });
    } finally {
      dispose(batch);
    }
    if (tiles.length >= n) break;
  }
  return tiles;
}

/** The statistics a source's x was normalised with (an ImageLoader's, or a TensorDataset's `normalize`), or null. */
export function sourceNormalization(source: BatchSource): { mean: number[]; std: number[] } | null {
  type Stats = { mean: number[]; std: number[] };
  const loader = source as Partial<{ normalization: Stats | null; dataset: { normalize?: Stats | null } }>;
  return loader.normalization ?? loader.dataset?.normalize ?? null;
}

/**
 * Turns a batch x [N, C, H, W] back into HWC uint8 pictures, undoing `stats`; without statistics, values
 * outside [0, 1] are min-max scaled over the batch.
 */
export function batchPixels(x: Tensor, stats: { mean: number[]; std: number[] } | null): Omit<Tile, 'label'>[] {
  const [count, channels, height, width] = x.shape;
  const values = x.toArray() as Float32Array;
  const plane = height * width;
  if (stats) for (let i = 0; i < values.length; i++) { const c = Math.floor(i / plane) % channels; values[i] = values[i] * stats.std[c] + stats.mean[c]; }
  let low = 0; let high = 1;
  if (!stats) { for (const v of values) { low = Math.min(low, v); high = Math.max(high, v); } }
  const out: Omit<Tile, 'label'>[] = [];
  for (let s = 0; s < count; s++) {
    const data = new Uint8Array(plane * channels);
    for (let c = 0; c < channels; c++) {
      for (let p = 0; p < plane; p++) data[p * channels + c] = Math.max(0, Math.min(255, Math.round(((values[(s * channels + c) * plane + p] - low) / (high - low)) * 255)));
    }
    out.push({ data, width, height, channels });
  }
  return out;
}

/** Draws tiles in a grid with their (coloured, multi-line) captions underneath; resolves to PNG bytes. */
export async function renderTiles(tiles: readonly Tile[], options: TileGridOptions = {}): Promise<Buffer> {
  if (tiles.length === 0) throw new Error('renderTiles: no images to show');
  const cols = Math.max(1, Math.min(options.cols ?? 6, tiles.length));
  const largest = Math.max(...tiles.map((t) => Math.max(t.width, t.height)));
  const cell = options.cellSize ?? Math.max(96, Math.min(256, largest));
  const fontSize = Math.max(11, Math.round(cell / 9));
  const lines = Math.max(...tiles.map((t) => t.label.split('\n').length));
  const pad = 8; const labelHeight = Math.round(fontSize * (0.4 + 1.2 * lines));
  const titleHeight = options.title ? Math.round(fontSize * 2.2) : 0;
  const rows = Math.ceil(tiles.length / cols);
  const width = pad + cols * (cell + pad);
  const height = titleHeight + pad + rows * (cell + labelHeight + pad);
  const maxChars = Math.max(4, Math.floor(cell / (fontSize * 0.6)));
  const composites: sharp.OverlayOptions[] = [];
  const texts: string[] = [];
  if (options.title) texts.push(`<text x="${width / 2}" y="${fontSize * 1.6}" text-anchor="middle" font-weight="bold" font-size="${Math.round(fontSize * 1.25)}">${escapeXml(options.title)}</text>`);
  for (let i = 0; i < tiles.length; i++) {
    const t = tiles[i];
    const left = pad + (i % cols) * (cell + pad);
    const top = titleHeight + pad + Math.floor(i / cols) * (cell + labelHeight + pad);
    // NOTE: small images (e.g. 28-px digits) are enlarged with nearest-neighbour so pixels stay crisp.
    const kernel = Math.max(t.width, t.height) * 2 <= cell ? 'nearest' : 'lanczos3';
    const input = await sharp(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), { raw: { width: t.width, height: t.height, channels: t.channels as 1 | 3 | 4 } })
      .resize(cell, cell, { fit: 'contain', kernel, background: { r: 240, g: 240, b: 240 } }).png().toBuffer();
    composites.push({ input, left, top });
    t.label.split('\n').forEach((line, k) => {
      const text = line.length > maxChars ? `${line.slice(0, maxChars - 1)}…` : line;
      const colour = /^#[0-9a-fA-F]{3,8}$/.test(t.color ?? '') ? t.color : '#222';
      texts.push(`<text x="${left + cell / 2}" y="${top + cell + fontSize * (1.2 + 1.2 * k)}" text-anchor="middle" fill="${colour}">${escapeXml(text)}</text>`);
    });
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><g font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="${fontSize}" fill="#222">${texts.join('')}</g></svg>`;
  composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
  return sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } }).composite(composites).png().toBuffer();
}

/**
 * A PNG grid of `n` images (from a dataset or the first batches of a source) with labels under each: written
 * to `options.path` (resolving to the path), or resolved as PNG bytes when there is no path.
 */
export async function showBatch(source: BatchSource | ImageDataset, options: ShowBatchOptions & { path: string }): Promise<string>;
export async function showBatch(source: BatchSource | ImageDataset, options?: ShowBatchOptions): Promise<Buffer>;
export async function showBatch(source: BatchSource | ImageDataset, options: ShowBatchOptions = {}): Promise<string | Buffer> {
  const n = options.n ?? 36;
  const tiles = source instanceof ImageDataset ? await tilesFromDataset(source, n, options) : await tilesFromSource(source, n, options);
  if (tiles.length === 0) throw new Error('showBatch: no images to show');
  const png = await renderTiles(tiles, { cols: Math.min(options.cols ?? 6, n), cellSize: options.cellSize });
  if (options.path === undefined) return png;
  mkdirSync(dirname(options.path), { recursive: true });
  await sharp(png).toFile(options.path);
  return options.path;
}
