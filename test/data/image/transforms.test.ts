import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { augmentTransforms, type ImageTransforms, loadImageSample, planTransform, SampleRng } from '../../../src/data/image/index.js';
import { resolveDecodeOptions } from '../../../src/data/image/decode.js';
import { aspectCropRect, randomResizedCropRect, validateTransforms } from '../../../src/data/image/transforms.js';
import { adjustColour, homographyFromCorners, type Matrix3, warpImage } from '../../../src/data/image/warp.js';
import { fromRaw, pattern, tempDir, writeFile } from './fixtures.js';

const dir = tempDir();
const decode = resolveDecodeOptions();
const key = { seed: 1, epoch: 0, index: 0 };

async function patternFile(name: string, width: number, height: number): Promise<{ file: string; pixels: Uint8Array }> {
  const pixels = pattern(width, height);
  return { file: writeFile(join(dir, name), await fromRaw(pixels, width, height).png().toBuffer()), pixels };
}

function apply(m: Matrix3, x: number, y: number): [number, number] {
  const w = m[6] * x + m[7] * y + m[8];
  return [(m[0] * x + m[1] * y + m[2]) / w, (m[3] * x + m[4] * y + m[5]) / w];
}

test('random resized crop stays inside the image with area and ratio in range, and falls back like torchvision', () => {
  for (let i = 0; i < 200; i++) {
    const r = randomResizedCropRect(300, 200, {}, new SampleRng(3, 0, i));
    assert.ok(r.left >= 0 && r.top >= 0 && r.left + r.width <= 300 && r.top + r.height <= 200, JSON.stringify(r));
    const area = (r.width * r.height) / (300 * 200);
    assert.ok(area >= 0.08 * 0.9 && area <= 1, `area ${area}`);
    const ratio = r.width / r.height;
    assert.ok(ratio >= (3 / 4) * 0.9 && ratio <= (4 / 3) * 1.1, `ratio ${ratio}`);
  }
  // NOTE: a 1000x10 strip cannot hold any crop of ratio 3/4..4/3 and area >= 8%: centred 13x10 crop.
  assert.deepEqual(randomResizedCropRect(1000, 10, {}, new SampleRng(0, 0, 0)), { left: 493, top: 0, width: 13, height: 10 });
  assert.deepEqual(randomResizedCropRect(100, 100, { scale: [1, 1], ratio: [1, 1] }, new SampleRng(0, 0, 0)), { left: 0, top: 0, width: 100, height: 100 });
});

test('crop mode keeps the centre region with the output aspect ratio (cropFraction = centre crop)', () => {
  assert.deepEqual(aspectCropRect(400, 200, 100, 100, 1, null), { left: 100, top: 0, width: 200, height: 200 });
  assert.deepEqual(aspectCropRect(400, 200, 100, 100, 0.875, null), { left: 113, top: 13, width: 175, height: 175 });
  assert.deepEqual(aspectCropRect(200, 400, 200, 100, 1, null), { left: 0, top: 150, width: 200, height: 100 });
});

test('crop, squish, pad and flips produce the expected pixels', async () => {
  const { file, pixels } = await patternFile('wide.png', 16, 8);
  const at = (x: number, y: number) => Array.from(pixels.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3));
  const crop = await loadImageSample(file, { size: 8, resize: 'crop' }, decode, key);
  assert.deepEqual([crop.width, crop.height], [8, 8]);
  for (const [x, y] of [[0, 0], [7, 7], [3, 5]]) assert.deepEqual(Array.from(crop.data.subarray((y * 8 + x) * 3, (y * 8 + x) * 3 + 3)), at(x + 4, y), `crop ${x},${y}`);

  const same = await loadImageSample(file, { size: [8, 16], resize: 'squish' }, decode, key);
  assert.deepEqual(same.data, pixels);
  const flipped = await loadImageSample(file, { size: [8, 16], resize: 'squish', flipHorizontal: 1 }, decode, key);
  const upside = await loadImageSample(file, { size: [8, 16], resize: 'squish', flipVertical: 1 }, decode, key);
  for (const [x, y] of [[0, 0], [15, 2], [6, 7]]) {
    assert.deepEqual(Array.from(flipped.data.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3)), at(15 - x, y), `flipH ${x},${y}`);
    assert.deepEqual(Array.from(upside.data.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3)), at(x, 7 - y), `flipV ${x},${y}`);
  }
  const squish = await loadImageSample(file, { size: 8, resize: 'squish' }, decode, key);
  assert.deepEqual([squish.width, squish.height], [8, 8]);
  assert.ok(squish.data[0] < 20 && squish.data[(7 * 8 + 7) * 3] > 235, 'squish keeps the whole width: red ramps 0..255 across');

  const pad = await loadImageSample(file, { size: 8, resize: 'pad' }, decode, key);
  const row = (y: number) => Array.from(pad.data.subarray(y * 24, y * 24 + 24));
  assert.ok(row(0).every((v) => v === 0) && row(1).every((v) => v === 0) && row(7).every((v) => v === 0), 'letterbox bars are black');
  assert.ok(row(4).some((v) => v > 100), 'the picture is in the middle rows');
});

test('warp plans: rotation keeps the centre and distances, zoom magnifies, presize sets the intermediate size', () => {
  const spec: ImageTransforms = { size: 32, rotate: 30 };
  for (let i = 0; i < 20; i++) {
    const plan = planTransform(spec, 64, 64, new SampleRng(0, 0, i));
    assert.ok(plan.warp);
    assert.deepEqual([plan.resizeWidth, plan.resizeHeight, plan.outWidth], [32, 32, 32]);
    const [cx, cy] = apply(plan.warp!, 15.5, 15.5);
    assert.ok(Math.abs(cx - 15.5) < 1e-9 && Math.abs(cy - 15.5) < 1e-9, `centre maps to centre: ${cx}, ${cy}`);
    const [x, y] = apply(plan.warp!, 25.5, 15.5);
    assert.ok(Math.abs(Math.hypot(x - 15.5, y - 15.5) - 10) < 1e-9, 'rotation keeps distances');
    const angle = Math.abs(Math.atan2(y - 15.5, x - 15.5)) * 180 / Math.PI;
    assert.ok(angle <= 30 + 1e-9, `angle ${angle} within 30 degrees`);
  }
  const zoom = planTransform({ size: 32, zoom: 2 }, 64, 64, new SampleRng(0, 0, 5));
  const [ax] = apply(zoom.warp!, 0.5, 15.5); const [bx] = apply(zoom.warp!, 31.5, 15.5);
  assert.ok((bx - ax) < 31 && (bx - ax) >= 15.5 - 1e-9, `zoom shows a smaller part: span ${bx - ax}`);
  const presized = planTransform({ size: 32, rotate: 5, presize: 64 }, 100, 100, new SampleRng(0, 0, 0));
  assert.deepEqual([presized.resizeWidth, presized.resizeHeight, presized.outWidth, presized.outHeight], [64, 64, 32, 32]);
  const plain = planTransform({ size: 32, flipHorizontal: true }, 100, 100, new SampleRng(0, 0, 0));
  assert.equal(plain.warp, null, 'no warp without rotate/zoom/perspective');
});

test('perspective homography moves the corners by the offsets; warpImage with identity copies the image', () => {
  const identity = homographyFromCorners([0, 0, 0, 0, 0, 0, 0, 0]);
  identity.forEach((v, i) => assert.ok(Math.abs(v - [1, 0, 0, 0, 1, 0, 0, 0, 1][i]) < 1e-12));
  const offsets = [0.1, -0.2, 0.05, 0.1, -0.1, 0, 0.2, 0.15];
  const h = homographyFromCorners(offsets);
  [[-1, -1], [1, -1], [1, 1], [-1, 1]].forEach(([x, y], i) => {
    const [u, v] = apply(h, x, y);
    assert.ok(Math.abs(u - (x + offsets[2 * i])) < 1e-9 && Math.abs(v - (y + offsets[2 * i + 1])) < 1e-9, `corner ${i}`);
  });
  const image = pattern(10, 6);
  assert.deepEqual(warpImage(image, 10, 6, 3, [1, 0, 0, 0, 1, 0, 0, 0, 1], 10, 6), image);
  const turned = warpImage(image, 10, 6, 3, [-1, 0, 9, 0, -1, 5, 0, 0, 1], 10, 6);
  assert.deepEqual(Array.from(turned.subarray(0, 3)), Array.from(image.subarray((5 * 10 + 9) * 3, (5 * 10 + 9) * 3 + 3)), '180 degrees');
  const outside = warpImage(image, 10, 6, 3, [1, 0, -1, 0, 1, 0, 0, 0, 1], 10, 6);
  assert.deepEqual(Array.from(outside.subarray(0, 3)), Array.from(image.subarray(0, 3)), 'reflection padding at x = -1 reads x = 0');
});

test('brightness multiplies and contrast blends with the mean, clamped to 0..255', () => {
  const data = Uint8Array.from([100, 200]);
  adjustColour(data, 1.5, 1);
  assert.deepEqual([...data], [150, 255]);
  const flat = Uint8Array.from([50, 150]);
  adjustColour(flat, 1, 0);
  assert.deepEqual([...flat], [100, 100]);
});

test('augmentation is a function of (seed, epoch, index) only', async () => {
  const { file } = await patternFile('big.png', 96, 64);
  const spec = augmentTransforms({ size: 48 });
  const a = await loadImageSample(file, spec, decode, { seed: 7, epoch: 2, index: 11 });
  const b = await loadImageSample(file, spec, decode, { seed: 7, epoch: 2, index: 11 });
  const c = await loadImageSample(file, spec, decode, { seed: 7, epoch: 3, index: 11 });
  const d = await loadImageSample(file, spec, decode, { seed: 8, epoch: 2, index: 11 });
  assert.deepEqual([a.width, a.height, a.channels], [48, 48, 3]);
  assert.deepEqual(a.data, b.data);
  assert.notDeepEqual(a.data, c.data);
  assert.notDeepEqual(a.data, d.data);
});

test('impossible transform values are refused with the option named', () => {
  assert.throws(() => validateTransforms({ size: 0 }), /size must be positive integers/);
  assert.throws(() => validateTransforms({ size: 8, zoom: 0.5 }), /zoom must be >= 1/);
  assert.throws(() => validateTransforms({ size: 8, randomResizedCrop: { scale: [0.5, 0.2] } }), /scale must satisfy/);
  assert.throws(() => validateTransforms({ size: 8, resize: 'stretch' as 'squish' }), /resize must be squish, crop or pad/);
});
