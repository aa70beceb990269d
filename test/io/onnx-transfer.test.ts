import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { type Tensor, manualSeed, noGrad, randint, randn, tidy } from '../../src/tensor/index.js';
import { Module, Sequential } from '../../src/nn/index.js';
import { DataLoader, TensorDataset } from '../../src/data/index.js';
import { exportBundleOnnx, exportOnnx, loadModel, loadTfjsModel, saveModel } from '../../src/io/index.js';
import { type HeadOptions, mobilenetV2, transferModel, visionLearner } from '../../src/vision/index.js';
import { compare, perturbBatchNorms } from './onnx-helpers.js';
import { nsfwjsModelJson } from './tfjs-helpers.js';
import { tempDir } from './util.js';

const CLASSES = ['cat', 'dog', 'bird'];

/** Loaders of a few random images of `size` px with three classes (visionLearner takes nOut from them). */
function tinyData(size: number) {
  return { train: new DataLoader(new TensorDataset(randn([4, 3, size, size]), randint(0, 3, [4], { dtype: 'int64' }), { classes: CLASSES }), { batchSize: 4 }) };
}

test('visionLearner models (ResNet-18/34/50 and MobileNetV2 bodies, fastai heads) match onnxruntime within 1e-4, batch norms folded', async () => {
  manualSeed(11);
  const x = randn([2, 3, 64, 64]);
  const cases: [string, HeadOptions, number][] = [
    ['resnet18', {}, 20], ['resnet34', { concatPool: false, linFtrs: [32] }, 36], ['resnet50', { bnFinal: true, ps: 0 }, 53], ['mobilenet_v2', { linFtrs: [64, 16], firstBn: false }, 52],
  ];
  for (const [arch, head, bodyBatchNorms] of cases) {
    const learn = visionLearner(tinyData(64), arch, { head, progress: false });
    perturbBatchNorms(learn.model);
    const { diff, probDiff, scale, folded } = await compare(learn.model, x, [3, 64, 64]);
    // NOTE: a random body under perturbed statistics gives logits up to ~100; allclose's rule: 1e-4 + 1e-5 * |logit|.
    assert.ok(diff < 1e-4 + 1e-5 * scale && probDiff < 1e-4, `${arch}: logits ${diff} (largest ${scale}), probabilities ${probDiff}`);
    assert.equal(folded, bodyBatchNorms, `${arch}: every BatchNorm2d of the body folds into its convolution; the head's BatchNorm1d stay`);
    learn.model.dispose();
  }
  const full = mobilenetV2(5);
  perturbBatchNorms(full);
  const { diff, scale } = await compare(full, x, [3, 64, 64]);
  assert.ok(diff < 1e-4 + 1e-5 * scale, `MobileNetV2 whole: ${diff}`);
  full.dispose();
  x.dispose();
});

test('a TF.js Keras graph (nsfwjs MobileNetV2) cut by visionLearner, with a new head, matches onnxruntime', async () => {
  manualSeed(12);
  const { model: graph, inputShape } = loadTfjsModel(nsfwjsModelJson());
  const learn = visionLearner(tinyData(inputShape[1]), graph, { head: { linFtrs: [32] }, progress: false });
  perturbBatchNorms(learn.model.head);
  const x = tidy(() => randn([2, ...inputShape]).mul(0.5).add(0.5));
  const { diff, probDiff } = await compare(learn.model, x, inputShape);
  assert.ok(diff < 1e-4 && probDiff < 1e-4, `nsfwjs body + head: logits ${diff}, probabilities ${probDiff}`);
  assert.throws(() => exportOnnx(learn.model, { inputShape: [3, 64, 64] }), /ONNX export: graph 'body' input '.*' expects shape \[null, 3, 224, 224\], got \[null, 3, 64, 64\]/);
  x.dispose();
  graph.dispose();
});

test("a saved 'transfer' bundle exports with exportBundleOnnx: classes and normalisation in the metadata, onnxruntime equals the loaded model", async () => {
  const { dir, cleanup } = tempDir();
  try {
    // NOTE: one base is enough here (the ResNets' emitters are checked above); MobileNetV2 is the cheapest to save and load.
    for (const base of ['mobilenet_v2']) {
      manualSeed(13);
      const learn = visionLearner(tinyData(64), base, { head: { linFtrs: [32], ps: 0.2 }, progress: false });
      perturbBatchNorms(learn.model);
      const bundle = join(dir, base);
      const normalize = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
      saveModel(bundle, learn.model, { architecture: { name: 'transfer', options: { ...learn.architecture } }, classes: CLASSES, inputShape: [3, 64, 64], normalize });
      learn.model.dispose();
      const { bytes, manifest } = exportBundleOnnx(bundle);
      assert.equal(manifest.architecture.name, 'transfer');
      const meta = Object.fromEntries(onnxProto.onnx.ModelProto.decode(bytes).metadataProps!.map((p) => [p.key, p.value]));
      assert.deepEqual(JSON.parse(meta.classes!), CLASSES);
      assert.deepEqual(JSON.parse(meta.normalize!), normalize);
      assert.equal(meta.architecture, 'transfer');
      const { model } = loadModel(bundle);
      model.eval();
      const x = randn([2, 3, 64, 64]);
      const expected = noGrad(() => tidy(() => model.forward(x).toArray() as Float32Array));
      const session = await InferenceSession.create(bytes);
      const { logits } = await session.run({ input: new OrtTensor('float32', x.toArray() as Float32Array, [2, 3, 64, 64]) });
      const got = logits.data as Float32Array;
      assert.equal(got.length, 2 * CLASSES.length);
      const diff = Math.max(...Array.from(got, (v, i) => Math.abs(v - expected[i])));
      assert.ok(diff < 1e-4, `${base} bundle: ${diff}`);
      x.dispose();
      model.dispose();
    }
  } finally {
    cleanup();
  }
});

test('a TransferModel with a layer Kestrel cannot export names it', () => {
  class Custom extends Module {
    override forward(x: Tensor): Tensor { return x.mul(2); }
  }
  manualSeed(15);
  const learn = visionLearner(tinyData(32), 'resnet18', { progress: false });
  const odd = transferModel(learn.model.body, 3, new Sequential(new Custom()));
  assert.throws(() => exportOnnx(odd, { inputShape: [3, 32, 32] }), /ONNX export: layer 'head\.0' \(Custom\) has no ONNX emitter/);
  learn.model.dispose();
});
