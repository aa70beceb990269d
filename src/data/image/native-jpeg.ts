/**
 * The loader's JPEG fast path: libjpeg-turbo decodes only the rows and MCU columns of the crop, at a reduced DCT
 * scale when the crop is at least twice the output, and an antialiased triangle filter (PIL's bilinear) resizes it,
 * both in native/image.cc. Anything unusual (EXIF rotation, CMYK, letterboxing, another kernel, a corrupt file)
 * returns null and goes through sharp, which also owns every error message.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { addonPath } from '../../tensor/addon-path.js';
import { BadImageError, tooLarge } from './bad-image.js';
import { type DecodedImage, type ResolvedDecodeOptions } from './decode.js';
import { type CropRect } from './transforms.js';

/** Raw functions of native/image.cc. */
export interface ImageBinding {
  jpegHeader(bytes: Uint8Array): { width: number; height: number; components: number; colourSpace: string };
  decodeJpeg(bytes: Uint8Array, channels: number, scaleDenom: number, left: number, top: number, width: number, height: number):
    { data: Uint8Array; width: number; height: number; fullWidth: number; fullHeight: number; warning?: string };
  resize(data: Uint8Array, width: number, height: number, channels: number, x0: number, y0: number, x1: number, y1: number,
    outWidth: number, outHeight: number, flipHorizontal: boolean, flipVertical: boolean): Uint8Array;
  libjpegVersion: number;
}

let binding: ImageBinding | null | undefined;

/**
 * The image addon, or null when it is not built or `KESTREL_FAST_DECODE=0` (or its older name `KESTREL_FAST_JPEG=0`)
 * turns the fast JPEG and PNG paths off, so that sharp decodes everything.
 */
export function imageAddon(): ImageBinding | null {
  if (binding !== undefined) return binding;
  const path = addonPath('kestrel_image');
  const off = process.env.KESTREL_FAST_DECODE === '0' || process.env.KESTREL_FAST_JPEG === '0';
  binding = off || !existsSync(path) ? null : createRequire(import.meta.url)(path) as ImageBinding;
  return binding;
}

/** True when the bytes start like a JPEG (SOI marker followed by another marker). */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** The EXIF orientation tag (1-8) of a JPEG, 1 when it has none; scans the markers before the image data only. */
export function jpegOrientation(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1];
    if (marker === 0xda || marker === 0xd9) break; // NOTE: start of scan / end of image: no metadata after this.
    const length = view.getUint16(at + 2);
    const body = at + 4;
    if (marker === 0xe1 && length >= 16 && bytes.length >= body + 14 && view.getUint32(body) === 0x45786966 && view.getUint16(body + 4) === 0) {
      const tiff = body + 6;
      const little = view.getUint16(tiff) === 0x4949;
      const u16 = (o: number) => view.getUint16(o, little);
      const end = Math.min(bytes.length, at + 2 + length);
      const ifd = tiff + view.getUint32(tiff + 4, little);
      if (ifd + 2 > end) return 1;
      const entries = u16(ifd);
      for (let i = 0; i < entries && ifd + 2 + 12 * (i + 1) <= end; i++) {
        const entry = ifd + 2 + 12 * i;
        if (u16(entry) === 0x0112) { const value = u16(entry + 8); return value >= 1 && value <= 8 ? value : 1; }
      }
      return 1;
    }
    at += 2 + length;
  }
  return 1;
}

/** The largest DCT scale denominator (1, 2, 4, 8) that still leaves the crop at least as large as the output. */
export function dctScaleDenominator(crop: CropRect, outWidth: number, outHeight: number): number {
  let denominator = 1;
  while (denominator < 8 && crop.width / (denominator * 2) >= outWidth && crop.height / (denominator * 2) >= outHeight) denominator *= 2;
  return denominator;
}

/** Width and height of a JPEG as stored (the fast path only takes unrotated ones). */
export interface JpegSize {
  width: number;
  height: number;
  /** One component (a grey JPEG). */
  grey?: boolean;
}

/** What the fast path is asked to do: a crop of the (unrotated) image, resized to out size, maybe flipped. */
export interface FastJpegRequest {
  crop: CropRect;
  outWidth: number;
  outHeight: number;
  flipHorizontal: boolean;
  flipVertical: boolean;
}

/** Size of a JPEG the fast path can decode, or null when it must go through sharp; over `maxPixels` is an error. */
export function fastJpegHeader(bytes: Uint8Array, file: string, maxPixels: number): JpegSize | null {
  const addon = imageAddon();
  if (!addon || !isJpeg(bytes)) return null;
  let header: ReturnType<ImageBinding['jpegHeader']>;
  try { header = addon.jpegHeader(bytes); } catch { return null; }
  // NOTE: rotated (EXIF) and CMYK/YCCK photos are rare; sharp handles them correctly.
  if (header.colourSpace === 'cmyk' || header.colourSpace === 'ycck' || header.colourSpace === 'unknown') return null;
  if (jpegOrientation(bytes) !== 1) return null;
  if (header.width * header.height > maxPixels) throw tooLarge(file, header.width, header.height, maxPixels);
  return { width: header.width, height: header.height, grey: header.colourSpace === 'grey' };
}

const TRUNCATED = /premature end/i;

function truncated(file: string): BadImageError {
  return new BadImageError(file, 'truncated JPEG (file ends before the image data does)');
}

function hasEndMarker(bytes: Uint8Array): boolean {
  for (let i = bytes.length - 2; i >= Math.max(0, bytes.length - 64); i--) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  return false;
}

/**
 * Decodes `request.crop` (null: the whole image) of a JPEG whose size `fastJpegHeader` gave, and resizes it. A cut-off
 * file is a BadImageError; null when libjpeg reports anything else (the caller retries with sharp, which decides).
 */
export function decodeJpegFast(bytes: Uint8Array, file: string, decode: ResolvedDecodeOptions, header: JpegSize, request: FastJpegRequest | null): DecodedImage | null {
  const addon = imageAddon();
  if (!addon) return null;
  const channels = decode.channels;
  // NOTE: the crop may not reach the missing rows, so a cut-off file is judged by its end marker (as probeImage does),
  // and is refused whatever this epoch's crop is.
  if (!hasEndMarker(bytes)) throw truncated(file);
  const usable = (warning: string | undefined) => {
    if (warning && TRUNCATED.test(warning)) throw truncated(file);
    return !warning;
  };
  try {
    if (!request) {
      const full = addon.decodeJpeg(bytes, channels, 1, 0, 0, header.width, header.height);
      return !usable(full.warning) ? null : { data: full.data, width: full.width, height: full.height, channels };
    }
    const { crop, outWidth, outHeight } = request;
    const denominator = dctScaleDenominator(crop, outWidth, outHeight);
    // NOTE: libjpeg's scaled size is ceil(size / denominator); the crop maps to a fractional box inside it.
    const scaledWidth = Math.ceil(header.width / denominator); const scaledHeight = Math.ceil(header.height / denominator);
    const x0 = crop.left / denominator; const x1 = Math.min(scaledWidth, (crop.left + crop.width) / denominator);
    const y0 = crop.top / denominator; const y1 = Math.min(scaledHeight, (crop.top + crop.height) / denominator);
    const left = Math.floor(x0); const top = Math.floor(y0);
    const right = Math.min(scaledWidth, Math.ceil(x1)); const bottom = Math.min(scaledHeight, Math.ceil(y1));
    const region = addon.decodeJpeg(bytes, channels, denominator, left, top, right - left, bottom - top);
    if (!usable(region.warning)) return null;
    const noResize = denominator === 1 && region.width === outWidth && region.height === outHeight && !request.flipHorizontal && !request.flipVertical;
    const data = noResize ? region.data : addon.resize(region.data, region.width, region.height, channels, x0 - left, y0 - top, x1 - left, y1 - top,
      outWidth, outHeight, request.flipHorizontal, request.flipVertical);
    return { data, width: outWidth, height: outHeight, channels };
  } catch (error) {
    if (error instanceof BadImageError) throw error;
    return null;
  }
}
