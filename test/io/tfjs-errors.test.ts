import test from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { loadTfjsModel } from '../../src/io/tfjs/index.js';
import { memory, noGrad, tensor, tidy } from '../../src/tensor/index.js';
import { maxAbsDiff, nhwcToNchw, tfjs, tfjsPredict, tfjsSave } from './tfjs-helpers.js';
import { randomizeWeights } from './tfjs-models.js';
import { tempDir } from './util.js';

type Json = Record<string, any>;

/** A small model saved by TF.js: conv 'c1' -> bn 'bn1' -> relu -> flatten -> dense 'fc'. */
async function smallModel(shape: (number | null)[] = [8, 8, 3]): Promise<tfTypes.LayersModel> {
  const tf = await tfjs();
  const input = tf.input({ shape, name: 'x' });
  let y = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', name: 'c1' }).apply(input) as tfTypes.SymbolicTensor;
  y = tf.layers.batchNormalization({ name: 'bn1' }).apply(y) as tfTypes.SymbolicTensor;
  y = tf.layers.reLU({ name: 'r1' }).apply(y) as tfTypes.SymbolicTensor;
  if (shape[0] === null) y = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(y) as tfTypes.SymbolicTensor;
  else y = tf.layers.flatten({ name: 'flat' }).apply(y) as tfTypes.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 3, name: 'fc' }).apply(y) as tfTypes.SymbolicTensor });
  await randomizeWeights(model, 3);
  return model;
}

const { dir: root, cleanup } = tempDir();
test.after(cleanup);
const baseDir = join(root, 'base');
const base = (async () => { mkdirSync(baseDir); return tfjsSave(await smallModel(), baseDir); })();
let copies = 0;

/** A fresh copy of the small model's files, changed by `edit` (given the copy's directory); returns its model.json. */
async function editFiles(edit: (dir: string) => void): Promise<string> {
  await base;
  const dir = join(root, `case${copies++}`);
  cpSync(baseDir, dir, { recursive: true });
  edit(dir);
  return join(dir, 'model.json');
}

/** A fresh copy of the small model whose model.json is changed by `edit`. */
async function editJson(edit: (json: Json) => void): Promise<string> {
  return editFiles((dir) => {
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    edit(json);
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
  });
}

/** Loading `path` fails with one error matching every pattern, and leaves no tensor behind. */
function assertRefused(path: string, ...patterns: RegExp[]): void {
  const before = memory().liveTensors;
  let message = '';
  assert.throws(() => loadTfjsModel(path), (error: Error) => { message = error.message; return true; });
  assert.ok(message.startsWith(`'${path}'`) || message.includes(path), `the error names the file: ${message}`);
  for (const pattern of patterns) assert.match(message, pattern);
  assert.equal(memory().liveTensors, before, 'a refused model leaves no tensors behind');
}

const layerOf = (json: Json, name: string): Json => json.modelTopology.config.layers.find((l: Json) => l.name === name);

test('the unedited small model loads (the cases below each break one thing)', async () => {
  const loaded = loadTfjsModel(await base);
  loaded.model.dispose();
});

test("Keras names with '.' (as Keras Applications name models) load, with '_' in Kestrel's names", async () => {
  const path = await editJson((json) => {
    json.modelTopology.config.name = 'mobilenetv2_1.00_224';
    const rename = (name: string) => (name === 'c1' ? 'conv.1' : name);
    for (const layer of json.modelTopology.config.layers) {
      layer.name = rename(layer.name);
      layer.config.name = rename(layer.config.name);
      for (const call of layer.inbound_nodes) for (const ref of call) ref[0] = rename(ref[0]);
    }
    for (const w of json.weightsManifest[0].weights) w.name = w.name.replace(/^c1\//, 'conv.1/');
  });
  const loaded = loadTfjsModel(path);
  try {
    assert.equal(loaded.model.name, 'mobilenetv2_1_00_224');
    assert.deepEqual([...loaded.model.stateDict().keys()].slice(0, 2), ['conv_1.weight', 'conv_1.bias']);
  } finally {
    loaded.model.dispose();
  }
});

test('a missing shard is one error naming the shard file', async () => {
  assertRefused(await editFiles((dir) => rmSync(join(dir, 'group1-shard1of1.bin'))), /weight shard 'group1-shard1of1\.bin' is missing/);
});

test('a truncated shard is one error naming the shard file', async () => {
  assertRefused(await editFiles((dir) => truncateSync(join(dir, 'group1-shard1of1.bin'), 100)), /'group1-shard1of1\.bin' \(100 bytes\) hold 100 bytes but their weights need \d+: 'group1-shard1of1\.bin' is truncated/);
});

test('an unsupported layer class is one error naming the layer and its class (every such layer)', async () => {
  const path = await editJson((json) => { layerOf(json, 'c1').class_name = 'LSTM'; layerOf(json, 'r1').class_name = 'PReLU'; });
  assertRefused(path, /unsupported layer 'c1' \(LSTM\), layer 'r1' \(PReLU\): Kestrel imports Conv2D, /);
});

test('unsupported options and activations name the layer, the option and the value', async () => {
  assertRefused(await editJson((json) => { layerOf(json, 'c1').config.data_format = 'channels_first'; }), /layer 'c1' \(Conv2D\): option 'data_format' must be one of 'channels_last'/);
  assertRefused(await editJson((json) => { layerOf(json, 'c1').config.padding = 'causal'; }), /layer 'c1' \(Conv2D\): option 'padding' must be one of 'valid', 'same'.*got "causal"/);
  assertRefused(await editJson((json) => { layerOf(json, 'fc').config.activation = 'crelu'; }), /layer 'fc' \(Dense\): activation "crelu" is not supported/);
  assertRefused(await editJson((json) => { layerOf(json, 'bn1').config.axis = 1; }), /layer 'bn1' \(BatchNormalization\): normalises axis 1, not the channels/);
});

test('a weight whose shape does not fit its layer is one error naming weight, shapes and layer', async () => {
  // Same byte count, dims swapped: only the shape check can catch it.
  const path = await editJson((json) => { json.weightsManifest[0].weights.find((w: Json) => w.name === 'c1/kernel').shape = [3, 3, 4, 3]; });
  assertRefused(path, /weight 'c1\/kernel' has shape \[3, 3, 4, 3\] but layer 'c1' \(Conv2D\) needs \[3, 3, 3, 4\]/);
});

test('a weight no layer reads, or a layer weight the manifest lacks, is refused with both names', async () => {
  const path = await editJson((json) => { json.weightsManifest[0].weights.find((w: Json) => w.name === 'fc/bias').name = 'fc2/bias'; });
  assertRefused(path, /missing weight 'fc\/bias' for layer 'fc' \(Dense\)/, /weight 'fc2\/bias' is not read by any layer/);
});

test('malformed or foreign JSON is one clear error each', async () => {
  assertRefused(await editFiles((dir) => writeFileSync(join(dir, 'model.json'), '{"modelTopology": {')), /is not valid JSON/);
  assertRefused(await editFiles((dir) => writeFileSync(join(dir, 'model.json'), '[1, 2]')), /must hold a JSON object/);
  assertRefused(await editFiles((dir) => writeFileSync(join(dir, 'model.json'), '{"format": "graph-model", "modelTopology": {"node": []}, "weightsManifest": []}')), /is a TF\.js graph model/);
  assertRefused(await editFiles((dir) => writeFileSync(join(dir, 'model.json'), '{"hello": 1}')), /is not a TF\.js model\.json/);
  assertRefused(await editJson((json) => { json.modelTopology.class_name = 'Graph'; }), /model class "Graph" is not supported/);
  assertRefused(await editJson((json) => { layerOf(json, 'fc').inbound_nodes = [[['nowhere', 0, 0, {}]]]; }), /layer 'fc' \(Dense\) reads \["nowhere",0,0\], but there is no layer 'nowhere'/);
  assertRefused(await editJson((json) => { layerOf(json, 'fc').inbound_nodes = [[['flat', 3, 0, {}]]]; }), /call 3 of 'flat' is never made/);
  assertRefused(await editJson((json) => { layerOf(json, 'fc').inbound_nodes = 'x'; }), /inbound_nodes must be an array/);
  assertRefused(await editJson((json) => { json.weightsManifest[0].paths = ['../../etc/passwd']; }), /is not a relative file name inside the model's directory/);
  assertRefused(join(root, 'no-such-dir', 'model.json'), /cannot read TF\.js model/);
});

test('an input with open height and width needs inputShape; given one, the model matches TF.js', async () => {
  const { dir, cleanup: done } = tempDir();
  try {
    const tfModel = await smallModel([null, null, 3]);
    const path = await tfjsSave(tfModel, dir);
    assertRefused(path, /stride > 1 needs the input's spatial size; give the input shape|has open sizes \[3, null, null\]/);
    assert.throws(() => loadTfjsModel(path, { inputShape: [1, 10, 10] }), /inputShape \[1, 10, 10\] does not fit input 'x' of shape \[3, null, null\]/);
    const loaded = loadTfjsModel(path, { inputShape: [3, 10, 14] });
    try {
      const shape = [2, 10, 14, 3];
      const nhwc = Float32Array.from({ length: 2 * 10 * 14 * 3 }, (_, i) => Math.sin(i));
      const [expected] = await tfjsPredict(tfModel, nhwc, shape);
      const got = tidy(() => noGrad(() => loaded.model.forward(tensor(nhwcToNchw(nhwc, shape), [2, 3, 10, 14])).toArray() as Float32Array));
      assert.ok(maxAbsDiff(got, expected) < 1e-5);
    } finally {
      loaded.model.dispose();
    }
  } finally {
    done();
  }
});
