import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type Tensor, allClose, manualSeed, memory, tensor } from '../../src/tensor/index.js';
import {
  detectArchitecture, loadPretrained, loadWeightsFrom, openSafetensorsWeights, openTorchFile, remapName, remapWeights,
  saveSafetensors, weightsFromTensors,
} from '../../src/io/index.js';
import type { Module } from '../../src/nn/index.js';
import { resnet18, resnet34 } from '../../src/vision/resnet.js';
import { skipWithoutTorch } from '../helpers/torch.js';
import { torchFixtures } from './torch-fixtures.js';
import { tempDir } from './util.js';

const skip = skipWithoutTorch();

/** Whether a model's tensor equals the file's tensor of that name. */
async function sameAsFile(model: Module, file: string, name: string): Promise<boolean> {
  const source = await openTorchFile(file);
  try {
    const t = source.get(name);
    try { return allClose(model.stateDict().get(name)!, t, 0, 0); } finally { t.dispose(); }
  } finally {
    source.close();
  }
}

/** The error a synchronous call throws. */
function thrown(fn: () => unknown): Error {
  try { fn(); } catch (error) { return error as Error; }
  return assert.fail('no error');
}

test('strict loading of a torchvision state dict loads every name and reports it', { skip }, async () => {
  const file = torchFixtures().path('resnet18.pth');
  const model = resnet18();
  const before = memory().liveTensors;
  const source = await openTorchFile(file);
  try {
    const report = loadWeightsFrom(model, source);
    assert.equal(report.loaded.length, 122);
    assert.deepEqual([report.missing, report.unexpected, report.mismatched], [[], [], []]);
  } finally {
    source.close();
  }
  assert.equal(memory().liveTensors, before, 'loading leaves no tensors behind');
  for (const name of ['conv1.weight', 'layer4.1.bn2.running_var', 'layer3.0.downsample.0.weight', 'fc.bias', 'bn1.num_batches_tracked']) {
    assert.ok(await sameAsFile(model, file, name), name);
  }
  model.dispose();
});

test('strict loading into the wrong architecture lists the names (clipped) and says what the file looks like', { skip }, async () => {
  const source = await openTorchFile(torchFixtures().path('resnet50.pth'));
  const model = resnet18();
  try {
    const error = thrown(() => loadWeightsFrom(model, source, { architecture: 'resnet18' }));
    const [first, unexpected, mismatch, looks, hint] = error.message.split('\n');
    assert.match(first, /^cannot load PyTorch file '.*resnet50\.pth' into resnet18 \(ResNet\): 198 unexpected, 24 of another shape$/);
    assert.match(unexpected, /^ {2}not in the model \(198\): layer1\.0\.conv3\.weight, (\S+, ){9}and 188 more$/);
    assert.match(mismatch, /^ {2}shape mismatch \(24\): layer1\.0\.conv1\.weight \(model \[64, 64, 3, 3\], file \[64, 64, 1, 1\]\), (.*, ){4}and 19 more$/);
    assert.equal(looks, '  the file looks like torchvision resnet50 with 1000 classes');
    assert.match(hint, /strict: false/);
    // The other way round, names are missing.
    const big = resnet34();
    const small = await openTorchFile(torchFixtures().path('resnet18.pth'));
    try {
      assert.match(thrown(() => loadWeightsFrom(big, small, { architecture: 'resnet34' })).message,
        /into resnet34 \(ResNet\): 96 missing\n {2}missing in the file \(96\): layer1\.2\.conv1\.weight, .*\n {2}the file looks like torchvision resnet18 with 1000 classes$/);
    } finally {
      small.close();
      big.dispose();
    }
  } finally {
    source.close();
    model.dispose();
  }
});

test('a new head: strict loading names the shape mismatch; lenient loading skips fc.* and loads the body', { skip }, async () => {
  const file = torchFixtures().path('resnet18.pth');
  const source = await openTorchFile(file);
  manualSeed(3);
  const model = resnet18(5);
  const head = model.fc.weight.clone();
  try {
    const error = thrown(() => loadWeightsFrom(model, source));
    assert.match(error.message, /: 2 of another shape\n {2}shape mismatch \(2\): fc\.weight \(model \[5, 512\], file \[1000, 512\]\), fc\.bias \(model \[5\], file \[1000\]\)/);
    assert.match(error.message, /load with \{ strict: false \}/);
    assert.ok(allClose(model.fc.weight, head, 0, 0), 'a failed strict load changes nothing');
    const report = loadWeightsFrom(model, source, { strict: false });
    assert.deepEqual(report.mismatched.map((m) => [m.name, m.expected, m.got]), [['fc.weight', [5, 512], [1000, 512]], ['fc.bias', [5], [1000]]]);
    assert.equal(report.loaded.length, 120);
    assert.deepEqual([report.missing, report.unexpected], [[], []]);
    assert.ok(allClose(model.fc.weight, head, 0, 0), 'the new head keeps its initialisation');
    assert.ok(await sameAsFile(model, file, 'layer4.1.conv2.weight'));
    assert.throws(() => loadWeightsFrom(model, source, { strict: false, skipMismatched: false }), /shape mismatch \(2\)/);
  } finally {
    source.close();
    head.dispose();
    model.dispose();
  }
  // A deeper model: lenient loading fills what exists and reports the rest as missing.
  const deeper = resnet34();
  const report = await loadPretrained(deeper, file, { strict: false });
  assert.equal(report.missing.length, 218 - 122);
  assert.ok(report.missing.includes('layer1.2.conv1.weight'));
  deeper.dispose();
});

test('detectArchitecture tells torchvision resnet18/34/50 and mobilenet_v2 apart by names and shapes', { skip }, async () => {
  const fixtures = torchFixtures();
  const expected: Record<string, [string, string]> = {
    resnet18: ['resnet18', 'fc.weight'], resnet34: ['resnet34', 'fc.weight'], resnet50: ['resnet50', 'fc.weight'], mobilenet_v2: ['mobilenet_v2', 'classifier.1.weight'],
  };
  for (const [file, [name, head]] of Object.entries(expected)) {
    const source = await openTorchFile(fixtures.path(`${file}.pth`));
    try {
      assert.deepEqual(detectArchitecture(source), { name, description: `torchvision ${name}`, numClasses: 1000, inChannels: 3, head });
    } finally {
      source.close();
    }
  }
  const small = await openTorchFile(fixtures.path('small.pth'));
  assert.equal(detectArchitecture(small), undefined);
  small.close();
  const own = resnet18(7, { inChannels: 1 });
  assert.deepEqual(detectArchitecture(weightsFromTensors(own.stateDict())), { name: 'resnet18', description: 'torchvision resnet18', numClasses: 7, inChannels: 1, head: 'fc.weight' });
  own.dispose();
});

test('safetensors with other names load through remapping rules and prefixes', () => {
  const { dir, cleanup } = tempDir();
  manualSeed(1);
  const original = resnet18(10);
  const model = resnet18(10);
  try {
    // timm/HF-style names: a 'model.' prefix, 'shortcut' for 'downsample', 'head.fc' for 'fc'.
    const renamed = new Map<string, Tensor>();
    for (const [name, t] of original.stateDict()) renamed.set(`model.${name.replace('downsample', 'shortcut').replace(/^fc\./, 'head.fc.')}`, t);
    const path = join(dir, 'hub.safetensors');
    saveSafetensors(path, renamed);
    const source = openSafetensorsWeights(path);
    try {
      assert.throws(() => loadWeightsFrom(model, source), /122 missing, 122 unexpected/);
      const report = loadWeightsFrom(model, source, { remap: { stripPrefix: 'model.', rename: [['shortcut', 'downsample'], [/^head\.fc\./, 'fc.']] } });
      assert.equal(report.loaded.length, 122);
    } finally {
      source.close();
    }
    for (const [name, t] of original.stateDict()) assert.ok(allClose(model.stateDict().get(name)!, t, 0, 0), name);
    const memorySource = weightsFromTensors(original.stateDict());
    assert.throws(() => remapWeights(memorySource, { rename: () => 'same' }), /renaming maps both 'conv1\.weight' and 'bn1\.weight' to 'same'/);
    assert.deepEqual(remapWeights(memorySource, { rename: (n) => (n.startsWith('fc.') ? null : n), addPrefix: 'body.' }).keys().slice(-2),
      ['body.layer4.1.bn2.running_var', 'body.layer4.1.bn2.num_batches_tracked']);
    assert.equal(remapName('module.layer1.0.conv1.weight', { stripPrefix: ['x.', 'module.'], rename: [['^layer(\\d)', 'stage$1']] }), 'stage1.0.conv1.weight');
  } finally {
    original.dispose();
    model.dispose();
    cleanup();
  }
});

test('in-memory sources hand out tensors sharing memory that the caller may dispose', () => {
  const t = tensor([1, 2, 3]);
  const source = weightsFromTensors({ w: t });
  const got = source.get('w');
  got.dispose();
  assert.equal(t.isDisposed, false);
  assert.deepEqual(Array.from(t.toArray() as Float32Array), [1, 2, 3]);
  assert.throws(() => source.get('nope'), /tensors in memory has no tensor 'nope'/);
  weightsFromTensors({ w: t }, { owned: true }).close();
  assert.equal(t.isDisposed, true);
});
