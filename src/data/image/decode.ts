/** Decoding image files with sharp: orientation, colour conversion to 1 or 3 channels, and bomb-safe header checks. */
import { readFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { BadImageError, describeImageError, tooLarge } from './bad-image.js';
import { fastHeader, fastImage } from './fast-decode.js';

/** File extensions read as images (sharp's JPEG, PNG, WebP, GIF and TIFF loaders). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff'];

/** Default pixel limit (sharp's own): larger images are refused before any pixel is decoded. */
export const DEFAULT_MAX_PIXELS = 0x3fff * 0x3fff;

/** How files become pixels. */
export interface DecodeOptions {
  /** Channels of the output: 1 (grey) or 3 (sRGB). Default 3. */
  channels?: 1 | 3;
  /** Transparent pixels: 'flatten' onto `background` (default) or 'drop' the alpha channel. */
  alpha?: 'flatten' | 'drop';
  /** Background for flattening, RGB 0-255 (default white). */
  background?: [number, number, number];
  /** Largest width*height accepted (decompression-bomb guard). Default 268 megapixels. */
  maxPixels?: number;
}

/** Decoder settings with every default filled in (plain data, so it can be sent to workers). */
export type ResolvedDecodeOptions = Required<DecodeOptions>;

/** Fills in decode defaults and checks them. */
export function resolveDecodeOptions(options: DecodeOptions = {}): ResolvedDecodeOptions {
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new Error(`channels must be 1 or 3, got ${String(channels)}`);
  return { channels, alpha: options.alpha ?? 'flatten', background: options.background ?? [255, 255, 255], maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS };
}

/** A decoded image: interleaved uint8 pixels (HWC) and their size. */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** What a header check learns about a file. */
export interface ImageHeader {
  format: string;
  /** Size after EXIF orientation. */
  width: number;
  height: number;
  /** Bands as stored (alpha included), colour space ('srgb', 'b-w', 'cmyk', 'rgb16', ...), sample depth. */
  channels: number;
  space: string;
  depth: string;
  hasAlpha: boolean;
}

/**
 * Reads a whole file, turning empty files, directories and missing files into BadImageErrors.
 * NOTE: synchronous on purpose: it runs in loader workers, where one readFileSync (~10 us for a small file)
 * beats the several thread-pool round trips of fs.promises.readFile (~200 us).
 */
export async function readImageFile(file: string): Promise<Buffer> {
  let buffer: Buffer;
  try {
    buffer = readFileSync(file);
  } catch (error) {
    throw new BadImageError(file, describeImageError(error));
  }
  if (buffer.length === 0) throw new BadImageError(file, 'empty file (0 bytes)');
  return buffer;
}

async function checkFile(file: string): Promise<number> {
  let size: number;
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    size = info.size;
  } catch (error) {
    throw new BadImageError(file, describeImageError(error));
  }
  if (size === 0) throw new BadImageError(file, 'empty file (0 bytes)');
  return size;
}

function orientedSize(meta: sharp.Metadata): { width: number; height: number } {
  // NOTE: EXIF orientations 5-8 are quarter turns, so width and height swap once applied.
  const swap = (meta.orientation ?? 1) >= 5;
  return { width: swap ? meta.height! : meta.width!, height: swap ? meta.width! : meta.height! };
}

/** Reads the header of an image (buffer or file) and returns its oriented size; a BadImageError for anything unusable. */
export async function readHeader(input: string | Buffer, file: string, maxPixels = DEFAULT_MAX_PIXELS): Promise<ImageHeader> {
  let meta: sharp.Metadata;
  try {
    // NOTE: no pixel limit for the header itself, so an oversized image is reported with its size.
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new BadImageError(file, describeImageError(error));
  }
  if (!meta.width || !meta.height || !meta.format) throw new BadImageError(file, 'not an image (no size in header)');
  if (meta.width * meta.height > maxPixels) throw tooLarge(file, meta.width, meta.height, maxPixels);
  return {
    format: meta.format, ...orientedSize(meta), channels: meta.channels ?? 3, space: meta.space ?? 'srgb', depth: meta.depth ?? 'uchar', hasAlpha: meta.hasAlpha ?? false,
  };
}

const TAIL_BYTES = 64;

/** Files up to this size are read whole when probed, so plain JPEGs and PNGs need no sharp call. */
const QUICK_PROBE_BYTES = 1 << 20;

/** Throws when a JPEG or PNG lacks its end marker (FF D9, or the IEND chunk) in `tail`: a cut-off file. */
function checkComplete(tail: Uint8Array, format: string, file: string): void {
  if (format !== 'jpeg' && format !== 'png') return;
  const end = Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength);
  const complete = format === 'jpeg' ? end.includes(Buffer.from([0xff, 0xd9])) : end.includes(Buffer.from('IEND'));
  if (!complete) throw new BadImageError(file, `truncated ${format === 'jpeg' ? 'JPEG' : 'PNG'} (file ends before the image data does)`);
}

/** Fast validation at dataset creation: file checks, the header, and (for JPEG/PNG) whether the file is cut short. */
export async function probeImage(file: string, maxPixels = DEFAULT_MAX_PIXELS): Promise<ImageHeader> {
  const size = await checkFile(file);
  if (size <= QUICK_PROBE_BYTES) {
    // NOTE: a small file is read whole (about 10 us) and plain JPEGs and PNGs are checked without sharp, whose
    // metadata call costs a thread hand-off: most of the time of scanning thousands of small images.
    const bytes = await readImageFile(file);
    const quick = fastHeader(bytes, file, maxPixels);
    if (quick) {
      checkComplete(bytes.subarray(Math.max(0, bytes.length - TAIL_BYTES)), quick.format, file);
      return quick;
    }
  }
  const header = await readHeader(file, file, maxPixels);
  if (header.format === 'jpeg' || header.format === 'png') {
    const tail = Buffer.alloc(Math.min(TAIL_BYTES, size));
    const handle = await open(file, 'r');
    try { await handle.read(tail, 0, tail.length, size - tail.length); } finally { await handle.close(); }
    checkComplete(tail, header.format, file);
  }
  return header;
}

/** A sharp pipeline on an image buffer with EXIF orientation applied; add geometry, then call {@link finishPixels}. */
export function orientedPipeline(input: Buffer, maxPixels: number): sharp.Sharp {
  // NOTE: failOn 'truncated' makes a cut-off JPEG an error instead of silently grey-filled pixels.
  return sharp(input, { limitInputPixels: maxPixels, failOn: 'truncated', pages: 1 }).autoOrient();
}

/**
 * Adds channel conversion (alpha, grey/CMYK/16-bit to 8-bit grey or sRGB) and returns raw HWC pixels.
 * With the header, conversions the image does not need are left out (each costs a pass over the pixels).
 */
export async function finishPixels(pipeline: sharp.Sharp, file: string, options: ResolvedDecodeOptions, header?: ImageHeader): Promise<DecodedImage> {
  let out = pipeline;
  if (!header || header.hasAlpha) {
    const [r, g, b] = options.background;
    out = options.alpha === 'flatten' ? out.flatten({ background: { r, g, b } }) : out.removeAlpha();
  }
  const colour = header ? header.channels - (header.hasAlpha ? 1 : 0) : 0;
  // NOTE: sharp writes sRGB unless told otherwise, so grey output always needs the explicit conversion.
  const plain = options.channels === 3 && header?.depth === 'uchar' && header.space === 'srgb' && colour === 3;
  if (!plain) out = out.toColourspace(options.channels === 1 ? 'b-w' : 'srgb');
  let result: { data: Buffer; info: sharp.OutputInfo };
  try {
    result = await out.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new BadImageError(file, describeImageError(error, header?.format));
  }
  const { data, info } = result;
  if (info.channels !== options.channels) throw new BadImageError(file, `decoded to ${info.channels} channels, expected ${options.channels}`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels };
}

/** Decodes a whole image file's bytes: plain JPEGs and PNGs by the fast decoders, everything else with sharp. */
export async function decodeImageBuffer(buffer: Buffer, file: string, options: ResolvedDecodeOptions): Promise<DecodedImage> {
  const image = fastImage(buffer, file, options)?.decode(null);
  if (image) return image;
  return finishPixels(orientedPipeline(buffer, options.maxPixels), file, options, await readHeader(buffer, file, options.maxPixels));
}

/** Decodes a whole file to HWC uint8 pixels with orientation and channel conversion applied. */
export async function decodeImage(file: string, options: DecodeOptions = {}): Promise<DecodedImage> {
  return decodeImageBuffer(await readImageFile(file), file, resolveDecodeOptions(options));
}

/** Reorders interleaved HWC pixels into planar CHW. */
export function hwcToChw(image: DecodedImage): Uint8Array {
  const { data, width, height, channels } = image;
  if (channels === 1) return data.slice();
  const plane = width * height;
  const out = new Uint8Array(plane * channels);
  for (let c = 0; c < channels; c++) {
    for (let i = 0, j = c; i < plane; i++, j += channels) out[c * plane + i] = data[j];
  }
  return out;
}
