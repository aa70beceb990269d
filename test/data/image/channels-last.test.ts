import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { dispose, maxAbsDiff } from '../../../src/tensor/index.js';
import { ImageDataset, ImageLoader } from '../../../src/data/image/index.js';
import { Learner } from '../../../src/learn/index.js';
import { Conv2d, Flatten, Linear, Sequential } from '../../../src/nn/index.js';
import { fromRaw, pattern, tempDir, writeFile } from './fixtures.js';

test('ImageLoader yields channels-last batches when asked (the Learner asks for convolutional models), same values', async () => {
  const dir = tempDir();
  const items = [];
  for (let i = 0; i < 5; i++) {
    const pixels = pattern(24, 20).map((v, k) => (v + 11 * i * (k % 3)) % 256);
    items.push({ file: writeFile(join(dir, `img${i}.png`), await fromRaw(pixels, 24, 20).png().toBuffer()), label: i % 2 });
  }
  const data = new ImageDataset(items, ['a', 'b']);
  const options = { batchSize: 5, workers: 1, transforms: { size: 16, resize: 'crop' as const }, normalize: 'imagenet' as const };
  const plain = new ImageLoader(data, options);
  const nhwc = new ImageLoader(data, options);
  nhwc.memoryFormat = 'channels-last';
  const first = async (loader: ImageLoader) => { for await (const batch of loader) return batch; throw new Error('no batch'); };
  const a = await first(plain);
  const b = await first(nhwc);
  assert.deepEqual([a.x.isChannelsLast, a.x.isContiguous, b.x.isChannelsLast], [false, true, true]);
  assert.deepEqual(b.x.shape, [5, 3, 16, 16]);
  assert.equal(maxAbsDiff(a.x, b.x), 0);
  dispose([a, b]);

  const conv = new Learner(new Sequential(new Conv2d(3, 2, 3), new Flatten(), new Linear(2 * 14 * 14, 2)), { train: plain, valid: plain }, { progress: false });
  await conv.evaluate(plain);
  assert.equal(plain.memoryFormat, 'channels-last', 'a convolutional model asks for channels-last');
  const dense = new ImageLoader(data, options);
  const mlp = new Learner(new Sequential(new Flatten(), new Linear(3 * 16 * 16, 2)), { train: dense }, { progress: false });
  await mlp.evaluate(dense);
  assert.equal(dense.memoryFormat, 'contiguous', 'a model without convolutions leaves the layout alone');
  await Promise.all([plain.close(), nhwc.close(), dense.close()]);
});
