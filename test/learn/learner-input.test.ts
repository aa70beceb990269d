import test from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader, ImageLoader } from '../../src/data/index.js';
import { Learner } from '../../src/learn/index.js';
import { Flatten, Linear, Sequential } from '../../src/nn/index.js';
import { pngs } from '../data/image/fixtures.js';
import { blobs } from './fixtures.js';

test('a Learner without usable data says which part is wrong when built, not at fit', () => {
  const model = new Sequential(new Flatten(), new Linear(4, 2));
  const train = new DataLoader(blobs(8, 1), { batchSize: 4 });
  assert.throws(() => new Learner(model, { train: undefined as never }), { message: 'Learner: data.train must be a DataLoader or ImageLoader (a BatchSource), got undefined' });
  assert.throws(() => new Learner(model, { train, valid: blobs(8, 2) as never }), { message: 'Learner: data.valid must be a DataLoader or ImageLoader (a BatchSource), got object' });
  assert.throws(() => new Learner(model, undefined as never), /data\.train must be a DataLoader/);
  assert.doesNotThrow(() => new Learner(model, { train }, { progress: false }));
  model.dispose();
});

test('Learner.fit prepares its loaders first; bad files met there are summarised, or stop the fit with onBadImage error', async () => {
  const data = await pngs(6, [4]);
  const logged: string[] = [];
  const options = { batchSize: 3, workers: 1, transforms: { size: 4, resize: 'crop' as const }, log: (m: string) => logged.push(m) };
  const model = new Sequential(new Flatten(), new Linear(48, 2));
  const train = new ImageLoader(data, options);
  await new Learner(model, { train }, { progress: false }).fit(1, 0.01);
  assert.match(logged[0], /^kestrel: decoding 6 images/);
  assert.match(logged[2], /^kestrel: skipped 1 of 6 images: 4\.png \(/);
  assert.equal(logged.length, 3, 'the bad file is reported once, at preparation');
  await train.close();
  const strict = new ImageLoader(data, { ...options, onBadImage: 'error' });
  await assert.rejects(new Learner(model, { train: strict }, { progress: false }).fit(1, 0.01), /bad image .*4\.png/);
  model.dispose();
});
