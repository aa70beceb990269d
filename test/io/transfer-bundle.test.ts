import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DataLoader, TensorDataset } from '../../src/data/index.js';
import { manualSeed, maxAbsDiff, noGrad, randint, randn, tidy } from '../../src/tensor/index.js';
import { visionLearner } from '../../src/vision/index.js';
import { loadModel, saveModel } from '../../src/io/index.js';
import { tempDir } from './util.js';

test("a visionLearner's model saves as a 'transfer' bundle and loads back with identical outputs; mobilenet_v2 is registered", () => {
  const { dir, cleanup } = tempDir();
  try {
    manualSeed(2);
    const data = { train: new DataLoader(new TensorDataset(randn([4, 3, 32, 32]), randint(0, 2, [4], { dtype: 'int64' }), { classes: ['cat', 'dog'] }), { batchSize: 4 }) };
    const learn = visionLearner(data, 'mobilenet_v2', { head: { linFtrs: [64], ps: 0.2 }, progress: false });
    assert.deepEqual(learn.architecture, { base: 'mobilenet_v2', numClasses: 2, head: { linFtrs: [64], ps: 0.2 } });
    const bundle = join(dir, 'pets');
    saveModel(bundle, learn.model, { architecture: { name: 'transfer', options: { ...learn.architecture } }, classes: ['cat', 'dog'], inputShape: [3, 32, 32], normalize: null });
    const { model, manifest } = loadModel(bundle);
    assert.equal(manifest.architecture.name, 'transfer');
    const x = randn([2, 3, 32, 32]);
    learn.model.eval();
    tidy(() => assert.equal(maxAbsDiff(noGrad(() => model.forward(x)), noGrad(() => learn.model.forward(x))), 0));
    const plain = join(dir, 'mobile');
    saveModel(plain, learn.model.body, { architecture: { name: 'mobilenet_v2', options: { numClasses: 2, input: { channels: 3, height: 32, width: 32 } } }, classes: ['cat', 'dog'], inputShape: [3, 32, 32] });
    assert.throws(() => loadModel(plain), /does not match architecture 'mobilenet_v2'.*\n {2}missing classifier\.1\.weight/s);
    x.dispose();
    model.dispose();
    learn.model.dispose();
  } finally {
    cleanup();
  }
});
