import test from 'node:test';
import assert from 'node:assert/strict';
import { AugmentedLoader, BatchAugment, DataLoader, loadSample } from '../../../src/data/index.js';
import { type Tensor, dispose, manualSeed, maxAbsDiff, memory, randn, tidy } from '../../../src/tensor/index.js';

const same = (a: Tensor, b: Tensor): boolean => a.shape.join() === b.shape.join() && tidy(() => maxAbsDiff(a.float(), b.float())) === 0;

/** The pixels of x [N, C, H, W] as nested arrays. */
function pixels(x: Tensor): number[][][][] {
  const [n, c, h, w] = x.shape;
  const data = x.toArray() as Float32Array;
  return Array.from({ length: n }, (_, i) => Array.from({ length: c }, (_, k) => Array.from({ length: h }, (_, r) =>
    Array.from(data.subarray(((i * c + k) * h + r) * w, ((i * c + k) * h + r + 1) * w)))));
}

test('crop with padding and flips: every output pixel is the input pixel the draws name (naive reference), fill outside', () => {
  manualSeed(1);
  const x = randn([6, 2, 5, 7]);
  const augment = new BatchAugment({ padding: 2, flip: true, fill: [-1, 3], seed: 11 });
  const draws = augment.draw(6, 5, 7);
  const out = augment.applyDraws(x, draws);
  assert.deepEqual(out.shape, [6, 2, 5, 7]);
  const src = pixels(x); const got = pixels(out);
  let filled = 0;
  for (let i = 0; i < 6; i++) {
    for (let k = 0; k < 2; k++) {
      for (let r = 0; r < 5; r++) {
        for (let c = 0; c < 7; c++) {
          const sr = r + draws.dy[i] - 2;
          const sc = (draws.flip[i] ? 6 - c : c) + draws.dx[i] - 2;
          const inside = sr >= 0 && sr < 5 && sc >= 0 && sc < 7;
          if (!inside) filled++;
          assert.equal(got[i][k][r][c], inside ? src[i][k][sr][sc] : [-1, 3][k], `sample ${i} channel ${k} at ${r},${c}`);
        }
      }
    }
  }
  assert.ok(filled > 0, 'some crops reach into the padding');
  assert.ok(draws.flip.some((f) => f === 1) && draws.flip.some((f) => f === 0), 'both flipped and plain samples');
  dispose([x, out]);
});

test('random erasing writes one rectangle of the value per erased sample and leaves the rest alone', () => {
  manualSeed(2);
  const x = randn([40, 3, 8, 10]);
  const augment = new BatchAugment({ erasing: 0.5, erasingValue: [7, 8, 9], seed: 3 });
  const draws = augment.draw(40, 8, 10);
  const out = augment.applyDraws(x, draws);
  const src = pixels(x); const got = pixels(out);
  const erased = Array.from(draws.erase.height).filter((h) => h > 0).length;
  assert.ok(erased > 8 && erased < 32, `about half the samples erased (${erased} of 40)`);
  for (let i = 0; i < 40; i++) {
    const { top, left, height, width } = { top: draws.erase.top[i], left: draws.erase.left[i], height: draws.erase.height[i], width: draws.erase.width[i] };
    if (height > 0) {
      const area = (height * width) / 80;
      assert.ok(area >= 0.0125 && area <= 0.3, `erased share ${area} near the scale [0.02, 0.25]`);
      assert.ok(top + height <= 8 && left + width <= 10, 'the rectangle lies inside the image');
    }
    for (let k = 0; k < 3; k++) {
      for (let r = 0; r < 8; r++) {
        for (let c = 0; c < 10; c++) {
          const inRect = r >= top && r < top + height && c >= left && c < left + width;
          assert.equal(got[i][k][r][c], inRect ? 7 + k : src[i][k][r][c]);
        }
      }
    }
  }
  dispose([x, out]);
});

test('seeded: the same seed gives the same batches, another seed others; state resumes the draws', () => {
  manualSeed(3);
  const x = randn([16, 1, 12, 12]);
  const options = { padding: 2, flip: true, erasing: 0.5 };
  const [a, b, c] = [new BatchAugment({ ...options, seed: 5 }), new BatchAugment({ ...options, seed: 5 }), new BatchAugment({ ...options, seed: 6 })];
  tidy(() => {
    assert.ok(same(a.apply(x), b.apply(x)), 'same seed, same output');
    assert.ok(!same(a.apply(x), c.apply(x)), 'another seed, another output');
    const state = a.getState();
    const next = a.apply(x);
    const again = a.apply(x);
    assert.ok(!same(next, again), 'each batch gets new draws');
    a.setState(state);
    assert.ok(same(a.apply(x), next), 'setState replays the draws');
    assert.ok(same(new BatchAugment().apply(x), x), 'nothing on: a copy of the input');
  });
  assert.equal(new BatchAugment().active, false);
  assert.match(String(new BatchAugment({ ...options, seed: 1 })), /random crop \(padding 2\), horizontal flip, random erasing \(p 0\.5/);
  dispose(x);
});

test('AugmentedLoader keeps labels, shapes, batch count and order of its source and frees what it replaces', async () => {
  const train = loadSample({ split: 'test' });
  const plain = new DataLoader(train, { batchSize: 100, shuffle: true, seed: 4 });
  const augmented = new AugmentedLoader(new DataLoader(train, { batchSize: 100, shuffle: true, seed: 4 }), new BatchAugment({ padding: 2, flip: true, erasing: 0.5, seed: 1 }));
  assert.equal(augmented.length, plain.length);
  assert.equal(augmented.numSamples, plain.numSamples);
  assert.deepEqual(augmented.dataset?.classes, train.classes);
  const before = memory().liveTensors;
  const reference = [...plain];
  let batches = 0; let changed = 0;
  for await (const batch of augmented) {
    const expected = reference[batches++];
    assert.ok(same(batch.y, expected.y), 'labels pass through unchanged, in order');
    assert.deepEqual(batch.x.shape, expected.x.shape);
    if (!same(batch.x, expected.x)) changed++;
    dispose([batch, expected]);
  }
  assert.equal(batches, plain.length);
  assert.equal(changed, batches, 'every batch is augmented');
  assert.equal(memory().liveTensors, before, 'no tensor left behind');
  assert.equal(augmented.withoutAugmentation(), augmented.source);
  const state = augmented.getState();
  const first = (await augmented[Symbol.asyncIterator]().next()).value as { x: Tensor; y: Tensor };
  augmented.setState(state);
  const replay = (await augmented[Symbol.asyncIterator]().next()).value as { x: Tensor; y: Tensor };
  assert.ok(same(first.x, replay.x) && same(first.y, replay.y), 'getState/setState replays order and augmentation');
  dispose([first, replay]);
  assert.throws(() => augmented.setState({ source: null } as never), /state must come from getState/);
  train.dispose();
});

test('bad options are refused with the option named', () => {
  assert.throws(() => new BatchAugment({ padding: -1 }), /padding must be a non-negative integer, got -1/);
  assert.throws(() => new BatchAugment({ erasing: 2 }), /erasing must be a probability in \[0, 1\], got 2/);
  assert.throws(() => new BatchAugment({ erasingScale: [0.5, 0.1] }), /erasingScale must be \[min, max\]/);
  const x = randn([2, 3, 4, 4]);
  assert.throws(() => new BatchAugment({ padding: 1, fill: [0, 0] }).apply(x), /fill needs one finite value or 3/);
  assert.throws(() => new BatchAugment({ flip: true }).apply(x.reshape(2, 48)), /inputs must be \[N, C, H, W\], got \[2, 48\]/);
  x.dispose();
});
