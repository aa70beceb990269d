import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { type Tensor, manualSeed, noGrad, randn, tidy } from '../../src/tensor/index.js';
import { GraphModel, type Module, concatenate, input } from '../../src/nn/index.js';
import { preprocessImages } from '../../src/data/index.js';
import { exportOnnx, loadTfjsModel } from '../../src/io/index.js';
import { GlobalPool2d, KerasActivation, KerasConv2d, KerasDense, KerasFlatten, KerasReLU, KerasReshape, Rescaling, SamePool2d, SeparableConv2d } from '../../src/io/tfjs/index.js';
import { nsfwjsModelJson } from './tfjs-helpers.js';

const PHOTOS = ['chelsea.png', 'coffee.png', 'astronaut.png'].map((f) => `/usr/lib/python3/dist-packages/skimage/data/${f}`);

async function largestDifference(model: Module, x: Tensor, inputShape: number[]): Promise<number> {
  model.eval();
  const session = await InferenceSession.create(exportOnnx(model, { inputShape }).bytes);
  const expected = noGrad(() => tidy(() => model.forward(x).toArray() as Float32Array));
  const { logits } = await session.run({ input: new OrtTensor('float32', x.toArray() as Float32Array, x.shape) });
  const got = logits.data as Float32Array;
  assert.equal(got.length, expected.length);
  let diff = 0;
  for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i] - expected[i]));
  return diff;
}

test('the layers the TF.js importer builds export with Keras semantics (same padding, NHWC flatten and dense, fused activations)', async () => {
  manualSeed(5);
  const inp = input([3, 17, 16]);
  let x = new Rescaling(2, -1).apply(inp);
  x = new KerasConv2d(3, 8, [3, 3], { stride: [2, 2], pads: [0, 1, 1, 1], activation: 'swish' }).apply(x);
  x = new SeparableConv2d(8, 8, [3, 3], { pads: [1, 1, 1, 1], depthMultiplier: 2, activation: 'relu6' }).apply(x);
  const a = new SamePool2d('avg', [3, 3], [2, 2], [0, 1, 0, 1]).apply(new KerasActivation('hard_sigmoid').apply(x));
  const b = new SamePool2d('max', [3, 3], [2, 2], [0, 1, 0, 1]).apply(new KerasReLU(4, 0.1, 0.5).apply(x));
  const c = new KerasDense(8, 6, { activation: 'gelu' }).apply(a);
  const flat = new KerasFlatten().apply(b);
  const d = new KerasReshape([5, 5, 8]).apply(new KerasDense(flat.shape[1]!, 200, { activation: 'elu' }).apply(flat));
  const pooled = new GlobalPool2d('avg').apply(new KerasConv2d(8, 6, [1, 1], { activation: 'tanh' }).apply(d));
  const out = new KerasDense(6 + 6, 4, { activation: 'softmax' }).apply(
    concatenate([pooled, new GlobalPool2d('max').apply(c)], { dim: 1 }),
  );
  const model = new GraphModel({ inputs: inp, outputs: out });
  const batch = randn([2, 3, 17, 16]);
  const diff = await largestDifference(model, batch, [3, 17, 16]);
  assert.ok(diff < 1e-5, `Keras layers: ${diff}`);
  batch.dispose();
  model.dispose();
});

test('nsfwjs MobileNetV2 imported from TF.js exports to ONNX and matches onnxruntime on real photos', { skip: PHOTOS.every(existsSync) ? undefined : 'scikit-image photos not installed' }, async () => {
  const { model, inputShape } = loadTfjsModel(nsfwjsModelJson());
  const { x } = await preprocessImages(PHOTOS, { transforms: { size: 224, resize: 'squish' }, decode: { channels: 3 }, normalize: 'none' });
  const diff = await largestDifference(model, x!, inputShape);
  assert.ok(diff < 1e-4, `nsfwjs: ${diff}`);
  x!.dispose();
  model.dispose();
});
