import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { importTfjs, tfjsImporter } from '../../src/cli/import-tfjs.js';
import { loadModel, saveModel } from '../../src/io/index.js';
import { memory, noGrad, tensor, tidy } from '../../src/tensor/index.js';
import { maxAbsDiff, nhwcToNchw, tfjs, tfjsPredict, tfjsSave } from '../io/tfjs-helpers.js';
import { randomizeWeights } from '../io/tfjs-models.js';
import { tempDir } from '../io/util.js';

/** conv -> global average pooling -> dense softmax over 4 classes (two outputs with `aux`). */
async function classifier(shape: (number | null)[], aux = false): Promise<tfTypes.LayersModel> {
  const tf = await tfjs();
  const input = tf.input({ shape });
  const features = tf.layers.globalAveragePooling2d({}).apply(tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(input)) as tfTypes.SymbolicTensor;
  const probs = tf.layers.dense({ units: 4, activation: 'softmax', name: 'probs' }).apply(features) as tfTypes.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: aux ? [probs, tf.layers.dense({ units: 2 }).apply(features) as tfTypes.SymbolicTensor] : probs });
  await randomizeWeights(model, 5);
  return model;
}

async function saved(model: tfTypes.LayersModel, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  return tfjsSave(model, dir);
}

test('the TF.js importer takes model.json or its folder, and the bundle it makes predicts what TF.js predicts', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const tfModel = await classifier([20, 20, 3]);
    const path = await saved(tfModel, join(dir, 'tfjs'));
    assert.ok(tfjsImporter.matches(path) && tfjsImporter.matches(join(dir, 'tfjs')));
    assert.ok(!tfjsImporter.matches(join(dir, 'weights.pth')) && !tfjsImporter.matches(dir));
    const before = memory().liveTensors;
    // NOTE: the model's own 20 px input wins over --size.
    const imported = await importTfjs({ path: join(dir, 'tfjs'), size: 224 });
    try {
      assert.equal(imported.numClasses, 4);
      assert.equal(imported.inChannels, 3);
      assert.deepEqual(imported.inputShape, [3, 20, 20]);
      assert.equal(imported.architecture.name, 'keras');
      assert.match(imported.head, /output layer 'probs'/);
      assert.match(imported.description, /softmax dropped: logits out/);
      saveModel(join(dir, 'bundle'), imported.model, { architecture: imported.architecture, classes: ['a', 'b', 'c', 'd'], inputShape: imported.inputShape, normalize: null });
    } finally {
      imported.model.dispose();
    }
    assert.equal(memory().liveTensors, before);
    const { model } = loadModel(join(dir, 'bundle'));
    try {
      const shape = [2, 20, 20, 3];
      const nhwc = Float32Array.from({ length: 2 * 20 * 20 * 3 }, (_, i) => (Math.cos(i) + 1) / 2);
      const [expected] = await tfjsPredict(tfModel, nhwc, shape);
      const got = tidy(() => noGrad(() => model.forward(tensor(nhwcToNchw(nhwc, shape), [2, 3, 20, 20])).softmax(1).toArray() as Float32Array));
      assert.ok(maxAbsDiff(got, expected) < 1e-5);
    } finally {
      model.dispose();
    }
  } finally {
    cleanup();
  }
});

test('open input sizes take --size; --arch, several outputs and non-classifiers are refused clearly', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const open = await saved(await classifier([null, null, 3]), join(dir, 'open'));
    const imported = await importTfjs({ path: open, size: 48 });
    assert.deepEqual(imported.inputShape, [3, 48, 48]);
    imported.model.dispose();
    await assert.rejects(importTfjs({ path: open, size: 48, arch: 'resnet18' }), /--arch resnet18 does not apply to TF\.js models/);
    const before = memory().liveTensors;
    const two = await saved(await classifier([16, 16, 3], true), join(dir, 'two'));
    await assert.rejects(importTfjs({ path: two, size: 16 }), /classifiers with one output \[batch, classes\]; this model's outputs are \[null, 4\], \[null, 2\]/);
    const tf = await tfjs();
    const input = tf.input({ shape: [8, 8, 3] });
    const dense = await saved(tf.model({ inputs: input, outputs: tf.layers.conv2d({ filters: 2, kernelSize: 1 }).apply(input) as tfTypes.SymbolicTensor }), join(dir, 'conv'));
    await assert.rejects(importTfjs({ path: dense, size: 8 }), /this model's outputs are \[null, 2, 8, 8\]/);
    assert.equal(memory().liveTensors, before, 'refused imports leave no tensors behind');
    writeFileSync(join(dir, 'bad.json'), '{');
    await assert.rejects(importTfjs({ path: join(dir, 'bad.json'), size: 8 }), /bad\.json' is not valid JSON/);
  } finally {
    cleanup();
  }
});
