import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { manualSeed, memory, noGrad, rand, tidy } from '../../src/tensor/index.js';
import { Linear, Sequential } from '../../src/nn/index.js';
import { mlp, mnistCnn } from '../../src/vision/simple.js';
import {
  type ArchitectureRegistry, type ModelInfo, defaultArchitectures, kestrelVersion, loadModel, readModelManifest, saveModel,
} from '../../src/io/index.js';
import { rawBytes, tempDir } from './util.js';

const CLASSES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const MNIST_INFO: ModelInfo = {
  architecture: { name: 'mnist-cnn', options: { numClasses: 10, input: { channels: 1, height: 28, width: 28 } } },
  classes: CLASSES,
  inputShape: [1, 28, 28],
  normalize: { mean: [0.1307], std: [0.3081] },
  metrics: { accuracy: 0.991, epochs: 3 },
};

function editJson(path: string, edit: (value: Record<string, any>) => void): void {
  const value = JSON.parse(readFileSync(path, 'utf8'));
  edit(value);
  writeFileSync(path, JSON.stringify(value));
}

test('an mnist-cnn bundle round-trips: same weights, identical outputs, full manifest', () => {
  const { dir, cleanup } = tempDir();
  try {
    manualSeed(11);
    const model = mnistCnn(10);
    const x = rand([5, 1, 28, 28]);
    const bundle = join(dir, 'nested', 'mnist');
    const before = memory().liveTensors;
    const written = saveModel(bundle, model, MNIST_INFO);
    assert.equal(memory().liveTensors, before, 'saving creates no lasting tensors');
    assert.ok(existsSync(join(bundle, 'model.safetensors')) && existsSync(join(bundle, 'model.json')));
    const json = JSON.parse(readFileSync(join(bundle, 'model.json'), 'utf8'));
    assert.deepEqual(json, written);
    assert.equal(json.format, 'kestrel-model');
    assert.equal(json.version, 1);
    assert.deepEqual(json.architecture, MNIST_INFO.architecture);
    assert.deepEqual(json.classes, CLASSES);
    assert.deepEqual(json.inputShape, [1, 28, 28]);
    assert.deepEqual(json.normalize, { mean: [0.1307], std: [0.3081] });
    assert.deepEqual(json.metrics, { accuracy: 0.991, epochs: 3 });
    assert.ok(!Number.isNaN(Date.parse(json.createdAt)));
    assert.equal(json.kestrelVersion, kestrelVersion());
    assert.match(json.kestrelVersion, /^\d+\.\d+\.\d+/);

    const { model: loaded, manifest } = loadModel(bundle);
    const count = model.stateDict().size;
    assert.equal(memory().liveTensors, before + count, 'load returns only the new model\'s tensors');
    assert.deepEqual(manifest, written);
    assert.equal(loaded.training, false, 'loaded models are in eval mode');
    for (const [name, t] of model.stateDict()) assert.ok(rawBytes(t).equals(rawBytes(loaded.stateDict().get(name)!)), name);
    model.eval();
    tidy(() => {
      const expected = noGrad(() => model.forward(x));
      const actual = noGrad(() => loaded.forward(x));
      assert.ok(rawBytes(actual).equals(rawBytes(expected)), 'outputs bit-identical');
    });
    loaded.dispose();
    model.dispose();
    x.dispose();
    assert.equal(memory().liveTensors, before - count - 1);
  } finally { cleanup(); }
});

test('mlp options (hidden sizes, colour input) and custom registries round-trip', () => {
  const { dir, cleanup } = tempDir();
  try {
    tidy(() => {
      const options = { numClasses: 3, input: { channels: 3, height: 8, width: 8 }, hidden: [16, 12] };
      const model = mlp(3, options.input, options.hidden);
      saveModel(dir, model, { architecture: { name: 'mlp', options }, classes: ['a', 'b', 'c'], inputShape: [3, 8, 8], normalize: null });
      const { model: loaded, manifest } = loadModel(dir);
      assert.equal(manifest.normalize, null);
      assert.deepEqual(loaded.stateDict().get('3.weight')!.shape, [12, 16]);
      const x = rand([2, 3, 8, 8]);
      model.eval();
      assert.ok(rawBytes(noGrad(() => loaded.forward(x))).equals(rawBytes(noGrad(() => model.forward(x)))));
      model.dispose(); loaded.dispose();

      const registry: ArchitectureRegistry = { ...defaultArchitectures, tiny: (o) => new Sequential(new Linear(o.width as number, 2)) };
      const tiny = new Sequential(new Linear(4, 2));
      const tinyDir = join(dir, 'tiny');
      saveModel(tinyDir, tiny, { architecture: { name: 'tiny', options: { width: 4 } }, classes: ['x', 'y'], inputShape: [1, 1, 4] });
      const back = loadModel(tinyDir, registry).model;
      assert.ok(rawBytes(back.stateDict().get('0.weight')!).equals(rawBytes(tiny.stateDict().get('0.weight')!)));
      assert.throws(() => loadModel(tinyDir), /unknown architecture 'tiny' \(known: mnist-cnn, mlp, resnet18, resnet34, resnet50[^)]*\)/);
      tiny.dispose(); back.dispose();
    });
  } finally { cleanup(); }
});

test('bad bundles fail with errors naming the directory or file, leaking nothing', () => {
  const { dir, cleanup } = tempDir();
  try {
    manualSeed(1);
    const model = mnistCnn(10);
    const bundle = join(dir, 'b');
    const manifestPath = join(bundle, 'model.json');
    const weightsPath = join(bundle, 'model.safetensors');
    const fresh = (): void => { rmSync(bundle, { recursive: true, force: true }); saveModel(bundle, model, MNIST_INFO); };
    const before = memory().liveTensors;
    const expectLoadError = (pattern: RegExp, label: string): void => {
      assert.throws(() => loadModel(bundle), pattern, label);
      assert.equal(memory().liveTensors, before, `${label}: no leaked tensors`);
    };

    expectLoadError(new RegExp(`model bundle '${bundle}' is not a directory`), 'missing directory');
    fresh(); rmSync(manifestPath);
    expectLoadError(new RegExp(`model bundle '${bundle}' has no model.json`), 'missing model.json');
    fresh(); rmSync(weightsPath);
    expectLoadError(new RegExp(`model bundle '${bundle}' has no model.safetensors`), 'missing weights');
    fresh(); writeFileSync(manifestPath, '{"format": ');
    expectLoadError(new RegExp(`'${manifestPath}' is not valid JSON`), 'bad JSON');
    fresh(); editJson(manifestPath, (m) => { m.format = 'pickle'; });
    expectLoadError(/format is "pickle", expected 'kestrel-model' \(not a Kestrel model bundle\)/, 'wrong format');
    fresh(); editJson(manifestPath, (m) => { m.version = 2; });
    expectLoadError(/bundle version 2 is not supported \(this Kestrel reads version 1\)/, 'future version');
    fresh(); editJson(manifestPath, (m) => { m.architecture.name = 'resnet999'; });
    expectLoadError(new RegExp(`'${manifestPath}': unknown architecture 'resnet999' \\(known: mnist-cnn, mlp, resnet18, resnet34, resnet50[^)]*\\)`), 'unknown architecture');
    fresh(); editJson(manifestPath, (m) => { m.inputShape = [1, 28]; });
    expectLoadError(/inputShape must be \[channels, height, width\] of positive integers, got \[1,28\]/, 'bad input shape');
    fresh(); editJson(manifestPath, (m) => { m.architecture.options.numClasses = 'ten'; });
    expectLoadError(new RegExp(`'${manifestPath}': cannot build architecture 'mnist-cnn': option 'numClasses' must be a positive integer, got "ten"`), 'bad options');
    fresh(); editJson(manifestPath, (m) => { m.architecture.options.input = { channels: 1, height: 28, width: 14 }; });
    expectLoadError(/architecture option input \{"channels":1,"height":28,"width":14\} disagrees with inputShape \[1, 28, 28\]/, 'geometry disagreement');
    fresh(); editJson(manifestPath, (m) => { m.architecture.name = 'mlp'; });
    expectLoadError(new RegExp(`'${weightsPath}' does not match architecture 'mlp' in model.json: cannot load state dict[^]*shape mismatch 3.weight[^]*missing 1.weight[^]*unexpected 0.weight`), 'state dict of another architecture');
    fresh(); editJson(manifestPath, (m) => { m.architecture.options.input = { channels: 3, height: 28, width: 28 }; m.inputShape = [3, 28, 28]; m.normalize = null; });
    expectLoadError(/does not match architecture 'mnist-cnn' in model.json: cannot load state dict into Sequential:\n {2}shape mismatch 0.weight: model \[24, 3, 3, 3\] vs given \[24, 1, 3, 3\]/, 'shape mismatch');
    fresh(); writeFileSync(weightsPath, readFileSync(weightsPath).subarray(0, 1000));
    expectLoadError(new RegExp(`safetensors file '${weightsPath}': .*out of range`), 'truncated weights');
    model.dispose();
  } finally { cleanup(); }
});

test('saveModel rejects inconsistent model info before writing anything', () => {
  const { dir, cleanup } = tempDir();
  try {
    tidy(() => {
      const model = mnistCnn(10);
      const bundle = join(dir, 'never');
      const bad: [Partial<ModelInfo> & Record<string, unknown>, RegExp][] = [
        [{ classes: ['a', 'b'] }, /numClasses is 10 but there are 2 classes/],
        [{ classes: [...CLASSES.slice(0, 9), 'zero'] }, /classes contain duplicates/],
        [{ classes: [] }, /classes must be a non-empty array of strings/],
        [{ normalize: { mean: [0.5, 0.5], std: [0.2, 0.2] } }, /normalize mean and std must each hold 1 finite numbers/],
        [{ normalize: { mean: [0.5], std: [0] } }, /normalize std must be positive/],
        [{ inputShape: [1, 28, 28.5] as [number, number, number] }, /inputShape must be \[channels, height, width\]/],
        [{ architecture: { name: '', options: {} } }, /architecture must be \{ name: string, options: object \}/],
        [{ inputShape: [3, 28, 28] }, /architecture option input \{"channels":1,"height":28,"width":28\} disagrees with inputShape \[3, 28, 28\]/],
      ];
      for (const [change, pattern] of bad) {
        assert.throws(() => saveModel(bundle, model, { ...MNIST_INFO, ...change } as ModelInfo), (e: Error) => e.message.startsWith(`cannot save model bundle '${bundle}'`) && pattern.test(e.message), JSON.stringify(change));
      }
      assert.equal(existsSync(bundle), false);
      model.dispose();
    });
  } finally { cleanup(); }
});

test('readModelManifest validates without loading weights', () => {
  const { dir, cleanup } = tempDir();
  try {
    tidy(() => {
      const model = mnistCnn(10);
      saveModel(dir, model, MNIST_INFO);
      model.dispose();
    });
    const before = memory().liveTensors;
    assert.deepEqual(readModelManifest(dir).classes, CLASSES);
    assert.equal(memory().liveTensors, before);
  } finally { cleanup(); }
});
