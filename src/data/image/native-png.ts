/**
 * The loader's PNG fast path: small plain PNGs (8-bit grey, RGB or palette, not interlaced, opaque, no ICC profile) are
 * inflated by Node's zlib and unfiltered here, in the calling thread; native/image.cc's antialiased triangle filter
 * (PIL's bilinear, as for JPEGs) crops, resizes and flips. Anything else returns null and goes through sharp, which
 * also owns every error message.
 */
import { inflateSync } from 'node:zlib';
import { tooLarge } from './bad-image.js';
import { type DecodedImage, type ResolvedDecodeOptions } from './decode.js';
import { type FastJpegRequest, imageAddon } from './native-jpeg.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const GREY = 0; const RGB = 2; const PALETTE = 3;
/**
 * Largest image (pixels) the PNG fast path takes. NOTE: for small images a sharp call's fixed cost (thread hand-offs,
 * pipeline set-up, about 0.5-1 ms) dominates; above about 256x256 libspng's SIMD unfiltering in sharp wins instead
 * (a 600x400 RGB PNG: 9.5 ms CPU here, 6.2 ms in sharp).
 */
export const FAST_PNG_MAX_PIXELS = 256 * 256;

const IDAT = 0x49444154; const PLTE = 0x504c5445; const TRNS = 0x74524e53; const ICCP = 0x69434350; const IEND = 0x49454e44;

/** What the chunk scan learns about a PNG the fast path can take. */
export interface PngSize {
  width: number;
  height: number;
  /** Grey samples (colour type 0), as opposed to RGB or a palette. */
  grey: boolean;
}

interface PngLayout extends PngSize {
  colourType: number;
  /** RGB triples of a palette image. */
  palette: Uint8Array | null;
  /** The compressed image data, in order. */
  idat: Uint8Array[];
}

/** True when the bytes start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length > 33 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Walks the chunks; null for anything this path leaves to sharp. CRCs are not checked: zlib's own checksum covers the data. */
function layout(bytes: Uint8Array): PngLayout | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(12) !== 0x49484452) return null; // NOTE: 'IHDR' must come first.
  const width = view.getUint32(16); const height = view.getUint32(20);
  const depth = bytes[24]; const colourType = bytes[25]; const interlace = bytes[28];
  if (width === 0 || height === 0 || depth !== 8 || interlace !== 0 || bytes[26] !== 0 || bytes[27] !== 0) return null;
  if (colourType !== GREY && colourType !== RGB && colourType !== PALETTE) return null;
  let palette: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  for (let at = 33; at + 12 <= bytes.length;) {
    const length = view.getUint32(at); const type = view.getUint32(at + 4);
    const body = bytes.subarray(at + 8, at + 8 + length);
    if (body.length < length) return null;
    // NOTE: sharp flattens transparency (tRNS) and converts an ICC profile (iCCP) to sRGB, so those go to sharp;
    // it ignores gAMA, cHRM and sRGB, and so does this path.
    if (type === TRNS || type === ICCP) return null;
    if (type === PLTE) palette = body;
    else if (type === IDAT) idat.push(body);
    else if (type === IEND) break;
    at += 12 + length;
  }
  if (idat.length === 0 || (colourType === PALETTE && !palette)) return null;
  return { width, height, grey: colourType === GREY, colourType, palette, idat };
}

/**
 * Size of a PNG the fast path can decode to `options.channels`, or null when it must go through sharp (larger than
 * FAST_PNG_MAX_PIXELS, alpha or a tRNS transparency, other bit depths, interlacing, an ICC profile, colour to grey);
 * over `maxPixels` is an error.
 */
export function fastPngHeader(bytes: Uint8Array, file: string, options: ResolvedDecodeOptions, sizeLimit = FAST_PNG_MAX_PIXELS): PngSize | null {
  if (!imageAddon() || !isPng(bytes)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16); const height = view.getUint32(20);
  if (width * height > options.maxPixels) throw tooLarge(file, width, height, options.maxPixels);
  if (width * height > sizeLimit) return null;
  const found = layout(bytes);
  // NOTE: grey output from colour samples needs sharp's luminance formula; such images are rare in a grey dataset.
  if (!found || (options.channels === 1 && !found.grey)) return null;
  return { width: found.width, height: found.height, grey: found.grey };
}

/** Reverses PNG's per-row filters (none, sub, up, average, Paeth) into `out`; false for an unknown filter. */
function unfilter(raw: Uint8Array, out: Uint8Array, stride: number, height: number, bpp: number): boolean {
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1; const row = y * stride; const up = row - stride;
    if (filter > 4) return false;
    for (let x = 0; x < stride; x++) {
      const left = x >= bpp ? out[row + x - bpp] : 0;
      const above = y > 0 ? out[up + x] : 0;
      let value = raw[src + x];
      if (filter === 1) value += left;
      else if (filter === 2) value += above;
      else if (filter === 3) value += (left + above) >> 1;
      else if (filter === 4) {
        const corner = x >= bpp && y > 0 ? out[up + x - bpp] : 0;
        const p = left + above - corner;
        const pa = Math.abs(p - left); const pb = Math.abs(p - above); const pc = Math.abs(p - corner);
        value += pa <= pb && pa <= pc ? left : pb <= pc ? above : corner;
      }
      out[row + x] = value;
    }
  }
  return true;
}

/** Samples as `channels` interleaved channels: grey repeated into RGB, palette indices looked up. */
function toChannels(samples: Uint8Array, png: PngLayout, channels: number): Uint8Array | null {
  if (png.colourType === PALETTE) {
    const palette = png.palette!;
    const out = new Uint8Array(samples.length * 3);
    for (let i = 0, k = 0; i < samples.length; i++, k += 3) {
      const at = samples[i] * 3;
      if (at + 2 >= palette.length) return null;
      out[k] = palette[at]; out[k + 1] = palette[at + 1]; out[k + 2] = palette[at + 2];
    }
    return out;
  }
  if (png.colourType === GREY && channels === 3) {
    const out = new Uint8Array(samples.length * 3);
    for (let i = 0, k = 0; i < samples.length; i++, k += 3) out[k] = out[k + 1] = out[k + 2] = samples[i];
    return out;
  }
  return samples;
}

/**
 * Decodes a PNG that {@link fastPngHeader} accepted and applies `request` (crop, resize, flips; null: the whole image).
 * Null when the data does not inflate or unfilter cleanly: the caller retries with sharp, which reports the problem.
 */
export function decodePngFast(bytes: Uint8Array, options: ResolvedDecodeOptions, header: PngSize, request: FastJpegRequest | null): DecodedImage | null {
  const addon = imageAddon();
  const png = layout(bytes);
  if (!addon || !png || png.width !== header.width || png.height !== header.height) return null;
  const bpp = png.colourType === RGB ? 3 : 1;
  const stride = png.width * bpp;
  // NOTE: written by hand for speed: for a 20x20 grey PNG this costs about 170k instructions (read included), pngjs
  // about 530k and PIL's open + convert + resize about 410k (valgrind, issue 14); a sharp call is several times more.
  let raw: Buffer;
  try {
    raw = inflateSync(png.idat.length === 1 ? png.idat[0] : Buffer.concat(png.idat));
  } catch {
    return null;
  }
  if (raw.length < (stride + 1) * png.height) return null;
  const samples = new Uint8Array(stride * png.height);
  if (!unfilter(raw, samples, stride, png.height, bpp)) return null;
  const { channels } = options;
  const data = toChannels(samples, png, channels);
  if (!data) return null;
  if (!request) return { data, width: png.width, height: png.height, channels };
  const { crop, outWidth, outHeight, flipHorizontal, flipVertical } = request;
  const whole = crop.left === 0 && crop.top === 0 && crop.width === png.width && crop.height === png.height;
  if (whole && outWidth === png.width && outHeight === png.height && !flipHorizontal && !flipVertical) return { data, width: outWidth, height: outHeight, channels };
  // NOTE: the crop is a box of the whole image, exactly as the sharp path resizes (pipeline.ts), so a PNG gives the
  // same sample whichever path decodes it.
  const resized = addon.resize(data, png.width, png.height, channels, crop.left, crop.top, crop.left + crop.width, crop.top + crop.height,
    outWidth, outHeight, flipHorizontal, flipVertical);
  return { data: resized, width: outWidth, height: outHeight, channels };
}
