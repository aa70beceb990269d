import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DataLoader, ImageDataset, ImageLoader, type Dataset, type Shard, shardLength, shardOrder } from '../../src/data/index.js';
import { Random, dispose, tensor } from '../../src/tensor/index.js';
import { runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { solidImage, tempDir } from './image/fixtures.js';

const CASES: [number, number][] = [[1, 2], [5, 2], [10, 3], [17, 4], [100, 7], [6, 8], [9, 1], [0, 3]];

test('shardOrder splits like torch DistributedSampler (padding, drop_last, every rank), on shuffled orders too', { skip: skipWithoutTorch() }, () => {
  // torch's sampler indexes range(n) with shuffle=False; mapping those positions through a shuffled order is its
  // algorithm applied to that order (Kestrel's loaders shuffle with their own seeded generator).
  const out = runTorch(`
    from torch.utils.data.distributed import DistributedSampler
    cases = ${JSON.stringify(CASES)}
    for i, (n, w) in enumerate(cases):
        for drop in (False, True):
            for r in range(w):
                idx = list(DistributedSampler(range(n), num_replicas=w, rank=r, shuffle=False, drop_last=drop))
                out[f'c{i}_{int(drop)}_{r}'] = torch.tensor(idx + [-1], dtype=torch.int64)
  `);
  try {
    const random = new Random(11);
    CASES.forEach(([n, worldSize], i) => {
      const order = random.permutation(n);
      for (const dropLast of [false, true]) {
        const covered = new Set<number>();
        for (let rank = 0; rank < worldSize; rank++) {
          const expected = Array.from(out[`c${i}_${Number(dropLast)}_${rank}`].toArray() as BigInt64Array, Number).slice(0, -1);
          const shard: Shard = { rank, worldSize, dropLast };
          const identity = Int32Array.from({ length: n }, (_, k) => k);
          assert.deepEqual(Array.from(shardOrder(identity, shard)), expected, `n=${n} world=${worldSize} rank=${rank} dropLast=${dropLast}`);
          const shuffled = Array.from(shardOrder(order, shard));
          assert.deepEqual(shuffled, expected.map((k) => order[k]));
          assert.equal(shardLength(n, shard), expected.length);
          for (const k of shuffled) covered.add(k);
        }
        if (!dropLast) assert.equal(covered.size, n, 'padded shards cover every sample');
      }
    });
  } finally {
    dispose(out);
  }
});

test('shards without padding read every sample exactly once (validation)', () => {
  for (const [n, worldSize] of CASES) {
    const order = new Random(n).permutation(n);
    const seen: number[] = [];
    for (let rank = 0; rank < worldSize; rank++) {
      const part = shardOrder(order, { rank, worldSize, pad: false });
      assert.equal(part.length, shardLength(n, { rank, worldSize, pad: false }));
      seen.push(...part);
    }
    assert.deepEqual(seen.sort((a, b) => a - b), Array.from({ length: n }, (_, k) => k));
  }
});

/** A dataset whose batches carry the sample indices as labels. */
function indexDataset(n: number): Dataset {
  return {
    length: n, classes: ['a'], itemShape: [1, 1, 1],
    getBatch: (indices) => ({ x: tensor(Float32Array.from(indices), [indices.length, 1, 1, 1]), y: tensor(BigInt64Array.from(indices, BigInt), [indices.length]) }),
  };
}

test('sharded DataLoaders: step k of all ranks together is step k of one loader with the whole batch', () => {
  const n = 103;
  const whole = [...new DataLoader(indexDataset(n), { batchSize: 12, shuffle: true, seed: 5 })].map((b) => Array.from(b.y.toArray() as BigInt64Array, Number));
  const ranks = [0, 1, 2].map((rank) => new DataLoader(indexDataset(n), { batchSize: 4, shuffle: true, seed: 5, shard: { rank, worldSize: 3 } }));
  assert.deepEqual(ranks.map((l) => [l.length, l.numSamples]), [[9, 35], [9, 35], [9, 35]]);
  const perRank = ranks.map((l) => [...l].map((b) => Array.from(b.y.toArray() as BigInt64Array, Number)));
  for (let k = 0; k < whole.length; k++) {
    const together = perRank.flatMap((batches) => batches[k]);
    // NOTE: the last step is padded with the epoch's first samples, like DistributedSampler.
    const expected = k < whole.length - 1 ? whole[k] : [...whole[k], ...whole[0].slice(0, 105 - n)];
    assert.deepEqual([...together].sort((a, b) => a - b), [...expected].sort((a, b) => a - b), `step ${k}`);
  }
  assert.throws(() => new DataLoader(indexDataset(4), { batchSize: 2, shard: { rank: 2, worldSize: 2 } }), /DataLoader: shard rank must be an integer in \[0, 1\], got 2/);
});

test('sharded ImageLoaders read disjoint parts of the same seeded epoch order', async () => {
  const root = tempDir();
  const items = [];
  for (let i = 0; i < 7; i++) items.push({ file: await solidImage(join(root, `${i}.png`), 4, 4, [i * 30, 0, 0]), label: i % 2 });
  const dataset = new ImageDataset(items, ['even', 'odd']);
  const read = async (loader: ImageLoader) => {
    const values: number[] = [];
    for await (const batch of loader) {
      const x = batch.x.toArray() as Float32Array;
      for (let s = 0; s < batch.y.shape[0]; s++) values.push(Math.round(x[s * 48] * 255 / 30));
      dispose(batch);
    }
    await loader.close();
    return values;
  };
  const options = { batchSize: 2, shuffle: true, seed: 9, workers: 0, transforms: null };
  const whole = await read(new ImageLoader(dataset, options));
  const shards = [new ImageLoader(dataset, { ...options, shard: { rank: 0, worldSize: 2 } }), new ImageLoader(dataset, { ...options, shard: { rank: 1, worldSize: 2 } })];
  assert.deepEqual(shards.map((l) => [l.length, l.numSamples]), [[2, 4], [2, 4]]);
  const [a, b] = [await read(shards[0]), await read(shards[1])];
  assert.deepEqual(a, [0, 2, 4, 6].map((k) => whole[k]));
  assert.deepEqual(b, [1, 3, 5, 0].map((k) => whole[k]));
});
