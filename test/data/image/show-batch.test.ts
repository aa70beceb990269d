import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { ImageDataset, ImageLoader, showBatch } from '../../../src/data/image/index.js';
import { memory, tensor } from '../../../src/tensor/index.js';
import { solidImage, tempDir } from './fixtures.js';

const dir = tempDir();
const COLOURS: [number, number, number][] = [[220, 30, 30], [30, 200, 40], [40, 60, 220], [240, 200, 20], [20, 20, 20], [150, 40, 160]];

async function colourDataset(): Promise<ImageDataset> {
  const items = [];
  for (let i = 0; i < COLOURS.length; i++) items.push({ file: await solidImage(join(dir, `c${i}.png`), 50, 50, COLOURS[i]), label: i % 2 });
  return new ImageDataset(items, ['warm', 'cool']);
}

async function pixels(path: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function at(image: { data: Buffer; width: number }, x: number, y: number): number[] {
  const i = (y * image.width + x) * 3;
  return [image.data[i], image.data[i + 1], image.data[i + 2]];
}

test('showBatch draws a grid of tiles with a label under each', async () => {
  const data = await colourDataset();
  const path = join(dir, 'grid.png');
  await showBatch(data, { path, n: 6, cols: 3, cellSize: 96, transforms: { size: 50 } });
  const image = await pixels(path);
  // NOTE: pad 8, cell 96, font 11, label band 18: width 8 + 3 * 104, height 8 + 2 * (96 + 18 + 8).
  assert.deepEqual([image.width, image.height], [320, 252]);
  const seen: string[] = [];
  for (let tile = 0; tile < 6; tile++) {
    const left = 8 + (tile % 3) * 104; const top = 8 + Math.floor(tile / 3) * 122;
    seen.push(at(image, left + 48, top + 48).join(','));
    let ink = 0;
    for (let y = top + 97; y < top + 114; y++) for (let x = left; x < left + 96; x++) if (at(image, x, y)[0] < 128) ink++;
    assert.ok(ink > 15, `label text under tile ${tile} (${ink} dark pixels)`);
    assert.deepEqual(at(image, left + 2, top + 112), [255, 255, 255], 'label band background stays white at the edge');
  }
  assert.deepEqual(seen.sort(), COLOURS.map((c) => c.join(',')).sort(), 'each tile shows one image, each image once');
});

test('showBatch from a loader undoes the normalisation; from any BatchSource it uses the class names given', async () => {
  const data = await colourDataset();
  const loader = new ImageLoader(data, { batchSize: 4, workers: 1, transforms: { size: 32 }, normalize: 'imagenet' });
  const path = join(dir, 'loader.png');
  const live = memory().liveTensors;
  await showBatch(loader, { path, n: 4, cols: 4, cellSize: 64 });
  await loader.close();
  assert.equal(memory().liveTensors, live);
  const image = await pixels(path);
  assert.deepEqual([image.width, image.height], [8 + 4 * 72, 8 + 64 + 18 + 8]);
  for (let tile = 0; tile < 4; tile++) {
    const got = at(image, 8 + tile * 72 + 32, 8 + 32);
    got.forEach((v, c) => assert.ok(Math.abs(v - COLOURS[tile][c]) <= 1, `tile ${tile}: ${got} vs ${COLOURS[tile]}`));
  }
  const source = {
    length: 1, numSamples: 2,
    async *[Symbol.asyncIterator]() { yield { x: tensor(new Float32Array(2 * 28 * 28).fill(0.5), [2, 1, 28, 28]), y: tensor(BigInt64Array.from([1n, 0n]), [2]) }; },
  };
  const digits = join(dir, 'digits.png');
  await showBatch(source, { path: digits, classes: ['zero', 'one'], cols: 2 });
  const grey = await pixels(digits);
  assert.deepEqual([grey.width, grey.height], [8 + 2 * 104, 8 + 96 + 18 + 8], 'small images grow to 96-px cells');
  assert.deepEqual(at(grey, 8 + 48, 8 + 48), [128, 128, 128]);
});
