import test from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Tensor, noGrad, tensor, tidy } from '../../src/tensor/index.js';
import { loadModel, saveModel } from '../../src/io/index.js';
import { type TfjsModel, cutKerasModel, kerasArchitectureOf, loadTfjsModel, parseKerasTopology } from '../../src/io/tfjs/index.js';
import { NSFWJS_CLASSES, PHOTOS, maxAbsDiff, nhwcToNchw, nsfwjsModelJson, photosNhwc, tfjsLoad, tfjsPredict } from './tfjs-helpers.js';
import { tempDir } from './util.js';

const missing = PHOTOS.filter((p) => !existsSync(p));
const skip = missing.length > 0 ? `photos missing (apt-get install python3-skimage python-matplotlib-data): ${missing.join(', ')}` : undefined;

/** The photos, preprocessed once (224 px, x/255), and TF.js's probabilities for them. */
const reference = skip ? undefined : (async () => {
  const nhwc = await photosNhwc(PHOTOS, 224);
  const [probabilities] = await tfjsPredict(await tfjsLoad(nsfwjsModelJson()), nhwc, [PHOTOS.length, 224, 224, 3]);
  return { nhwc, nchw: nhwcToNchw(nhwc, [PHOTOS.length, 224, 224, 3]), probabilities };
})();

/** One import shared by the tests (building MobileNetV2 runs a forward pass to infer shapes). */
let shared: TfjsModel | undefined;
const imported = (): TfjsModel => (shared ??= loadTfjsModel(nsfwjsModelJson()));
test.after(() => shared?.model.dispose());

const run = (model: { forward(x: Tensor): Tensor }, nchw: Float32Array): Float32Array =>
  tidy(() => noGrad(() => model.forward(tensor(nchw, [PHOTOS.length, 3, 224, 224])).softmax(1).toArray() as Float32Array));

test("nsfwjs's MobileNetV2 imported from its TF.js files gives TF.js's probabilities on real photos within 1e-4", { skip }, async () => {
  const { nchw, probabilities } = await reference!;
  const loaded = imported();
  assert.deepEqual(loaded.inputShape, [3, 224, 224]);
  assert.deepEqual(loaded.droppedSoftmax, ['dense_3'], 'the final softmax is dropped: the model returns logits');
  assert.equal(loaded.kerasVersion, '2.2.4');
  assert.equal(loaded.model.training, false);
  const got = run(loaded.model, nchw);
  const diff = maxAbsDiff(got, probabilities);
  assert.ok(diff < 1e-4, `max |Kestrel - TF.js| = ${diff}`);
  // The photos are ordinary (a cat, a cup of coffee, an astronaut, Grace Hopper): both agree on each class.
  for (let i = 0; i < PHOTOS.length; i++) {
    const row = (a: Float32Array) => Array.from(a.subarray(i * 5, i * 5 + 5));
    const top = (a: number[]) => a.indexOf(Math.max(...a));
    assert.equal(NSFWJS_CLASSES[top(row(got))], NSFWJS_CLASSES[top(row(probabilities))], PHOTOS[i]);
  }
  // Parameters carry the Keras layer names, in PyTorch layouts.
  const state = loaded.model.stateDict();
  const shapes = Object.fromEntries([...state].map(([k, v]) => [k, v.shape]));
  assert.deepEqual(shapes['Conv1.weight'], [32, 3, 3, 3]);
  assert.deepEqual(shapes['bn_Conv1.running_mean'], [32]);
  assert.deepEqual(shapes['expanded_conv_depthwise.weight'], [32, 1, 3, 3]);
  assert.deepEqual(shapes['block_1_expand.weight'], [96, 16, 1, 1]);
  assert.deepEqual(shapes['dense_1.weight'], [256, 1280]);
  assert.deepEqual(shapes['dense_3.weight'], [5, 128]);
  const specs = JSON.parse(readFileSync(nsfwjsModelJson(), 'utf8')).weightsManifest[0].weights as { name: string; shape: number[] }[];
  const trainable = specs.filter((w) => !/moving_(mean|variance)$/.test(w.name)).reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(loaded.model.numParameters(), trainable, 'every Keras weight but the moving statistics (buffers in Kestrel) is a parameter');
});

test('an imported model round-trips through a Kestrel bundle (architecture keras): identical outputs', { skip }, async () => {
  const { nchw } = await reference!;
  const { dir, cleanup } = tempDir();
  const loaded = imported();
  try {
    const bundle = join(dir, 'nsfwjs');
    const architecture = kerasArchitectureOf(loaded);
    saveModel(bundle, loaded.model, { architecture, classes: NSFWJS_CLASSES, inputShape: [3, 224, 224], normalize: { mean: [0, 0, 0], std: [1, 1, 1] } });
    const { model, manifest } = loadModel(bundle);
    try {
      assert.equal(manifest.architecture.name, 'keras');
      assert.deepEqual([...model.stateDict().keys()], [...loaded.model.stateDict().keys()]);
      assert.deepEqual(run(model, nchw), run(loaded.model, nchw));
    } finally {
      model.dispose();
    }
  } finally {
    cleanup();
  }
});

test("nsfwjs's body cut at out_relu runs at 96 px and matches TF.js's body at that size within 1e-4", { skip }, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const shape = [2, 96, 96, 3];
    const nhwc = await photosNhwc(PHOTOS.slice(0, 2), 96);
    // TF.js: the same topology cut at out_relu, with a 96 px input, the head's weights ignored.
    const json = JSON.parse(readFileSync(nsfwjsModelJson(), 'utf8'));
    const config = json.modelTopology.model_config.config;
    const { removed } = cutKerasModel(parseKerasTopology(json.modelTopology), ['out_relu']);
    assert.deepEqual(removed, ['average_pooling2d_1', 'flatten_1', 'dense_1', 'dropout_2', 'dense_2', 'dropout_3', 'dense_3']);
    config.layers = config.layers.filter((l: { name: string }) => !removed.includes(l.name));
    config.layers[0].config.batch_input_shape = [null, 96, 96, 3];
    config.output_layers = [['out_relu', 0, 0]];
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    copyFileSync(join(dirname(nsfwjsModelJson()), 'group1-shard1of1'), join(dir, 'group1-shard1of1'));
    const [expected] = await tfjsPredict(await tfjsLoad(join(dir, 'model.json'), { strict: false }), nhwc, shape);

    const body = loadTfjsModel(nsfwjsModelJson(), { inputShape: [3, 96, 96], outputs: ['out_relu'] });
    try {
      assert.deepEqual(body.model.outputs[0].shape, [null, 1280, 3, 3]);
      assert.ok(!body.model.stateDict().has('dense_1.weight'));
      const got = tidy(() => noGrad(() => body.model.forward(tensor(nhwcToNchw(nhwc, shape), [2, 3, 96, 96])).toArray() as Float32Array));
      const diff = maxAbsDiff(got, nhwcToNchw(expected, [2, 3, 3, 1280]));
      assert.ok(diff < 1e-4, `max |Kestrel - TF.js| = ${diff}`);
      assert.deepEqual(kerasArchitectureOf(body).options.outputs, ['out_relu'], 'a bundle rebuilds the same cut');
    } finally {
      body.model.dispose();
    }
  } finally {
    cleanup();
  }
});
