import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { decodeImage, hwcToChw, probeImage } from '../../../src/data/image/index.js';
import { fromRaw, pattern, samplePhotos, tempDir, writeFile } from './fixtures.js';

const dir = tempDir();
const W = 12; const H = 8;
const upright = pattern(W, H);

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length, 'same number of values');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('lossless formats decode to the exact pixels (PNG, WebP lossless, TIFF, GIF first frame)', async () => {
  for (const [ext, encode] of [
    ['png', (s: sharp.Sharp) => s.png()], ['webp', (s: sharp.Sharp) => s.webp({ lossless: true })], ['tif', (s: sharp.Sharp) => s.tiff({ compression: 'lzw' })],
  ] as const) {
    const file = writeFile(join(dir, `p.${ext}`), await encode(fromRaw(upright, W, H)).toBuffer());
    const image = await decodeImage(file);
    assert.deepEqual([image.width, image.height, image.channels], [W, H, 3], ext);
    assert.equal(maxDiff(image.data, upright), 0, `${ext} pixels`);
  }
  // NOTE: GIF is palette-based; a four-colour image survives exactly. Two frames: only the first is read.
  const red = Buffer.alloc(4 * 4 * 4); const blue = Buffer.alloc(4 * 4 * 4);
  for (let i = 0; i < 16; i++) { red.set([255, 0, 0, 255], i * 4); blue.set([0, 0, 255, 255], i * 4); }
  const gif = await sharp(Buffer.concat([red, blue]), { raw: { width: 4, height: 8, channels: 4, pageHeight: 4 } }).gif().toBuffer();
  assert.equal((await sharp(gif).metadata()).pages, 2);
  const frame = await decodeImage(writeFile(join(dir, 'two.gif'), gif));
  assert.deepEqual([frame.width, frame.height], [4, 4]);
  assert.deepEqual([...frame.data.subarray(0, 3)], [255, 0, 0]);
});

test('JPEG decodes close to the source pixels', async () => {
  const smooth = pattern(64, 48);
  const file = writeFile(join(dir, 'p.jpg'), await fromRaw(smooth, 64, 48).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer());
  const image = await decodeImage(file);
  assert.ok(maxDiff(image.data, smooth) <= 8, `JPEG q100 within 8 levels, got ${maxDiff(image.data, smooth)}`);
});

test('EXIF orientation is applied: a rotated file with orientation 6 or 8 equals the upright image', async () => {
  for (const [orientation, turn] of [[6, 270], [8, 90], [3, 180]] as const) {
    // NOTE: the stored pixels are turned the other way; the tag tells a viewer how to turn them back.
    const stored = await fromRaw(upright, W, H).rotate(turn).tiff({ compression: 'lzw' }).toBuffer();
    const file = writeFile(join(dir, `o${orientation}.tif`), await sharp(stored).withMetadata({ orientation }).tiff({ compression: 'lzw' }).toBuffer());
    assert.equal((await sharp(file).metadata()).orientation, orientation);
    const image = await decodeImage(file);
    assert.deepEqual([image.width, image.height], [W, H], `orientation ${orientation} size`);
    assert.equal(maxDiff(image.data, upright), 0, `orientation ${orientation} pixels`);
    assert.deepEqual(await probeImage(file).then((h) => [h.width, h.height]), [W, H]);
  }
  const jpeg = await sharp(await fromRaw(upright, W, H).rotate(270).png().toBuffer()).withMetadata({ orientation: 6 }).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
  const image = await decodeImage(writeFile(join(dir, 'o6.jpg'), jpeg));
  assert.deepEqual([image.width, image.height], [W, H]);
  assert.ok(maxDiff(image.data, upright) <= 12, `JPEG orientation 6, max diff ${maxDiff(image.data, upright)}`);
});

test('grey, RGBA, 16-bit and CMYK convert to 1 or 3 channels', async () => {
  const grey = writeFile(join(dir, 'grey.png'), await sharp(Buffer.from([0, 100, 200, 255]), { raw: { width: 2, height: 2, channels: 1 } }).toColourspace('b-w').png().toBuffer());
  assert.equal((await sharp(grey).metadata()).channels, 1);
  const g3 = await decodeImage(grey);
  assert.deepEqual([...g3.data], [0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255]);
  assert.deepEqual([...(await decodeImage(grey, { channels: 1 })).data], [0, 100, 200, 255]);

  const rgba = writeFile(join(dir, 'rgba.png'), await sharp({ create: { width: 1, height: 1, channels: 4, background: { r: 200, g: 0, b: 0, alpha: 0.5 } } }).png().toBuffer());
  const flat = await decodeImage(rgba);
  // NOTE: half-transparent red on white is (200 + 255) / 2, (0 + 255) / 2 per channel, rounded either way.
  [227.5, 127.5, 127.5].forEach((v, i) => assert.ok(Math.abs(flat.data[i] - v) <= 0.5, `flattened channel ${i}: ${flat.data[i]}`));
  assert.deepEqual([...(await decodeImage(rgba, { background: [0, 0, 0] })).data], [100, 0, 0]);
  assert.deepEqual([...(await decodeImage(rgba, { alpha: 'drop' })).data], [200, 0, 0]);

  const g16 = writeFile(join(dir, 'g16.png'), await sharp(Buffer.alloc(4, 100), { raw: { width: 2, height: 2, channels: 1 } }).toColourspace('grey16').png().toBuffer());
  assert.equal((await sharp(g16).metadata()).depth, 'ushort');
  assert.deepEqual([...(await decodeImage(g16, { channels: 1 })).data], [100, 100, 100, 100]);
  const c16 = writeFile(join(dir, 'c16.png'), await sharp({ create: { width: 2, height: 1, channels: 3, background: { r: 200, g: 50, b: 10 } } }).toColourspace('rgb16').png().toBuffer());
  assert.equal((await sharp(c16).metadata()).depth, 'ushort');
  const c8 = await decodeImage(c16);
  assert.ok(maxDiff(c8.data, Uint8Array.from([200, 50, 10, 200, 50, 10])) <= 1, `16-bit RGB to 8-bit: ${[...c8.data]}`);

  const cmyk = writeFile(join(dir, 'cmyk.jpg'), await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 200, g: 50, b: 10 } } }).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer());
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  const rgb = await decodeImage(cmyk);
  assert.equal(rgb.channels, 3);
  assert.ok(maxDiff(rgb.data.subarray(0, 3), Uint8Array.from([200, 50, 10])) <= 16, `CMYK to sRGB: ${[...rgb.data.subarray(0, 3)]}`);
  assert.equal((await decodeImage(cmyk, { channels: 1 })).channels, 1);
});

test('hwcToChw puts each channel in its own plane', () => {
  const chw = hwcToChw({ data: Uint8Array.from([1, 2, 3, 4, 5, 6]), width: 2, height: 1, channels: 3 });
  assert.deepEqual([...chw], [1, 4, 2, 5, 3, 6]);
});

test('real photos decode like PIL does', { skip: samplePhotos().length === 0 ? 'no sample photos installed (python-matplotlib-data or python3-skimage)' : false }, async () => {
  const photo = samplePhotos().find((f) => f.endsWith('.jpg')) ?? samplePhotos()[0];
  const image = await decodeImage(photo);
  const script = 'import sys; from PIL import Image; im = Image.open(sys.argv[1]).convert("RGB"); sys.stdout.write("%d %d " % im.size); sys.stdout.flush(); sys.stdout.buffer.write(im.tobytes())';
  const result = spawnSync('/usr/bin/python3', ['-c', script, photo], { maxBuffer: 1 << 28 });
  if (result.status !== 0) return;
  const text = result.stdout.subarray(0, 20).toString('latin1');
  const [w, h] = text.split(' ').map(Number);
  const header = `${w} ${h} `.length;
  const pil = new Uint8Array(result.stdout.subarray(header));
  assert.deepEqual([image.width, image.height], [w, h]);
  let sum = 0;
  for (let i = 0; i < pil.length; i++) sum += Math.abs(pil[i] - image.data[i]);
  assert.ok(sum / pil.length < 1.5, `mean absolute difference to PIL ${(sum / pil.length).toFixed(3)} levels`);
});
