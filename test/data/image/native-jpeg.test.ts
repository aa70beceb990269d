import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { BadImageError } from '../../../src/data/image/bad-image.js';
import { resolveDecodeOptions } from '../../../src/data/image/decode.js';
import { dctScaleDenominator, decodeJpegFast, fastJpegHeader, imageAddon, jpegOrientation } from '../../../src/data/image/native-jpeg.js';
import { loadImageSample } from '../../../src/data/image/pipeline.js';
import { PYTHON, pythonHas } from '../../helpers/torch.js';
import { pattern, samplePhotos, tempDir, truncatedJpeg, writeFile } from './fixtures.js';

const addon = imageAddon()!;
const RGB = resolveDecodeOptions({ channels: 3 });
const GREY = resolveDecodeOptions({ channels: 1 });
const PHOTO = { width: 300, height: 240 };

/** A 300x240 photo-like JPEG (4:2:0 chroma, quality 90): a real photo when one is installed, else a pattern. */
async function photoJpeg(): Promise<Buffer> {
  const photo = samplePhotos()[0];
  const source = photo ? sharp(photo).removeAlpha() : sharp(Buffer.from(pattern(300, 240)), { raw: { width: 300, height: 240, channels: 3 } });
  return source.resize(300, 240, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
}

function difference(a: Uint8Array, b: Uint8Array): { max: number; mean: number } {
  assert.equal(a.length, b.length);
  let max = 0; let sum = 0;
  for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i] - b[i]); max = Math.max(max, d); sum += d; }
  return { max, mean: sum / a.length };
}

test('the image addon is built and reports libjpeg-turbo', () => {
  assert.ok(addon, 'build/Release/kestrel_image.node is missing');
  assert.ok(addon.libjpegVersion >= 62);
});

test('decoding a crop gives exactly the pixels of a full decode, RGB and grey, at every edge', async () => {
  const jpeg = await photoJpeg();
  for (const channels of [3, 1]) {
    const full = addon.decodeJpeg(jpeg, channels, 1, 0, 0, 300, 240);
    assert.equal(full.data.length, 300 * 240 * channels);
    for (const [left, top, width, height] of [[17, 33, 101, 77], [0, 0, 300, 240], [150, 100, 150, 140], [5, 200, 31, 40], [299, 239, 1, 1], [0, 17, 300, 9]]) {
      const region = addon.decodeJpeg(jpeg, channels, 1, left, top, width, height);
      assert.deepEqual([region.width, region.height], [width, height]);
      const expected = new Uint8Array(width * height * channels);
      for (let y = 0; y < height; y++) expected.set(full.data.subarray(((top + y) * 300 + left) * channels, ((top + y) * 300 + left + width) * channels), y * width * channels);
      assert.equal(difference(region.data, expected).max, 0, `crop ${width}x${height}+${left}+${top}, ${channels} channels`);
    }
  }
});

test('JPEG decoding is bit-identical to PIL, and crop + resize matches PIL bilinear within 1', { skip: pythonHas('PIL') ? undefined : `PIL not found (${PYTHON} -c "import PIL")` }, async () => {
  const dir = tempDir();
  const jpeg = await photoJpeg();
  const file = writeFile(join(dir, 'photo.jpg'), jpeg);
  const crop = { left: 17, top: 33, width: 181, height: 150 };
  execFileSync(PYTHON, ['-c', `
from PIL import Image
image = Image.open('${file}').convert('RGB')
open('${dir}/full.bin', 'wb').write(image.tobytes())
part = image.crop((17, 33, 17 + 181, 33 + 150))
open('${dir}/down.bin', 'wb').write(part.resize((96, 80), Image.BILINEAR).tobytes())
open('${dir}/up.bin', 'wb').write(part.resize((250, 211), Image.BILINEAR).tobytes())
open('${dir}/flip.bin', 'wb').write(part.resize((120, 100), Image.BILINEAR).transpose(Image.FLIP_LEFT_RIGHT).tobytes())
`]);
  assert.equal(difference(addon.decodeJpeg(jpeg, 3, 1, 0, 0, 300, 240).data, readFileSync(join(dir, 'full.bin'))).max, 0);
  for (const [name, outWidth, outHeight, flipHorizontal] of [['down', 96, 80, false], ['up', 250, 211, false], ['flip', 120, 100, true]] as const) {
    const ours = decodeJpegFast(jpeg, file, RGB, PHOTO, { crop, outWidth, outHeight, flipHorizontal, flipVertical: false })!;
    const diff = difference(ours.data, readFileSync(join(dir, `${name}.bin`)));
    assert.ok(diff.max <= 1 && diff.mean < 0.02, `${name}: ${JSON.stringify(diff)}`);
  }
});

test('a large crop is decoded at a reduced DCT scale and stays close to a full-resolution resize', async () => {
  assert.equal(dctScaleDenominator({ left: 0, top: 0, width: 256, height: 256 }, 224, 224), 1);
  assert.equal(dctScaleDenominator({ left: 0, top: 0, width: 1000, height: 900 }, 224, 224), 4);
  assert.equal(dctScaleDenominator({ left: 0, top: 0, width: 4000, height: 4000 }, 32, 32), 8);
  const jpeg = await sharp(await photoJpeg()).resize(1200, 960).jpeg({ quality: 90 }).toBuffer();
  const crop = { left: 101, top: 77, width: 901, height: 803 };
  const request = { crop, outWidth: 200, outHeight: 178, flipHorizontal: false, flipVertical: false };
  const fast = decodeJpegFast(jpeg, 'big.jpg', RGB, { width: 1200, height: 960 }, request)!;
  const region = addon.decodeJpeg(jpeg, 3, 1, crop.left, crop.top, crop.width, crop.height);
  const reference = addon.resize(region.data, crop.width, crop.height, 3, 0, 0, crop.width, crop.height, 200, 178, false, false);
  const diff = difference(fast.data, reference);
  assert.ok(diff.mean < 1.5, `DCT 1/4 vs full decode: ${JSON.stringify(diff)}`);
});

test('grey output, vertical flips and the no-transform decode', async () => {
  const jpeg = await photoJpeg();
  const crop = { left: 0, top: 0, width: 300, height: 240 };
  const grey = decodeJpegFast(jpeg, 'p.jpg', GREY, PHOTO, { crop, outWidth: 30, outHeight: 24, flipHorizontal: false, flipVertical: false })!;
  const flipped = decodeJpegFast(jpeg, 'p.jpg', GREY, PHOTO, { crop, outWidth: 30, outHeight: 24, flipHorizontal: false, flipVertical: true })!;
  assert.equal(grey.channels, 1);
  for (let y = 0; y < 24; y++) assert.deepEqual(flipped.data.subarray(y * 30, y * 30 + 30), grey.data.subarray((23 - y) * 30, (23 - y) * 30 + 30));
  const whole = decodeJpegFast(jpeg, 'p.jpg', RGB, PHOTO, null)!;
  assert.deepEqual([whole.width, whole.height, whole.channels], [300, 240, 3]);
  // NOTE: against sharp's own decoder (another libjpeg build, other upsampling): the same picture, not the same bytes.
  const bySharp = await sharp(jpeg).raw().toBuffer();
  assert.ok(difference(whole.data, bySharp).mean < 2);
});

test('EXIF-rotated and CMYK JPEGs go through sharp, which applies the rotation', async () => {
  const dir = tempDir();
  const plain = await sharp(Buffer.from(pattern(40, 20)), { raw: { width: 40, height: 20, channels: 3 } }).jpeg().toBuffer();
  const rotated = writeFile(join(dir, 'rotated.jpg'), await sharp(plain).withMetadata({ orientation: 6 }).jpeg().toBuffer());
  const cmyk = writeFile(join(dir, 'cmyk.jpg'), await sharp(plain).toColourspace('cmyk').jpeg().toBuffer());
  assert.equal(jpegOrientation(plain), 1);
  assert.equal(jpegOrientation(readFileSync(rotated)), 6);
  assert.equal(fastJpegHeader(readFileSync(rotated), rotated, RGB.maxPixels), null);
  assert.equal(fastJpegHeader(readFileSync(cmyk), cmyk, RGB.maxPixels), null);
  assert.deepEqual(fastJpegHeader(plain, 'plain.jpg', RGB.maxPixels), { width: 40, height: 20, grey: false });
  const turned = await loadImageSample(rotated, null, RGB, { seed: 0, epoch: 0, index: 0 });
  assert.deepEqual([turned.width, turned.height], [20, 40], 'orientation 6 is a quarter turn');
  const fromCmyk = await loadImageSample(cmyk, { size: 10 }, RGB, { seed: 0, epoch: 0, index: 0 });
  assert.deepEqual([fromCmyk.width, fromCmyk.height, fromCmyk.channels], [10, 10, 3]);
});

test('a cut-off JPEG is refused even when the crop misses the lost rows; garbage gets libjpeg\'s message', async () => {
  const dir = tempDir();
  const file = await truncatedJpeg(join(dir, 'cut.jpg'), 1500);
  const bytes = readFileSync(file);
  assert.ok(fastJpegHeader(bytes, file, RGB.maxPixels), 'the header is intact');
  const topRows = { crop: { left: 0, top: 0, width: 8, height: 8 }, outWidth: 8, outHeight: 8, flipHorizontal: false, flipVertical: false };
  assert.throws(() => decodeJpegFast(bytes, file, RGB, { width: 64, height: 64 }, topRows), (error: unknown) => error instanceof BadImageError && /cut\.jpg: truncated JPEG/.test(error.message));
  assert.throws(() => addon.decodeJpeg(Buffer.from('this is text'), 3, 1, 0, 0, 1, 1), /Not a JPEG file/);
  const jpeg = await photoJpeg();
  assert.throws(() => addon.decodeJpeg(jpeg, 3, 1, 290, 0, 20, 10), /crop 20x10\+290\+0 is outside the 300x240 image/);
  assert.throws(() => addon.decodeJpeg(jpeg, 3, 3, 0, 0, 1, 1), /scaleDenom must be 1, 2, 4 or 8/);
  assert.throws(() => addon.resize(new Uint8Array(12), 2, 2, 3, 0, 0, 3, 2, 4, 4, false, false), /box is empty or outside the image/);
});
