import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tfTypes from '@tensorflow/tfjs';
import { importTfjs, tfjsImporter } from '../../src/cli/import-tfjs.js';
import { importerFor } from '../../src/cli/importers.js';
import { loadModel, loadTfjsModel, readModelManifest, saveModel } from '../../src/io/index.js';
import { memory, noGrad, tensor, tidy } from '../../src/tensor/index.js';
import { NSFWJS_CLASSES, maxAbsDiff, nhwcToNchw, nsfwjsModelJson, tfjs, tfjsPredict, tfjsSave } from '../io/tfjs-helpers.js';
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
    assert.equal(importerFor(path), tfjsImporter);
    assert.equal(importerFor(join(dir, 'tfjs')), tfjsImporter, 'a folder holding model.json');
    writeFileSync(join(dir, 'weights.pth'), 'PK');
    assert.notEqual(importerFor(join(dir, 'weights.pth')), tfjsImporter);
    assert.throws(() => importerFor(dir), /unknown file type/);
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

const BIN = fileURLToPath(new URL('../../../bin/kestrel.js', import.meta.url));
const kestrel = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 600000 });

test("kestrel import of nsfwjs's model.json writes a keras bundle with nsfwjs's classes, unit normalisation and the TF.js weights", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const out = join(dir, 'nsfwjs');
    const run = kestrel('import', nsfwjsModelJson(), '--classes', NSFWJS_CLASSES.join(','), '--normalize', 'unit', '--out', out);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /imported TF\.js layers model .*: keras, 5 classes, 2,585,349 parameters, input 3x224x224/);
    const manifest = readModelManifest(out);
    assert.deepEqual(manifest.classes, NSFWJS_CLASSES);
    assert.deepEqual(manifest.inputShape, [3, 224, 224]);
    assert.equal(manifest.normalize, null, 'unit: pixels / 255, as nsfwjs feeds them');
    const { model } = loadModel(out);
    const direct = loadTfjsModel(nsfwjsModelJson());
    try {
      for (const [name, t] of direct.model.stateDict()) assert.deepEqual(model.stateDict().get(name)!.toArray(), t.toArray(), name);
    } finally {
      model.dispose();
      direct.model.dispose();
    }
  } finally {
    cleanup();
  }
});

test('kestrel import refuses a TF.js model with a missing shard, or the wrong number of class names: non-zero exit, nothing written', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const src = await saved(await classifier([12, 12, 3]), join(dir, 'tfjs'));
    const wrongCount = kestrel('import', src, '--classes', 'a,b', '--out', join(dir, 'out1'));
    assert.notEqual(wrongCount.status, 0);
    assert.match(wrongCount.stderr, /2 class names given but the output layer 'probs' of TF\.js model .* has 4 rows/);
    rmSync(join(dir, 'tfjs', 'group1-shard1of1.bin'));
    const missing = kestrel('import', join(dir, 'tfjs'), '--out', join(dir, 'out2'));
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /weight shard 'group1-shard1of1\.bin' is missing/);
    assert.ok(!existsSync(join(dir, 'out1')) && !existsSync(join(dir, 'out2')), 'nothing written');
  } finally {
    cleanup();
  }
});
