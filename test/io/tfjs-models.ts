/** Small TF.js models built by TF.js itself, covering the Keras layers Kestrel imports. */
import type * as tfTypes from '@tensorflow/tfjs';
import { tfjs } from './tfjs-helpers.js';

type SymbolicTensor = tfTypes.SymbolicTensor;

/** Gives every weight seeded random values (variances and gammas positive), like a trained model. */
export async function randomizeWeights(model: tfTypes.LayersModel, seed: number): Promise<void> {
  const tf = await tfjs();
  model.setWeights(model.weights.map((w, i) => {
    const positive = /moving_variance|gamma/.test(w.originalName);
    return tf.randomUniform(w.shape as number[], positive ? 0.5 : -0.4, positive ? 1.5 : 0.4, 'float32', seed + i);
  }));
}

/**
 * A functional model on 16x16x3 images with two outputs: asymmetric ZeroPadding2D, Conv2D 'same'
 * with stride 2 on an even size (asymmetric), BatchNormalization (one with center: false), ReLU
 * with max_value, Concatenate, SeparableConv2D and DepthwiseConv2D with depth multipliers, Add,
 * Multiply, Activation, 'same' max and average pooling, Flatten, Dense, Dropout,
 * GlobalAveragePooling2D; the first output ends in a softmax.
 */
export async function branchyModel(): Promise<tfTypes.LayersModel> {
  const tf = await tfjs();
  const L = tf.layers;
  const call = (layer: tfTypes.layers.Layer, x: SymbolicTensor | SymbolicTensor[]) => layer.apply(x) as SymbolicTensor;
  const input = tf.input({ shape: [16, 16, 3], name: 'img' });
  const padded = call(L.zeroPadding2d({ padding: [[0, 1], [0, 1]], name: 'pad' }), input);
  const convA = call(L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'conv_a' }), padded);
  const a = call(L.reLU({ maxValue: 6, name: 'relu6_a' }), call(L.batchNormalization({ epsilon: 1e-3, name: 'bn_a' }), convA));
  const b = call(L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'conv_b' }), input);
  const joined = call(L.concatenate({ name: 'cat' }), [a, b]);
  const sep = call(L.separableConv2d({ filters: 12, kernelSize: 3, padding: 'same', depthMultiplier: 2, activation: 'relu', name: 'sep' }), joined);
  const dw = call(L.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, name: 'dw' }), sep);
  const f = call(L.batchNormalization({ center: false, name: 'bn_f' }), dw);
  const g = call(L.conv2d({ filters: 24, kernelSize: 1, name: 'pw' }), f);
  const h = call(L.add({ name: 'add' }), [f, g]);
  const m = call(L.multiply({ name: 'mul' }), [h, call(L.activation({ activation: 'sigmoid', name: 'gate' }), g)]);
  const pooled = call(L.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'avgpool' }), call(L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'maxpool' }), m));
  const hidden = call(L.dropout({ rate: 0.3, name: 'drop' }), call(L.dense({ units: 10, activation: 'relu', name: 'fc1' }), call(L.flatten({ name: 'flat' }), pooled)));
  const probs = call(L.dense({ units: 5, activation: 'softmax', name: 'probs' }), hidden);
  const aux = call(L.dense({ units: 3, name: 'aux' }), call(L.globalAveragePooling2d({ name: 'gap' }), m));
  const model = tf.model({ inputs: input, outputs: [probs, aux], name: 'branchy' });
  await randomizeWeights(model, 1);
  return model;
}

/**
 * A Sequential model on 12x11x3 images (no InputLayer in its config): Rescaling, dilated and
 * even-kernel 'same' convolutions with stride [1, 2], LeakyReLU, activations (tanh, elu,
 * hardSigmoid, swish, selu), 'valid' average pooling, Reshape of images and of vectors,
 * GlobalMaxPooling2D, Flatten, Dense and a final Softmax layer.
 */
export async function sequentialModel(): Promise<tfTypes.LayersModel> {
  const tf = await tfjs();
  const L = tf.layers;
  const model = tf.sequential({
    name: 'seq',
    layers: [
      L.rescaling({ scale: 2, offset: -1, inputShape: [12, 11, 3], name: 'rescale' }),
      L.conv2d({ filters: 6, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'tanh', name: 'dilated' }),
      L.leakyReLU({ alpha: 0.2, name: 'leaky' }),
      L.conv2d({ filters: 6, kernelSize: [3, 2], strides: [1, 2], padding: 'same', activation: 'elu', name: 'even' }),
      L.activation({ activation: 'hardSigmoid', name: 'hsig' }),
      L.averagePooling2d({ poolSize: 2, name: 'avg' }),
      L.conv2d({ filters: 4, kernelSize: 1, activation: 'swish', name: 'point' }),
      L.reshape({ targetShape: [3, 6, 4], name: 'swap' }),
      L.globalMaxPooling2d({ name: 'gmp' }),
      L.reshape({ targetShape: [2, 1, 2], name: 'unflat' }),
      L.flatten({ name: 'flat' }),
      L.dense({ units: 3, activation: 'selu', name: 'fc' }),
      L.softmax({ name: 'sm' }),
    ],
  });
  await randomizeWeights(model, 2);
  return model;
}

/**
 * Two image inputs sharing one Conv2D (called on each: two nodes of one layer), with Concatenate and Multiply
 * of their features and a Dense head; the shared layer's weights are stored once.
 */
export async function sharedModel(): Promise<tfTypes.LayersModel> {
  const tf = await tfjs();
  const L = tf.layers;
  const left = tf.input({ shape: [9, 9, 2], name: 'left' });
  const right = tf.input({ shape: [9, 9, 2], name: 'right' });
  const shared = L.conv2d({ filters: 5, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh', name: 'shared' });
  const a = shared.apply(left) as SymbolicTensor;
  const b = shared.apply(right) as SymbolicTensor;
  const merged = L.concatenate({ axis: -1, name: 'both' }).apply([a, L.multiply({ name: 'prod' }).apply([a, b]) as SymbolicTensor]) as SymbolicTensor;
  const out = L.dense({ units: 3, name: 'head' }).apply(L.globalMaxPooling2d({ name: 'gmp' }).apply(merged) as SymbolicTensor) as SymbolicTensor;
  const model = tf.model({ inputs: [left, right], outputs: out, name: 'shared' });
  await randomizeWeights(model, 4);
  return model;
}
