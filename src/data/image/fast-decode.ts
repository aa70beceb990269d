/**
 * The loader's fast decoders behind one interface: plain JPEGs (libjpeg-turbo, decoding only the crop) and plain PNGs
 * (pngjs), both resized by native/image.cc. A file neither takes, or one they give up on, goes through sharp.
 */
import { type DecodedImage, type ImageHeader, type ResolvedDecodeOptions } from './decode.js';
import { type FastJpegRequest, decodeJpegFast, fastJpegHeader } from './native-jpeg.js';
import { decodePngFast, fastPngHeader } from './native-png.js';

/** A crop of the (unrotated) image, resized to the output size, maybe flipped. */
export type FastRequest = FastJpegRequest;

/** An image a fast decoder accepted: its format and stored size, and the decode (null: give up, use sharp). */
export interface FastImage {
  format: 'jpeg' | 'png';
  width: number;
  height: number;
  /** Grey samples (decoding to 3 channels repeats them). */
  grey: boolean;
  /** Decodes `request` (null: the whole image at its size), or null when sharp must take over. */
  decode(request: FastRequest | null): DecodedImage | null;
}

/** The fast decoder for these bytes, or null when the file needs sharp; a file over the pixel limit is an error. */
export function fastImage(bytes: Uint8Array, file: string, options: ResolvedDecodeOptions): FastImage | null {
  const jpeg = fastJpegHeader(bytes, file, options.maxPixels);
  if (jpeg) return { format: 'jpeg', width: jpeg.width, height: jpeg.height, grey: jpeg.grey ?? false, decode: (request) => decodeJpegFast(bytes, file, options, jpeg, request) };
  const png = fastPngHeader(bytes, file, options);
  if (png) return { format: 'png', ...png, decode: (request) => decodePngFast(bytes, options, png, request) };
  return null;
}

/**
 * The header sharp's metadata would give for a file the fast decoders take, without a sharp call (they cost a thread
 * hand-off each, which dominates scanning a folder of small images); null for the others.
 */
export function fastHeader(bytes: Uint8Array, file: string, maxPixels: number): ImageHeader | null {
  // NOTE: asking for 3 channels, every plain grey or colour file qualifies.
  const image = fastImage(bytes, file, { channels: 3, alpha: 'flatten', background: [255, 255, 255], maxPixels });
  if (!image) return null;
  const { format, width, height, grey } = image;
  return { format, width, height, channels: grey ? 1 : 3, space: grey ? 'b-w' : 'srgb', depth: 'uchar', hasAlpha: false };
}
