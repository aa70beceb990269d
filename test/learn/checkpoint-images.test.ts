import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageDataset, ImageLoader } from '../../src/data/image/index.js';
import { type Callback, CancelFitError, Checkpoint, Learner, loadCheckpoint } from '../../src/learn/index.js';
import { Flatten, Linear, Sequential } from '../../src/nn/index.js';
import { dispose, manualSeed, maxAbsDiff, tidy } from '../../src/tensor/index.js';
import { fromRaw, pattern, writeFile } from '../data/image/fixtures.js';

async function photos(dir: string): Promise<ImageDataset> {
  const items = [];
  for (let i = 0; i < 12; i++) {
    const pixels = pattern(40, 32);
    for (let k = i % 2; k < pixels.length; k += 3) pixels[k] = (pixels[k] + 97 * (i % 2)) % 256;
    items.push({ file: writeFile(join(dir, `p${i}.jpg`), await fromRaw(pixels, 40, 32).jpeg({ quality: 90 }).toBuffer()), label: i % 2 });
  }
  return new ImageDataset(items, ['even', 'odd']);
}

function build(data: ImageDataset, initSeed: number): Learner {
  manualSeed(initSeed);
  const model = new Sequential(new Flatten(), new Linear(3 * 16 * 16, 2));
  const transforms = { size: 16, randomResizedCrop: true, flipHorizontal: true };
  const train = new ImageLoader(data, { batchSize: 4, shuffle: true, seed: 3, workers: 1, transforms });
  const valid = new ImageLoader(data, { batchSize: 12, workers: 0, transforms: { size: 16 } });
  return new Learner(model, { train, valid }, { progress: false });
}

test('resume with an image-folder loader: the resumed epochs see the same order and augmentation as an uninterrupted run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-ckpt-img-'));
  try {
    const data = await photos(dir);
    const straight = build(data, 1);
    await straight.fit(3, 0.01);
    const expected = tidy(() => Object.fromEntries([...straight.model.stateDict()].map(([k, t]) => [k, t.clone()])));
    await (straight.data.train as ImageLoader).close();

    const first = build(data, 1);
    const crash: Callback = { order: 200, afterEpoch: (l) => { if (l.epoch === 0) throw new CancelFitError('simulated kill after epoch 1'); } };
    await first.fit(3, 0.01, { callbacks: [new Checkpoint(join(dir, 'ckpt'), { everyNEpochs: 1 }), crash] });
    await (first.data.train as ImageLoader).close();

    const resumed = build(data, 77);
    const info = loadCheckpoint(resumed, join(dir, 'ckpt'));
    assert.equal(info.epoch, 1);
    assert.deepEqual((resumed.data.train as ImageLoader).getState(), { epoch: 1, seed: 3 });
    await resumed.fit(3, 0.01, { startEpoch: info.epoch });
    await (resumed.data.train as ImageLoader).close();
    for (const [name, t] of Object.entries(expected)) {
      const diff = maxAbsDiff(t, resumed.model.stateDict().get(name)!);
      assert.ok(diff <= 1e-6, `${name} differs by ${diff}`);
    }
    straight.history.forEach((r, i) => assert.equal(resumed.history[i].trainLoss, r.trainLoss, `train loss of epoch ${i + 1}`));
    dispose(expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
