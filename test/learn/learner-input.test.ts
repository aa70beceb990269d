import test from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader } from '../../src/data/index.js';
import { Learner } from '../../src/learn/index.js';
import { Flatten, Linear, Sequential } from '../../src/nn/index.js';
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
