import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { KerasConv2d, SeparableConv2d, loadTfjsModel } from '../../src/io/tfjs/index.js';
import type * as tfTypes from '@tensorflow/tfjs';
import { type Tensor, memory, noGrad, tensor, tidy } from '../../src/tensor/index.js';
import { maxAbsDiff, nhwcToNchw, quantizeModel, tfjs, tfjsLoad, tfjsPredict, tfjsSave } from './tfjs-helpers.js';
import { branchyModel, sequentialModel, sharedModel } from './tfjs-models.js';
import { tempDir } from './util.js';

const TOLERANCE = 1e-5;

/** Seeded uniform [0, 1) input, NHWC for TF.js and the same floats NCHW for Kestrel. */
async function inputs(shape: number[]): Promise<{ nhwc: Float32Array; nchw: Float32Array }> {
  const tf = await tfjs();
  const nhwc = (await tf.randomUniform(shape, 0, 1, 'float32', 7).data()) as Float32Array;
  return { nhwc, nchw: nhwcToNchw(nhwc, shape) };
}

/** Kestrel's outputs (softmax applied to those given in `softmaxed`) for NCHW input. */
function kestrelOutputs(model: { forwardAll(xs: Tensor[]): Tensor[] }, nchw: Float32Array, shape: number[], softmaxed: number[] = []): Float32Array[] {
  const [n, h, w, c] = shape;
  return tidy(() => noGrad(() => model.forwardAll([tensor(nchw, [n, c, h, w])])
    .map((y, i) => (softmaxed.includes(i) ? y.softmax(1) : y).toArray() as Float32Array)));
}

function assertClose(got: Float32Array[], expected: Float32Array[], label: string): void {
  assert.equal(got.length, expected.length, `${label}: number of outputs`);
  got.forEach((g, i) => {
    const diff = maxAbsDiff(g, expected[i]);
    assert.ok(diff < TOLERANCE, `${label}, output ${i}: max |Kestrel - TF.js| = ${diff}`);
  });
}

test('a functional model saved by TF.js (padding, strided same convs, separable, depthwise, BN, merges, pooling, dense, two outputs) matches TF.js within 1e-5', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const shape = [3, 16, 16, 3];
    const tfModel = await branchyModel();
    const path = await tfjsSave(tfModel, dir, 3);
    const { nhwc, nchw } = await inputs(shape);
    const expected = await tfjsPredict(tfModel, nhwc, shape);
    const before = memory().liveTensors;
    const loaded = loadTfjsModel(path);
    try {
      assert.deepEqual(loaded.inputShape, [3, 16, 16]);
      assert.deepEqual(loaded.droppedSoftmax, ['probs']);
      assertClose(kestrelOutputs(loaded.model, nchw, shape, [0]), expected, 'float32, 3 shards');
      // The layers Kestrel built, named by Keras, with PyTorch layouts and TF's asymmetric 'same' padding.
      const convB = loaded.model.layer('conv_b') as KerasConv2d;
      assert.deepEqual(convB.prePads, [0, 1, 0, 1], "stride-2 'same' on 16 px pads one row and column at the bottom right");
      assert.ok(loaded.model.layer('sep') instanceof SeparableConv2d);
      const shapes = Object.fromEntries([...loaded.model.stateDict()].map(([k, v]) => [k, v.shape]));
      assert.deepEqual(shapes['conv_a.weight'], [8, 3, 3, 3]);
      assert.deepEqual(shapes['sep.depthwise.weight'], [32, 1, 3, 3]);
      assert.deepEqual(shapes['sep.pointwise.weight'], [12, 32, 1, 1]);
      assert.deepEqual(shapes['dw.weight'], [24, 1, 3, 3]);
      assert.deepEqual(shapes['fc1.weight'], [10, 96]);
      assert.deepEqual(shapes['bn_f.bias'], [24], 'center: false gives a zero bias');
      assert.deepEqual(Array.from(loaded.model.stateDict().get('bn_f.bias')!.toArray() as Float32Array), new Array(24).fill(0));
      const trainable = tfModel.trainableWeights.reduce((sum, w) => sum + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
      assert.equal(loaded.model.numParameters(), trainable + 24, 'Keras trainable weights, plus bn_f\'s zero bias');
    } finally {
      loaded.model.dispose();
    }
    assert.equal(memory().liveTensors, before);

    // logits: false keeps the final softmax.
    const probs = loadTfjsModel(path, { logits: false });
    try {
      assert.deepEqual(probs.droppedSoftmax, []);
      assertClose(kestrelOutputs(probs.model, nchw, shape), expected, 'logits: false');
    } finally {
      probs.model.dispose();
    }

    // The same topology written in the newer inbound_nodes format ({args, kwargs} with __keras_tensor__).
    const json = JSON.parse(readFileSync(path, 'utf8'));
    const kerasTensor = ([name, node, index]: [string, number, number]) => ({ class_name: '__keras_tensor__', config: { shape: null, dtype: 'float32', keras_history: [name, node, index] } });
    for (const layer of json.modelTopology.config.layers) {
      layer.inbound_nodes = layer.inbound_nodes.map((call: [string, number, number][]) => ({ args: call.length === 1 ? [kerasTensor(call[0])] : [call.map(kerasTensor)], kwargs: {} }));
    }
    writeFileSync(path, JSON.stringify(json));
    const newer = loadTfjsModel(path);
    try {
      assertClose(kestrelOutputs(newer.model, nchw, shape, [0]), expected, 'newer inbound_nodes format');
    } finally {
      newer.model.dispose();
    }
  } finally {
    cleanup();
  }
});

test('a Sequential model saved by TF.js (rescaling, dilated and even-kernel same convs, activations, reshapes, global max pooling, softmax layer) matches TF.js within 1e-5', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const shape = [2, 12, 11, 3];
    const tfModel = await sequentialModel();
    const path = await tfjsSave(tfModel, dir);
    const { nhwc, nchw } = await inputs(shape);
    const expected = await tfjsPredict(tfModel, nhwc, shape);
    const loaded = loadTfjsModel(path);
    try {
      assert.equal(JSON.parse(readFileSync(path, 'utf8')).modelTopology.class_name, 'Sequential');
      assert.deepEqual(loaded.inputShape, [3, 12, 11]);
      assert.deepEqual(loaded.droppedSoftmax, ['sm']);
      assert.deepEqual((loaded.model.layer('even') as KerasConv2d).prePads, [0, 1, 1, 1]);
      assertClose(kestrelOutputs(loaded.model, nchw, shape, [0]), expected, 'sequential');
    } finally {
      loaded.model.dispose();
    }
  } finally {
    cleanup();
  }
});

test('a layer shared by two inputs is one module called twice, and the two-input model matches TF.js', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const tfModel = await sharedModel();
    const path = await tfjsSave(tfModel, dir);
    const tf = await tfjs();
    const shape = [2, 9, 9, 2];
    const left = (await tf.randomUniform(shape, -1, 1, 'float32', 11).data()) as Float32Array;
    const right = (await tf.randomUniform(shape, -1, 1, 'float32', 12).data()) as Float32Array;
    const y = tfModel.predict([tf.tensor(left, shape), tf.tensor(right, shape)]) as tfTypes.Tensor;
    const expected = (await y.data()) as Float32Array;
    const loaded = loadTfjsModel(path);
    try {
      assert.deepEqual(loaded.inputShapes, [[2, 9, 9], [2, 9, 9]]);
      assert.equal(loaded.model.steps.filter((s) => s.name === 'shared').length, 2);
      assert.deepEqual([...loaded.model.stateDict().keys()].filter((k) => k.startsWith('shared.')), ['shared.weight', 'shared.bias']);
      const got = tidy(() => noGrad(() => loaded.model.forwardAll([left, right].map((x) => tensor(nhwcToNchw(x, shape), [2, 2, 9, 9])))[0].toArray() as Float32Array));
      assert.ok(maxAbsDiff(got, expected) < TOLERANCE);
    } finally {
      loaded.model.dispose();
    }
  } finally {
    cleanup();
  }
});

for (const dtype of ['uint8', 'uint16', 'float16'] as const) {
  test(`${dtype}-quantized weights decode as TF.js decodes them: outputs within 1e-5`, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const shape = [2, 16, 16, 3];
      const path = await tfjsSave(await branchyModel(), dir, 2);
      quantizeModel(path, dtype);
      const manifest = JSON.parse(readFileSync(path, 'utf8')).weightsManifest[0];
      assert.ok(manifest.weights.every((w: { quantization?: { dtype: string } }) => w.quantization?.dtype === dtype));
      // TF.js reads the same quantized files.
      const { nhwc, nchw } = await inputs(shape);
      const expected = await tfjsPredict(await tfjsLoad(path), nhwc, shape);
      const loaded = loadTfjsModel(path);
      try {
        assertClose(kestrelOutputs(loaded.model, nchw, shape, [0]), expected, dtype);
      } finally {
        loaded.model.dispose();
      }
    } finally {
      cleanup();
    }
  });
}
