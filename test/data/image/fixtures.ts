/** Test images made on the fly with sharp, and where real sample photos may be found. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { ImageDataset } from '../../../src/data/image/index.js';

/** A fresh temporary folder. */
export function tempDir(prefix = 'kestrel-img-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** An asymmetric RGB test pattern (HWC): red ramps with x, green with y, blue marks the top-left quadrant. */
export function pattern(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = Math.round((x / Math.max(1, width - 1)) * 255);
      data[i + 1] = Math.round((y / Math.max(1, height - 1)) * 255);
      data[i + 2] = x < width / 2 && y < height / 2 ? 200 : 20;
    }
  }
  return data;
}

/** A sharp instance over raw HWC pixels. */
export function fromRaw(data: Uint8Array, width: number, height: number, channels: 1 | 2 | 3 | 4 = 3): sharp.Sharp {
  return sharp(Buffer.from(data), { raw: { width, height, channels } });
}

/** Writes a file, creating folders. */
export function writeFile(path: string, data: Buffer | string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
  return path;
}

/** A solid-colour image file in the format given by the extension (jpg, png, webp, gif, tif). */
export async function solidImage(path: string, width: number, height: number, rgb: [number, number, number]): Promise<string> {
  const image = sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  return writeFile(path, await image.toFormat(formatOf(path)).toBuffer());
}

/** sharp's format name for a file extension. */
export function formatOf(path: string): keyof sharp.FormatEnum {
  const ext = path.split('.').pop()!.toLowerCase();
  return ({ jpg: 'jpeg', jpeg: 'jpeg', png: 'png', webp: 'webp', gif: 'gif', tif: 'tiff', tiff: 'tiff' } as Record<string, keyof sharp.FormatEnum>)[ext];
}

/** The CRC-32 of PNG chunks. */
export function crc32(buffer: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buffer) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A tiny PNG whose header claims width x height (a decompression bomb: the header is all a loader may trust). */
export async function bombPng(path: string, width: number, height: number): Promise<string> {
  const png = Buffer.from(await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } }).png().toBuffer());
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return writeFile(path, png);
}

/** A noisy JPEG cut off after `keep` bytes. */
export async function truncatedJpeg(path: string, keep = 1500): Promise<string> {
  const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: 'black', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg().toBuffer();
  return writeFile(path, jpeg.subarray(0, keep));
}

const PHOTO_DIRS = [
  process.env.KESTREL_PHOTOS ?? '',
  '/usr/lib/python3/dist-packages/skimage/data',
  '/usr/share/matplotlib/mpl-data/sample_data',
  '/tmp/photos-deb/x/usr/lib/python3/dist-packages/skimage/data',
  '/tmp/photos-deb/x/usr/share/matplotlib/mpl-data/sample_data',
];

/** Real photographs (JPEG/PNG, colour, at least 256 px) from packaged sample data, or [] when none is installed. */
export function samplePhotos(): string[] {
  const wanted = /^(astronaut|coffee|chelsea|rocket|motorcycle_left|motorcycle_right|hubble_deep_field|retina|grace_hopper|immunohistochemistry|ihc)\.(png|jpg)$/;
  const found = new Map<string, string>();
  for (const dir of PHOTO_DIRS) {
    if (!dir || !existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if ((wanted.test(name) || dir === process.env.KESTREL_PHOTOS) && !found.has(name)) found.set(name, join(dir, name));
  }
  return [...found.values()].sort();
}

/** `n` 12x12 PNGs (the ones in `broken` are text), labelled alternately. */
export async function pngs(n: number, broken: number[] = []): Promise<ImageDataset> {
  const dir = tempDir();
  const items = [];
  for (let i = 0; i < n; i++) {
    const pixels = pattern(12, 12).map((v) => (v + i * 17) & 255);
    const file = join(dir, `${i}.png`);
    writeFile(file, broken.includes(i) ? Buffer.from('not a png') : await fromRaw(pixels, 12, 12).png().toBuffer());
    items.push({ file, label: i % 2 });
  }
  return new ImageDataset(items, ['a', 'b'], `${dir} (train)`);
}
