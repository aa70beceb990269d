import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dispose, memory, op, tensor, tidy } from '../../src/tensor/index.js';
import { ImageDataset, ImageLoader, preprocessImages } from '../../src/data/index.js';
import { Learner } from '../../src/learn/index.js';
import { Ensemble, loadModel } from '../../src/io/index.js';
import { assertClose, runTorch, skipWithoutTorch } from '../helpers/torch.js';
import { CLASSES, NORMALIZE, saveBundle, temp, writeImages } from './predict-fixtures.js';

test('predict on 16x16 PNGs equals PyTorch on the PIL-decoded pixels with the same weights', { skip: skipWithoutTorch() }, async () => {
  const dir = saveBundle(3);
  const files = await writeImages(temp(), [[16, 16], [16, 16], [16, 16]]);
  const loaded = loadModel(dir);
  try {
    const { predictions, failed } = await loaded.predict(files);
    assert.deepEqual(failed, []);
    assert.deepEqual(predictions.map((p) => p.index), [0, 1, 2]);
    const state = Object.fromEntries([...loaded.model.stateDict()].map(([k, v]) => [`p_${k.replace(/\./g, '_')}`, v]));
    const out = runTorch(`
      import numpy as np
      from PIL import Image
      files = ${JSON.stringify(files)}
      x = torch.stack([torch.from_numpy(np.asarray(Image.open(f).convert('RGB'), dtype=np.float32)).permute(2, 0, 1) / 255 for f in files])
      mean = torch.tensor(${JSON.stringify(NORMALIZE.mean)}).view(1, 3, 1, 1); std = torch.tensor(${JSON.stringify(NORMALIZE.std)}).view(1, 3, 1, 1)
      x = (x - mean) / std
      m = torch.nn.Sequential(torch.nn.Conv2d(3, 24, 3, padding='same'), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(24, 36, 3, padding='same'), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(36 * 16, 128), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(128, 3)).eval()
      m.load_state_dict({k[2:].replace('_', '.'): v for k, v in inp.items()})
      out['probs'] = torch.softmax(m(x), 1)
    `, state);
    const actual = tensor(Float32Array.from(predictions.flatMap((p) => p.probabilities)), [3, 3]);
    assertClose(actual, out.probs, { atol: 1e-5, label: 'probabilities' });
    dispose([actual, out.probs]);
    for (const p of predictions) {
      assert.equal(p.label, CLASSES[p.classIndex]);
      assert.equal(p.probability, Math.max(...p.probabilities));
      assert.equal(p.top[0].label, p.label);
    }
  } finally {
    loaded.dispose();
  }
});

test('in-thread decoding, worker threads and the validation ImageLoader give the same probabilities', async () => {
  const dir = saveBundle(4);
  const files = await writeImages(temp(), [[16, 16], [30, 20], [20, 41], [64, 64], [17, 16]], 9);
  const loaded = loadModel(dir);
  try {
    const inThread = await loaded.probabilities(files, { workers: 0 });
    const workers = await loaded.probabilities(files, { workers: 2, batchSize: 2 });
    const bytes = await loaded.probabilities(files.map((f) => readFileSync(f)));
    const loader = new ImageLoader(new ImageDataset(files.map((file) => ({ file, label: 0 })), CLASSES), {
      transforms: { size: 16, resize: 'crop' }, decode: { channels: 3 }, normalize: NORMALIZE, batchSize: 2, workers: 1,
    });
    const learn = new Learner(loaded.model, { train: loader, valid: loader }, { progress: false });
    const reference = await learn.getPreds(loader);
    await loader.close();
    for (const result of [inThread, workers, bytes]) {
      assert.deepEqual(result.ok, [0, 1, 2, 3, 4]);
      // NOTE: the same pixels; batches of different sizes may take different oneDNN kernels, hence 1e-6, not 0.
      assertClose(result.probs!, reference.probs, { atol: 1e-6, rtol: 0 });
    }
    dispose([inThread.probs!, workers.probs!, bytes.probs!, reference.probs, reference.targets]);
  } finally {
    loaded.dispose();
  }
});

test('a broken image is reported by index and name, the others are still predicted', async () => {
  const dir = saveBundle(5);
  const images = temp();
  const files = await writeImages(images, [[16, 16], [16, 16], [16, 16]]);
  const broken = join(images, 'broken.png');
  writeFileSync(broken, readFileSync(files[1]).subarray(0, 60));
  const loaded = loadModel(dir);
  try {
    for (const workers of [0, 1]) {
      const { predictions, failed } = await loaded.predict([files[0], broken, files[2]], { workers });
      assert.deepEqual(predictions.map((p) => [p.index, p.input]), [[0, files[0]], [2, files[2]]]);
      assert.equal(failed.length, 1);
      assert.equal(failed[0].index, 1);
      assert.equal(failed[0].file, broken);
      assert.match(failed[0].reason, /truncated|corrupt/i);
    }
  } finally {
    loaded.dispose();
  }
});

test('tta averages the softmax of the image and its mirror; an ensemble averages its members', async () => {
  const a = loadModel(saveBundle(6));
  const b = loadModel(saveBundle(7));
  const files = await writeImages(temp(), [[16, 16], [24, 16]], 3);
  try {
    const plain = await a.probabilities(files);
    const tta = await a.probabilities(files, { tta: true });
    const { x } = await preprocessImages(files, a.preprocessing);
    const expected = tidy(() => {
      a.model.eval();
      const straight = a.model.forward(x!).softmax(1);
      const mirrored = a.model.forward(op('aten::flip', '', [x!.handle, [3]])).softmax(1);
      return straight.add(mirrored).div(2);
    });
    assertClose(tta.probs!, expected, { atol: 1e-6, label: 'tta' });
    dispose([x!, expected]);
    const ensemble = new Ensemble([a, b]);
    const both = await ensemble.probabilities(files);
    const pb = await b.probabilities(files);
    const mean = tidy(() => plain.probs!.add(pb.probs!).div(2));
    assertClose(both.probs!, mean, { atol: 1e-7, label: 'ensemble mean' });
    assert.notDeepEqual(Array.from(tta.probs!.toArray() as Float32Array), Array.from(plain.probs!.toArray() as Float32Array));
    const preds = await ensemble.predict(files[0]);
    assert.equal(preds.predictions.length, 1);
    assert.ok(Math.abs(preds.predictions[0].probabilities.reduce((s, p) => s + p, 0) - 1) < 1e-5);
    dispose([plain.probs!, tta.probs!, both.probs!, pb.probs!, mean]);
  } finally {
    a.dispose();
    b.dispose();
  }
});

test('an ensemble refuses members with different classes; tensors in give the same as images', async () => {
  const a = loadModel(saveBundle(8));
  const dir = saveBundle(1, ['a', 'b', 'c']);
  const b = loadModel(dir);
  try {
    assert.throws(() => new Ensemble([a, b]), /model 2 has classes \[a, b, c\], model 1 has \[cat, dog, fox\]/);
    const before = memory().liveTensors;
    const x = tidy(() => tensor(Float32Array.from({ length: 2 * 3 * 16 * 16 }, (_, i) => Math.sin(i)), [2, 3, 16, 16]));
    const viaTensor = await a.predict(x);
    const one = await a.predict(tidy(() => x.at(1)));
    assert.deepEqual(one.predictions[0].probabilities, viaTensor.predictions[1].probabilities);
    x.dispose();
    assert.equal(memory().liveTensors, before + 1, 'only the view made for `one` is left');
  } finally {
    a.dispose();
    b.dispose();
  }
});

test('learn.predict(image) uses the validation preprocessing and equals the bundle prediction', async () => {
  const dir = saveBundle(9);
  const files = await writeImages(temp(), [[20, 16]], 5);
  const loaded = loadModel(dir);
  const loader = new ImageLoader(new ImageDataset(files.map((file) => ({ file, label: 1 })), CLASSES), {
    transforms: { size: 16, resize: 'crop' }, decode: { channels: 3 }, normalize: NORMALIZE, workers: 0,
  });
  try {
    const learn = new Learner(loaded.model, { train: loader, valid: loader }, { progress: false });
    const mine = await learn.predict(files[0]);
    const theirs = (await loaded.predict(files[0])).predictions[0];
    assert.deepEqual(mine.probabilities, theirs.probabilities);
    assert.equal(mine.label, theirs.label);
    await assert.rejects(learn.predict(Buffer.from('not an image')), /cannot predict image #1: .*(unrecognised|not an image)/i);
    const noImages = new Learner(loaded.model, { train: { length: 0, numSamples: 0, async *[Symbol.asyncIterator]() { /* empty */ } } }, { progress: false });
    await assert.rejects(noImages.predict(files[0]), /needs image loaders/);
  } finally {
    loaded.dispose();
  }
});

