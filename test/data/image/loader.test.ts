import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { dispose, memory } from '../../../src/tensor/index.js';
import sharp from 'sharp';
import { IMAGENET_MEAN, IMAGENET_STD, ImageDataset, ImageLoader, augmentTransforms, computeImageStats, decodeImage, imageFolderLoaders } from '../../../src/data/image/index.js';
import { fromRaw, pattern, tempDir, writeFile } from './fixtures.js';

const dir = tempDir();

async function dataset(n: number, size = 40): Promise<ImageDataset> {
  const items = [];
  for (let i = 0; i < n; i++) {
    const pixels = pattern(size + (i % 3) * 8, size);
    for (let k = 0; k < pixels.length; k += 3) pixels[k + 2] = (i * 37) % 256; // NOTE: every image distinct.
    items.push({ file: writeFile(join(dir, `img${String(i).padStart(3, '0')}.png`), await fromRaw(pixels, size + (i % 3) * 8, size).png().toBuffer()), label: i % 4 });
  }
  return new ImageDataset(items, ['a', 'b', 'c', 'd']);
}

async function epochBytes(loader: ImageLoader): Promise<{ x: Float32Array[]; y: number[][] }> {
  const x: Float32Array[] = []; const y: number[][] = [];
  for await (const batch of loader) {
    x.push(batch.x.toArray() as Float32Array);
    y.push((batch.y.toList() as number[]));
    dispose(batch);
  }
  return { x, y };
}

test('batches are NCHW float32, ImageNet-normalised, int64 labels, in dataset order', async () => {
  const data = await dataset(10);
  const live = memory().liveTensors;
  const loader = new ImageLoader(data, { batchSize: 4, workers: 2, transforms: { size: 40, resize: 'crop' }, normalize: 'imagenet' });
  assert.equal(loader.length, 3);
  assert.equal(loader.numSamples, 10);
  assert.deepEqual(loader.inputShape, [3, 40, 40]);
  const shapes: number[][] = []; const labels: number[] = [];
  let first: Float32Array | null = null;
  for await (const batch of loader) {
    shapes.push(batch.x.shape);
    assert.equal(batch.x.dtype, 'float32');
    assert.equal(batch.y.dtype, 'int64');
    labels.push(...(batch.y.toList() as number[]));
    first ??= batch.x.toArray() as Float32Array;
    dispose(batch);
  }
  assert.deepEqual(shapes, [[4, 3, 40, 40], [4, 3, 40, 40], [2, 3, 40, 40]]);
  assert.deepEqual(labels, data.items.map((i) => i.label));
  const image = await decodeImage(data.items[0].file);
  for (const [c, y, x] of [[0, 0, 0], [1, 5, 7], [2, 39, 39], [0, 20, 31]]) {
    const expected = (image.data[(y * 40 + x) * 3 + c] / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
    assert.ok(Math.abs(first![c * 1600 + y * 40 + x] - expected) < 1e-5, `x[0, ${c}, ${y}, ${x}]`);
  }
  await loader.close();
  assert.equal(memory().liveTensors, live, 'no tensor left behind');
});

test('same seed, same batches, whatever the worker count; new epoch or seed, new batches', async () => {
  const data = await dataset(13);
  const options = { batchSize: 5, shuffle: true, seed: 11, transforms: augmentTransforms({ size: 24 }) };
  const runs: { x: Float32Array[]; y: number[][] }[][] = [];
  for (const workers of [0, 1, 3]) {
    const loader = new ImageLoader(data, { ...options, workers, prefetch: workers + 1 });
    runs.push([await epochBytes(loader), await epochBytes(loader)]);
    await loader.close();
  }
  for (const run of runs.slice(1)) {
    for (const e of [0, 1]) {
      assert.deepEqual(run[e].y, runs[0][e].y, 'same order');
      run[e].x.forEach((x, b) => assert.ok(Buffer.from(x.buffer).equals(Buffer.from(runs[0][e].x[b].buffer)), `epoch ${e} batch ${b} bytes`));
    }
  }
  assert.notDeepEqual(runs[0][0].y, runs[0][1].y, 'each epoch reshuffles');
  assert.ok(!Buffer.from(runs[0][0].x[0].buffer).equals(Buffer.from(runs[0][1].x[0].buffer)), 'each epoch re-augments');
  const other = new ImageLoader(data, { ...options, seed: 12, workers: 1 });
  const otherEpoch = await epochBytes(other);
  await other.close();
  assert.notDeepEqual(otherEpoch.y, runs[0][0].y);
});

test('dataset statistics normalise to mean 0 and std 1', async () => {
  const data = await dataset(6);
  const stats = await computeImageStats(data, { transforms: { size: 40 } });
  const loader = new ImageLoader(data, { batchSize: 6, workers: 0, transforms: { size: 40 }, normalize: stats });
  for await (const batch of loader) {
    for (let c = 0; c < 3; c++) {
      const channel = batch.x.select(1, c);
      const mean = channel.mean(); const std = channel.std();
      assert.ok(Math.abs(mean.item()) < 1e-4 && Math.abs(std.item() - 1) < 1e-2, `channel ${c}: mean ${mean.item()}, std ${std.item()}`);
      dispose([channel, mean, std]);
    }
    dispose(batch);
  }
  assert.throws(() => new ImageLoader(data, { decode: { channels: 1 }, normalize: 'imagenet' }), /ImageNet normalisation needs 3 channels/);
});

test('a program that stops iterating early exits by itself (workers do not hold it open)', async () => {
  const data = await dataset(12);
  const module = fileURLToPath(new URL('../../../src/data/image/index.js', import.meta.url));
  const script = `
    const { ImageDataset, ImageLoader } = await import(${JSON.stringify(module)});
    const data = new ImageDataset(${JSON.stringify(data.items)}, ['a', 'b', 'c', 'd']);
    const loader = new ImageLoader(data, { batchSize: 2, workers: 2, transforms: { size: 16 } });
    for await (const batch of loader) { console.log('got', batch.x.shape.join('x')); batch.x.dispose(); batch.y.dispose(); break; }
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(result.signal, null, `did not exit by itself: ${result.stderr}`);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /got 2x3x16x16/);
});

test('closing a loader whose batches are still in flight (an error mid-epoch) finishes the program: no abort, no early exit', async () => {
  const data = await dataset(24);
  const module = fileURLToPath(new URL('../../../src/data/image/index.js', import.meta.url));
  const script = `
    const { ImageDataset, ImageLoader } = await import(${JSON.stringify(module)});
    const data = new ImageDataset(${JSON.stringify(data.items)}, ['a', 'b', 'c', 'd']);
    const loader = new ImageLoader(data, { batchSize: 2, workers: 2, prefetch: 6, transforms: { size: 16 } });
    try {
      for await (const batch of loader) { batch.x.dispose(); batch.y.dispose(); throw new Error('boom'); }
    } catch (error) { console.log('caught', error.message); }
    await loader.close();
    console.log('closed');
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.signal, null, `killed by ${result.signal}: ${result.stderr}`);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /caught boom\nclosed/);
});

test('imageFolderLoaders: grey folders give 1-channel loaders normalised by the training statistics', async () => {
  const root = tempDir();
  for (const [name, value] of [['dark', 40], ['light', 200]] as const) {
    for (let i = 0; i < 6; i++) {
      const pixels = new Uint8Array(10 * 10).fill(value + i);
      writeFile(join(root, name, `${i}.png`), await sharp(Buffer.from(pixels), { raw: { width: 10, height: 10, channels: 1 } }).toColourspace('b-w').png().toBuffer());
    }
  }
  const data = await imageFolderLoaders(root, { size: 10, validPct: 0.25, seed: 1, workers: 1, batchSize: 4 });
  assert.deepEqual(data.classes, ['dark', 'light']);
  assert.deepEqual(data.inputShape, [1, 10, 10]);
  assert.equal(data.train.numSamples + data.valid.numSamples, 12);
  const mean = data.normalize!.mean[0];
  assert.ok(Math.abs(mean - 0.47) < 0.1, `dataset mean ${mean}`);
  for await (const batch of data.valid) {
    const y = batch.y.toList() as number[];
    const x = batch.x.toArray() as Float32Array;
    y.forEach((label, s) => {
      const pixel = x[s * 100] * data.normalize!.std[0] + mean;
      assert.equal(pixel < 0.5 ? 0 : 1, label, 'dark images are labelled dark');
    });
    dispose(batch);
  }
  await data.close();
});

test("imageFolderLoaders: 'imagenet' on a grey folder decodes RGB and says so; explicit channels 1 is a clear error; a colour file in a grey folder is named", async () => {
  const root = tempDir();
  const grey = (value: number) => sharp(Buffer.alloc(100, value), { raw: { width: 10, height: 10, channels: 1 } }).toColourspace('b-w').png().toBuffer();
  for (const name of ['a', 'b']) for (let i = 0; i < 4; i++) writeFile(join(root, name, `${i}.png`), await grey(i * 50));
  const logged: string[] = [];
  const data = await imageFolderLoaders(root, { size: 10, validPct: 0.25, workers: 0, normalize: 'imagenet', log: (m) => logged.push(m) });
  assert.deepEqual(data.inputShape, [3, 10, 10]);
  assert.deepEqual(logged, ["kestrel: the images are greyscale; decoding them as 3 channels (RGB) because normalize is 'imagenet' (pass channels: 1 and normalize: 'dataset' to keep one channel)"]);
  for await (const batch of data.train) {
    assert.deepEqual(batch.x.shape.slice(1), [3, 10, 10]);
    dispose(batch);
  }
  await data.close();
  await assert.rejects(imageFolderLoaders(root, { size: 10, channels: 1, normalize: 'imagenet' }),
    { message: `imageFolderLoaders(${root}): normalize 'imagenet' needs 3 channels, but channels is 1; pass channels: 3 (grey images are decoded as RGB) or normalize: 'dataset'` });

  const colour = writeFile(join(root, 'b', 'colour.png'), await fromRaw(pattern(10, 10), 10, 10).png().toBuffer());
  const mixedLog: string[] = [];
  const mixed = await imageFolderLoaders(root, { size: 10, validPct: 0, workers: 0, log: (m) => mixedLog.push(m) });
  assert.deepEqual(mixed.inputShape, [3, 10, 10]);
  assert.deepEqual(mixedLog, [`kestrel: decoding every image as 3 channels (RGB): ${colour} is in colour while 8 of 9 sampled images are grey; pass channels: 1 to decode all as grey`]);
  await mixed.close();
});

test('JPEGs (native path) give the same batches whatever the worker count, and getState/setState resumes an epoch exactly', async () => {
  const items = [];
  for (let i = 0; i < 9; i++) {
    const pixels = pattern(64 + 8 * (i % 3), 48);
    for (let k = 1; k < pixels.length; k += 3) pixels[k] = (i * 53) % 256;
    items.push({ file: writeFile(join(dir, `photo${i}.jpg`), await fromRaw(pixels, 64 + 8 * (i % 3), 48).jpeg({ quality: 92 }).toBuffer()), label: i % 3 });
  }
  const data = new ImageDataset(items, ['a', 'b', 'c']);
  const options = { batchSize: 4, shuffle: true, seed: 5, transforms: { size: 32, randomResizedCrop: true, flipHorizontal: true } };
  const inThread = new ImageLoader(data, { ...options, workers: 0 });
  const reference = [await epochBytes(inThread), await epochBytes(inThread)];
  const state = inThread.getState();
  assert.deepEqual(state, { epoch: 2, seed: 5 });
  const threaded = new ImageLoader(data, { ...options, workers: 2 });
  threaded.setState({ epoch: 1, seed: 5 });
  const resumed = await epochBytes(threaded);
  await threaded.close();
  assert.deepEqual(resumed.y, reference[1].y, 'same order as the uninterrupted epoch 1');
  resumed.x.forEach((x, b) => assert.ok(Buffer.from(x.buffer).equals(Buffer.from(reference[1].x[b].buffer)), `batch ${b} bytes`));
  assert.throws(() => threaded.setState({ epoch: 1, seed: 6 }), /saved with seed 6, this loader has seed 5/);
  assert.throws(() => threaded.setState({ epoch: -1, seed: 5 }), /epoch must be a non-negative integer/);
});

test('withoutAugmentation: the same files in order, at the same size and batch size, with the validation transforms', async () => {
  const data = await dataset(7);
  const loader = new ImageLoader(data, { batchSize: 3, shuffle: true, seed: 5, workers: 0, transforms: augmentTransforms({ size: 24 }), normalize: 'imagenet' });
  const plain = loader.withoutAugmentation();
  const reference = new ImageLoader(data, { batchSize: 3, workers: 0, transforms: { size: 24, resize: 'crop' }, normalize: 'imagenet' });
  const [first, second, expected] = [await epochBytes(plain), await epochBytes(plain), await epochBytes(reference)];
  assert.deepEqual(first.y, [[0, 1, 2], [3, 0, 1], [2]]);
  for (const run of [first, second]) {
    assert.deepEqual(run.y, expected.y);
    run.x.forEach((x, b) => assert.ok(Buffer.from(x.buffer).equals(Buffer.from(expected.x[b].buffer)), `batch ${b} bytes`));
  }
  assert.equal(loader.epoch, 0, 'the augmenting loader is untouched');
  for (const l of [loader, plain, reference]) await l.close();
});
