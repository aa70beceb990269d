import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { test } from 'node:test';
import sharp from 'sharp';
import { type DecodedImage, decodeImage, probeImage, readHeader, resolveDecodeOptions } from '../../../src/data/image/decode.js';
import { fastHeader, fastImage } from '../../../src/data/image/fast-decode.js';
import { imageAddon } from '../../../src/data/image/native-jpeg.js';
import { FAST_PNG_MAX_PIXELS, decodePngFast, fastPngHeader } from '../../../src/data/image/native-png.js';
import { loadImageSample } from '../../../src/data/image/pipeline.js';
import { PYTHON, pythonHas } from '../../helpers/torch.js';
import { crc32, pattern, tempDir, writeFile } from './fixtures.js';

const RGB = resolveDecodeOptions({ channels: 3 });
const GREY = resolveDecodeOptions({ channels: 1 });

/** A PNG chunk: length, type, data, CRC. */
function chunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

/** An 8-bit PNG (grey or RGB) whose row y uses filter y % 5 (none, sub, up, average, Paeth), encoded here by the book. */
function everyFilterPng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Buffer {
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  const at = (x: number, y: number) => (x < 0 || y < 0 ? 0 : pixels[y * stride + x]);
  for (let y = 0; y < height; y++) {
    const filter = y % 5;
    raw[y * (stride + 1)] = filter;
    for (let x = 0; x < stride; x++) {
      const a = at(x - channels, y); const b = at(x, y - 1); const c = at(x - channels, y - 1);
      const p = a + b - c; const pa = Math.abs(p - a); const pb = Math.abs(p - b); const pc = Math.abs(p - c);
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter];
      raw[y * (stride + 1) + 1 + x] = (pixels[y * stride + x] - predictor) & 255;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = channels === 1 ? 0 : 2;
  // NOTE: the data split over two IDAT chunks, as large PNGs are.
  const data = deflateSync(raw);
  const half = data.length >> 1;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', data.subarray(0, half)), chunk('IDAT', data.subarray(half)), chunk('IEND', Buffer.alloc(0))]);
}

/** PNG variants of one 24x18 picture, by how they are stored. */
async function variants(): Promise<Record<string, Buffer>> {
  const rgb = Buffer.from(pattern(24, 18));
  const source = () => sharp(rgb, { raw: { width: 24, height: 18, channels: 3 } });
  return {
    rgb: await source().png().toBuffer(),
    photo: everyFilterPng(pattern(250, 200).map((v, i) => (v + ((i * 2654435761) >>> 27)) & 255), 250, 200, 3),
    greyFilters: everyFilterPng(pattern(24, 18).filter((_, i) => i % 3 === 1), 24, 18, 1),
    grey: await source().toColourspace('b-w').png().toBuffer(),
    palette8: await source().png({ palette: true, colours: 200 }).toBuffer(),
    palette4: await source().png({ palette: true, colours: 16 }).toBuffer(),
    interlaced: await source().png({ progressive: true }).toBuffer(),
    rgba: await source().ensureAlpha(0.5).png().toBuffer(),
    sixteen: await source().toColourspace('rgb16').png().toBuffer(),
    profile: await source().withIccProfile('p3').png().toBuffer(),
  };
}

test('plain PNGs take the fast path and decode to exactly sharp\'s pixels; alpha, 16-bit, 4-bit, interlaced and ICC-profiled ones go to sharp', async () => {
  const all = await variants();
  const fast = ['rgb', 'photo', 'grey', 'greyFilters', 'palette8'];
  for (const [name, bytes] of Object.entries(all)) {
    const header = fastPngHeader(bytes, `${name}.png`, RGB);
    assert.equal(header !== null, fast.includes(name), `${name}: ${JSON.stringify(header)}`);
    if (!header) continue;
    const [width, height] = name === 'photo' ? [250, 200] : [24, 18];
    assert.deepEqual([header.width, header.height, header.grey], [width, height, name.startsWith('grey')]);
    for (const options of header.grey ? [RGB, GREY] : [RGB]) {
      const ours: DecodedImage = decodePngFast(bytes, options, header, null)!;
      const reference = await sharp(bytes).toColourspace(options.channels === 1 ? 'b-w' : 'srgb').raw().toBuffer();
      assert.deepEqual([ours.width, ours.height, ours.channels], [width, height, options.channels]);
      assert.ok(Buffer.from(ours.data).equals(reference), `${name} to ${options.channels} channel(s) differs from sharp`);
    }
  }
  assert.equal(fastPngHeader(all.rgb, 'rgb.png', GREY), null, 'colour to grey is sharp\'s formula');
  assert.throws(() => fastPngHeader(all.rgb, 'big.png', resolveDecodeOptions({ maxPixels: 100 })), /big\.png: image too large: 24x18/);
  // decodeImage, the public entry, gives the same pixels whichever path it takes
  const dir = tempDir();
  for (const name of ['rgb', 'rgba', 'profile', 'palette4', 'interlaced']) {
    const file = writeFile(join(dir, `${name}.png`), all[name]);
    const reference = await sharp(all[name]).flatten({ background: '#ffffff' }).toColourspace('srgb').raw().toBuffer();
    assert.ok(Buffer.from((await decodeImage(file)).data).equals(reference), name);
  }
});

const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data';

test('scikit-image\'s sample PNGs that the fast path takes (up to its size limit) decode to exactly sharp\'s pixels', { skip: existsSync(SKIMAGE) ? undefined : `${SKIMAGE} missing (apt-get install python3-skimage)` }, async () => {
  const taken: string[] = [];
  for (const name of readdirSync(SKIMAGE).filter((f) => f.endsWith('.png')).sort()) {
    const bytes = readFileSync(join(SKIMAGE, name));
    // NOTE: the size limit is lifted here so that large, varied real files test the decoder itself.
    const header = fastPngHeader(bytes, name, RGB, Infinity);
    if (!header) continue;
    for (const options of header.grey ? [RGB, GREY] : [RGB]) {
      const ours = decodePngFast(bytes, options, header, null)!;
      assert.ok(ours, name);
      assert.ok(Buffer.from(ours.data).equals(await sharp(bytes).toColourspace(options.channels === 1 ? 'b-w' : 'srgb').raw().toBuffer()), `${name}, ${options.channels} channel(s)`);
    }
    taken.push(name);
  }
  assert.ok(taken.length >= 10, `taken: ${taken.join(', ')}`);
  assert.ok(taken.includes('palette_color.png') && taken.includes('camera.png') && taken.includes('coffee.png'), taken.join(', '));
  assert.equal(fastPngHeader(readFileSync(join(SKIMAGE, 'coffee.png')), 'coffee.png', RGB), null, `600x400 is over FAST_PNG_MAX_PIXELS (${FAST_PNG_MAX_PIXELS})`);
});

test('a PNG whose data does not inflate or unfilter is left to sharp, which names the problem', async () => {
  const dir = tempDir();
  const bytes = (await variants()).photo;
  const cut = writeFile(join(dir, 'cut.png'), bytes.subarray(0, Math.floor(bytes.length / 2)));
  assert.equal(fastImage(readFileSync(cut), cut, RGB), null, 'the image data ends inside a chunk');
  await assert.rejects(loadImageSample(cut, { size: 8 }, RGB, { seed: 0, epoch: 0, index: 0 }), /cut\.png: /);
  const garbled = Buffer.from(bytes);
  const idat = garbled.indexOf('IDAT');
  garbled.fill(0x55, idat + 40, idat + 400);
  const file = writeFile(join(dir, 'garbled.png'), garbled);
  const image = fastImage(garbled, file, RGB);
  assert.ok(image, 'the chunks are intact');
  assert.equal(image.decode(null), null, 'zlib refuses the data');
  await assert.rejects(loadImageSample(file, { size: 8 }, RGB, { seed: 0, epoch: 0, index: 0 }), /garbled\.png: /);
});

test('crop + resize + flip of a PNG: the same pixels as the sharp path, and PIL bilinear (resize with a box) within 1', { skip: pythonHas('PIL') ? undefined : `PIL not found (${PYTHON} -c "import PIL")` }, async () => {
  const dir = tempDir();
  const file = writeFile(join(dir, 'small.png'), await sharp(Buffer.from(pattern(20, 20)), { raw: { width: 20, height: 20, channels: 3 } }).png().toBuffer());
  const crop = { left: 2, top: 3, width: 15, height: 14 };
  execFileSync(PYTHON, ['-c', `
from PIL import Image
image = Image.open('${file}').convert('RGB')
open('${dir}/up.bin', 'wb').write(image.resize((64, 60), Image.BILINEAR, box=(2, 3, 17, 17)).transpose(Image.FLIP_LEFT_RIGHT).tobytes())
open('${dir}/down.bin', 'wb').write(image.resize((7, 6), Image.BILINEAR, box=(2, 3, 17, 17)).tobytes())
`]);
  const bytes = readFileSync(file);
  const header = fastPngHeader(bytes, file, RGB)!;
  const full = await sharp(bytes).raw().toBuffer();
  for (const [name, outWidth, outHeight, flipHorizontal] of [['up', 64, 60, true], ['down', 7, 6, false]] as const) {
    const ours = decodePngFast(bytes, RGB, header, { crop, outWidth, outHeight, flipHorizontal, flipVertical: false })!;
    // NOTE: what pipeline.ts's sharp path does with the same plan: sharp decodes, the native filter resizes the box.
    const viaSharp = imageAddon()!.resize(full, 20, 20, 3, 2, 3, 17, 17, outWidth, outHeight, flipHorizontal, false);
    assert.ok(Buffer.from(ours.data).equals(Buffer.from(viaSharp)), `${name}: the fast path and the sharp path differ`);
    const reference = readFileSync(join(dir, `${name}.bin`));
    let max = 0;
    for (let i = 0; i < reference.length; i++) max = Math.max(max, Math.abs(ours.data[i] - reference[i]));
    assert.ok(max <= 1, `${name}: max difference ${max} from PIL`);
  }
});

test('probeImage reads plain JPEG and PNG headers without sharp, giving what sharp\'s metadata gives; a PNG without IEND is truncated', async () => {
  const dir = tempDir();
  const all = await variants();
  const grey = sharp(Buffer.from(pattern(24, 18)), { raw: { width: 24, height: 18, channels: 3 } }).toColourspace('b-w');
  const files = {
    rgb: writeFile(join(dir, 'rgb.png'), all.rgb), grey: writeFile(join(dir, 'grey.png'), all.grey), palette: writeFile(join(dir, 'palette.png'), all.palette8),
    jpeg: writeFile(join(dir, 'photo.jpg'), await sharp(all.rgb).jpeg().toBuffer()), greyJpeg: writeFile(join(dir, 'grey.jpg'), await grey.jpeg().toBuffer()),
  };
  for (const [name, file] of Object.entries(files)) {
    assert.ok(fastHeader(readFileSync(file), file, RGB.maxPixels), `${name} takes the quick path`);
    assert.deepEqual(await probeImage(file), await readHeader(file, file), name);
  }
  const cut = writeFile(join(dir, 'cut.png'), all.rgb.subarray(0, all.rgb.length - 12));
  await assert.rejects(probeImage(cut), { message: `${cut}: truncated PNG (file ends before the image data does)` });
});
