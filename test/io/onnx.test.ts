import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { type Tensor, manualSeed } from '../../src/tensor/index.js';
import { BatchNorm1d, BatchNorm2d, Conv2d, Flatten, Module, GraphModel, Linear, MaxPool2d, ReLU, ReLU6, Sequential, SiLU, Hardswish, ZeroPad2d, AdaptiveAvgPool2d, Dropout, add, concatenate, input } from '../../src/nn/index.js';
import { preprocessImages } from '../../src/data/index.js';
import { exportOnnx } from '../../src/io/index.js';
import { mlp, mnistCnn } from '../../src/vision/simple.js';
import { resnet18, resnet50 } from '../../src/vision/resnet.js';
import { compare, perturbBatchNorms } from './onnx-helpers.js';

const PHOTOS = ['chelsea.png', 'coffee.png', 'astronaut.png'].map((f) => `/usr/lib/python3/dist-packages/skimage/data/${f}`);
const HOPPER = '/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg';
const skipPhotos = PHOTOS.every(existsSync) ? undefined : 'scikit-image sample photos not installed (apt-get install python3-skimage)';

/** Real photos at `size`, normalised (ImageNet statistics for 3 channels). */
async function photos(channels: 1 | 3, size: number): Promise<Tensor> {
  const files = existsSync(HOPPER) ? [...PHOTOS, HOPPER] : PHOTOS;
  const { x } = await preprocessImages(files, { transforms: { size, resize: 'crop' }, decode: { channels }, normalize: channels === 3 ? 'imagenet' : 'none' });
  return x!;
}

test('mnist-cnn, mlp and a Sequential of every simple layer match onnxruntime within 1e-5', async () => {
  manualSeed(1);
  const grey = await photos(1, 28);
  for (const model of [mnistCnn(10), mlp(10)]) {
    const { diff } = await compare(model, grey, [1, 28, 28]);
    assert.ok(diff < 1e-5, `${model.constructor.name}: ${diff}`);
    model.dispose();
  }
  const zoo = new Sequential(
    new ZeroPad2d(0, 1, 0, 1), new Conv2d(3, 8, 3, { stride: 2 }), new BatchNorm2d(8), new ReLU6(), new Conv2d(8, 8, 3, { padding: 'same', groups: 8 }),
    new Hardswish(), new MaxPool2d(2), new Conv2d(8, 6, 1), new SiLU(), new AdaptiveAvgPool2d(2), new Flatten(), new Dropout(0.3), new Linear(24, 16), new BatchNorm1d(16), new Linear(16, 2),
  );
  perturbBatchNorms(zoo);
  const colour = await photos(3, 32);
  const { diff, folded } = await compare(zoo, colour, [3, 32, 32]);
  assert.ok(diff < 1e-5, `Sequential zoo: ${diff}`);
  assert.equal(folded, 1, 'the BatchNorm2d after a Conv2d is folded; the BatchNorm1d after a Linear is not');
  zoo.dispose();
});

test('ResNet-18 and ResNet-50 on real photos match onnxruntime within 1e-4, batch norms folded', { skip: skipPhotos }, async () => {
  manualSeed(2);
  const x = await photos(3, 96);
  for (const [model, bns] of [[resnet18(7), 20], [resnet50(7), 53]] as const) {
    perturbBatchNorms(model);
    const { diff, folded } = await compare(model, x, [3, 96, 96]);
    assert.ok(diff < 1e-4, `${model.constructor.name}: ${diff}`);
    assert.equal(folded, bns);
    model.dispose();
  }
  x.dispose();
});

test('graph models (skip connections, concatenation, a shared layer) match onnxruntime', async () => {
  manualSeed(3);
  const inp = input([3, 32, 32]);
  const stem = new Conv2d(3, 8, 3, { padding: 1 }).apply(inp);
  const shared = new Conv2d(8, 8, 3, { padding: 1 });
  const a = new ReLU().apply(shared.apply(stem));
  const b = new ReLU().apply(shared.apply(a));
  const merged = concatenate([add(stem, b), a], { dim: 1 });
  const pooled = new AdaptiveAvgPool2d(1).apply(new BatchNorm2d(16).apply(merged));
  const out = new Linear(16, 4).apply(new Flatten().apply(pooled));
  const model = new GraphModel({ inputs: inp, outputs: out });
  perturbBatchNorms(model);
  const x = await photos(3, 32);
  const { diff } = await compare(model, x, [3, 32, 32]);
  assert.ok(diff < 1e-5, `graph: ${diff}`);
  const { bytes } = exportOnnx(model, { inputShape: [3, 32, 32] });
  const proto = onnxProto.onnx.ModelProto.decode(bytes);
  const shared0 = proto.graph!.node!.filter((n) => n.opType === 'Conv' && n.input![1]!.startsWith('conv2d_1'));
  assert.equal(shared0.length, 2, 'the shared convolution is called twice');
  assert.equal(shared0[0].input![1], shared0[1].input![1], 'and both calls read one initializer');
  model.dispose();
  x.dispose();
});

test('ONNX files carry opset 17, a dynamic batch, classes and normalisation; unknown layers are named', () => {
  manualSeed(4);
  const model = mnistCnn(3);
  const { bytes } = exportOnnx(model, { inputShape: [1, 28, 28], classes: ['x', 'y', 'z'], normalize: { mean: [0.5], std: [0.25] } });
  const proto = onnxProto.onnx.ModelProto.decode(bytes);
  assert.equal(Number(proto.irVersion), 8);
  assert.deepEqual(proto.opsetImport!.map((o) => [o.domain, Number(o.version)]), [['', 17]]);
  const dims = proto.graph!.input![0].type!.tensorType!.shape!.dim!;
  assert.deepEqual(dims.map((d) => d.dimParam || Number(d.dimValue)), ['batch', 1, 28, 28]);
  const meta = Object.fromEntries(proto.metadataProps!.map((p) => [p.key, p.value]));
  assert.deepEqual(JSON.parse(meta.classes!), ['x', 'y', 'z']);
  assert.deepEqual(JSON.parse(meta.normalize!), { mean: [0.5], std: [0.25] });
  model.dispose();
  class Mystery extends ReLU {}
  const odd = new Sequential(new Conv2d(1, 2, 3), new Sequential(new ReLU(), new (class Strange extends Flatten {})(), new Linear(2 * 26 * 26, 2)), new Mystery());
  assert.doesNotThrow(() => exportOnnx(odd, { inputShape: [1, 28, 28] }), 'subclasses of known layers export as their base');
  class Custom extends Module {
    override forward(x: Tensor): Tensor { return x.mul(2); }
  }
  const bad = new Sequential(new Conv2d(1, 2, 3), new Custom());
  assert.throws(() => exportOnnx(bad, { inputShape: [1, 28, 28] }), /ONNX export: layer '1' \(Custom\) has no ONNX emitter/);
  assert.throws(() => exportOnnx(bad, { inputShape: [28, 28.5] }), /inputShape must be positive sizes/);
  odd.dispose();
  bad.dispose();
});
