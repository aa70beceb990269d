import test from 'node:test';
import assert from 'node:assert/strict';
import { loadSample, splitDataset } from '../../src/data/index.js';
import { memory, tidy } from '../../src/tensor/index.js';
import { counting, indicesOf } from './counting.js';

const labelCounts = (labels: number[]) => [0, 1, 2].map((c) => labels.filter((l) => l === c).length);

test('split sizes, disjoint parts covering the dataset, reproducible by seed', () => {
  const ds = counting(100);
  const before = memory().liveTensors;
  const { train, valid } = splitDataset(ds, { validPct: 0.2, seed: 3 });
  assert.deepEqual([train.length, valid.length], [80, 20]);
  const trainIds = indicesOf(train);
  const validIds = indicesOf(valid);
  assert.deepEqual([...trainIds, ...validIds].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i), 'disjoint and complete');
  assert.deepEqual(trainIds, [...trainIds].sort((a, b) => a - b), 'parts keep the original order');
  // Labels travel with their images (label = index % 3).
  assert.deepEqual(tidy(() => Array.from(valid.labels.toArray() as BigInt64Array, Number)), validIds.map((i) => i % 3));
  const again = splitDataset(ds, { validPct: 0.2, seed: 3 });
  assert.deepEqual(indicesOf(again.valid), validIds, 'same seed, same split');
  const other = splitDataset(ds, { validPct: 0.2, seed: 4 });
  assert.notDeepEqual(indicesOf(other.valid), validIds, 'another seed, another split');
  for (const d of [train, valid, again.train, again.valid, other.train, other.valid]) d.dispose();
  assert.equal(memory().liveTensors, before);
  ds.dispose();
});

test('a stratified split keeps the class proportions', () => {
  const ds = counting(90); // 30 samples of each of 3 classes
  const { train, valid } = splitDataset(ds, { validPct: 0.1, seed: 0, stratify: true });
  assert.deepEqual(labelCounts(indicesOf(valid).map((i) => i % 3)), [3, 3, 3]);
  assert.deepEqual(labelCounts(indicesOf(train).map((i) => i % 3)), [27, 27, 27]);
  train.dispose(); valid.dispose(); ds.dispose();
  // The bundled sample (300 per class) splits into exactly 60 per class for validPct 0.2.
  const sample = loadSample({ split: 'train' });
  const parts = splitDataset(sample, { validPct: 0.2, seed: 7, stratify: true });
  const counts = new Array<number>(10).fill(0);
  for (const l of tidy(() => parts.valid.labels.toArray() as BigInt64Array)) counts[Number(l)]++;
  assert.deepEqual(counts, new Array(10).fill(60));
  for (const d of [parts.train, parts.valid, sample]) d.dispose();
});

test('bad split options give clear errors', () => {
  const ds = counting(3);
  assert.throws(() => splitDataset(ds, { validPct: 0 }), /validPct must be between 0 and 1, got 0/);
  assert.throws(() => splitDataset(ds, { validPct: 1.5 }), /validPct must be between 0 and 1, got 1.5/);
  assert.throws(() => splitDataset(ds, { validPct: 0.1 }), /validPct 0.1 of 3 samples leaves 0 for valid and 3 for train/);
  ds.dispose();
});
