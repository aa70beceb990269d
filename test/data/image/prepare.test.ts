import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { ImageLoader } from '../../../src/data/image/index.js';
import { dispose } from '../../../src/tensor/index.js';
import { pngs } from './fixtures.js';

async function epoch(loader: ImageLoader): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for await (const batch of loader) { out.push(batch.x.toArray() as Float32Array); dispose(batch); }
  return out;
}

test('prepare() decodes a caching loader\'s samples before training, with a line before and after; the epochs then need no file', async () => {
  const data = await pngs(10);
  const logged: string[] = [];
  const loader = new ImageLoader(data, { batchSize: 4, workers: 1, transforms: { size: 8, resize: 'crop' }, log: (m) => logged.push(m) });
  const reference = await epoch(new ImageLoader(data, { batchSize: 4, workers: 0, transforms: { size: 8, resize: 'crop' }, cache: false }));
  await loader.prepare();
  assert.equal(logged.length, 2);
  assert.equal(logged[0], `kestrel: decoding 10 images of ${data.description} into memory once, before training (every epoch reuses them)`);
  assert.match(logged[1], /^kestrel: decoded 10 images in \d+\.\d s \([\d,]+ images\/s\)$/);
  for (const item of data.items) rmSync(item.file);
  assert.deepEqual(await epoch(loader), reference, 'the first epoch reads every sample from memory, the same pixels');
  await loader.prepare();
  assert.equal(logged.length, 2, 'a full cache needs nothing more');
  await loader.close();

  const augmenting = new ImageLoader(await pngs(4), { batchSize: 2, workers: 0, transforms: { size: 8, flipHorizontal: true }, log: (m) => logged.push(m) });
  await augmenting.prepare();
  assert.equal(logged.length, 2, 'random transforms are not cached, so there is nothing to prepare');
});
