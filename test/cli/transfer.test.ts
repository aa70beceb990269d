/** `kestrel train --pretrained ... [--fine-tune N] [--precompute]`: transfer learning from the command line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadSafetensors, tensor } from '../../src/tensor/index.js';
import { loadModel } from '../../src/io/index.js';
import { openTorchFile } from '../../src/io/torch-file.js';
import { kestrel } from '../helpers/cli.js';
import { skipWithoutTorch } from '../helpers/torch.js';
import { torchFixtures } from '../io/torch-fixtures.js';
import { temp, writeImages } from '../io/predict-fixtures.js';
import { nsfwjsModelJson } from '../io/tfjs-helpers.js';

const skip = skipWithoutTorch();

/** A folder of two classes of random-colour PNGs (train/ and valid/ splits). */
async function photos(): Promise<string> {
  const root = temp();
  for (const [split, count] of [['train', 6], ['valid', 3]] as const) {
    for (const [i, name] of ['apple', 'pear'].entries()) {
      const dir = join(root, split, name);
      mkdirSync(dir, { recursive: true });
      await writeImages(dir, Array.from({ length: count }, () => [40, 36] as [number, number]), 7 + i * 13 + (split === 'train' ? 0 : 100));
    }
  }
  return root;
}

test('--pretrained FILE.pth --model resnet18: head-only epochs keep every body tensor but batch norm as the .pth has it; the bundle rebuilds and predicts', { skip }, async () => {
  const data = await photos();
  const out = join(temp(), 'run');
  const pth = torchFixtures().path('resnet18.pth');
  const run = kestrel('train', data, '--model', 'resnet18', '--pretrained', pth, '--epochs', '1', '--size', '32', '--bs', '4', '--precision', 'fp32', '--out', out);
  assert.equal(run.code, 0, run.stderr + run.stdout);
  assert.match(run.stdout, /pretrained: resnet18 weights from/);
  const manifest = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
  assert.deepEqual(manifest.architecture, { name: 'transfer', options: { base: 'resnet18', numClasses: 2 } });
  assert.deepEqual(manifest.normalize, { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
  const saved = loadSafetensors(join(out, 'model.safetensors')).tensors;
  const source = await openTorchFile(pth);
  let compared = 0;
  try {
    for (const key of source.keys()) {
      if (key.startsWith('fc.') || /bn|downsample\.1/.test(key)) continue;
      const expected = source.get(key);
      const actual = saved.get(`body.${key}`);
      assert.ok(actual, `body.${key} is in the bundle`);
      assert.deepEqual(Array.from(actual.toArray() as Float32Array), Array.from(expected.toArray() as Float32Array), `body.${key} unchanged`);
      expected.dispose();
      compared++;
    }
  } finally {
    source.close();
  }
  assert.ok(compared >= 20, `compared ${compared} frozen tensors`);
  for (const t of saved.values()) t.dispose();
  const loaded = loadModel(out);
  const image = join(data, 'valid', 'pear', '1.png');
  const { predictions: [prediction] } = await loaded.predict(image);
  const cli = kestrel('predict', out, image, '--json');
  assert.equal(cli.code, 0, cli.stderr);
  const [row] = JSON.parse(cli.stdout) as { label: string; probabilities: number[] }[];
  assert.equal(row.label, prediction.label);
  row.probabilities.forEach((p, i) => assert.ok(Math.abs(p - prediction.probabilities[i]) < 1e-5));
  loaded.model.dispose();
});

test('--fine-tune 1 --freeze-epochs 1 --precompute: a frozen stage on cached features then an unfrozen one; metrics record both', { skip }, async () => {
  const data = await photos();
  const out = join(temp(), 'run');
  const run = kestrel('train', data, '--model', 'mobilenet_v2', '--pretrained', torchFixtures().path('mobilenet_v2.pth'), '--fine-tune', '1', '--freeze-epochs', '1',
    '--precompute', '--size', '32', '--bs', '4', '--precision', 'fp32', '--out', out);
  assert.equal(run.code, 0, run.stderr + run.stdout);
  assert.match(run.stdout, /precompute: cached 12 training features of \[2560, 1, 1\]/);
  assert.match(run.stdout, /precompute: off/);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  assert.equal(metrics.epochs.length, 2);
  const manifest = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
  assert.equal(manifest.architecture.options.base, 'mobilenet_v2');
  const loaded = loadModel(out);
  const x = tensor(new Float32Array(3 * 32 * 32).fill(0.3), [1, 3, 32, 32]);
  const y = loaded.model.forward(x);
  assert.deepEqual(y.shape, [1, 2]);
  x.dispose(); y.dispose(); loaded.model.dispose();
});

test('--pretrained model.json (nsfwjs MobileNetV2) --cut block_13_expand_relu at --size 48: the Keras body is rebuilt at that size, cut there; the bundle reloads with equal outputs and exports to ONNX', async () => {
  const data = await photos();
  const out = join(temp(), 'run');
  const run = kestrel('train', data, '--pretrained', nsfwjsModelJson(), '--cut', 'block_13_expand_relu', '--epochs', '1', '--precompute', '--size', '48', '--bs', '4', '--precision', 'fp32', '--out', out);
  assert.equal(run.code, 0, run.stderr + run.stdout);
  assert.match(run.stdout, /cut at 'block_13_expand_relu'/);
  const manifest = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
  assert.equal(manifest.architecture.options.base, 'keras');
  assert.deepEqual(manifest.architecture.options.baseOptions.inputShape, [3, 48, 48]);
  assert.deepEqual(manifest.architecture.options.baseOptions.outputs, ['block_13_expand_relu']);
  assert.deepEqual(manifest.normalize, { mean: [0, 0, 0], std: [1, 1, 1] });
  const image = join(data, 'valid', 'apple', '2.png');
  const [a, b] = [loadModel(out), loadModel(out)];
  const [pa, pb] = [(await a.predict(image)).predictions[0], (await b.predict(image)).predictions[0]];
  assert.deepEqual(pa.probabilities, pb.probabilities);
  a.model.dispose(); b.model.dispose();
  const onnx = join(temp(), 'model.onnx');
  const exported = kestrel('export', out, '--onnx', onnx);
  assert.equal(exported.code, 0, exported.stderr);
  assert.ok(existsSync(onnx));
});

test('transfer flags: bad combinations and files are one clear error each, non-zero exit, nothing written', { skip }, async () => {
  const data = await photos();
  const cases: [string[], RegExp][] = [
    [['--fine-tune', '2'], /--fine-tune only applies with --pretrained/],
    [['--precompute', '--model', 'resnet18'], /--precompute only applies with --pretrained/],
    [['--pretrained', torchFixtures().path('resnet18.pth')], /say which network the weights are for with --model/],
    [['--model', 'resnet34', '--pretrained', torchFixtures().path('resnet18.pth'), '--size', '32'], /resnet18\.pth.*(missing|unexpected|shape)/s],
    [['--model', 'resnet18', '--pretrained', join(data, 'nope.pth')], /nope\.pth' does not exist/],
    [['--model', 'resnet18', '--pretrained', torchFixtures().path('evil.pth')], /os|posix|global/i],
    [['--model', 'resnet18', '--pretrained', torchFixtures().path('resnet18.pth'), '--fine-tune', '1', '--epochs', '3'], /--fine-tune EPOCHS sets the epochs/],
    [['--model', 'resnet18', '--pretrained', torchFixtures().path('resnet18.pth'), '--cut', 'layer3'], /--cut names a layer of a Keras graph/],
    [['--pretrained', nsfwjsModelJson(), '--cut', 'no_such_layer'], /--cut no_such_layer: .*model\.json has no layer of that name \(layers with feature maps include .*out_relu/],
    [['--cut', 'out_relu'], /--cut only applies with --pretrained/],
  ];
  for (const [flags, message] of cases) {
    const out = join(temp(), 'run');
    const run = kestrel('train', data, ...flags, '--out', out);
    assert.notEqual(run.code, 0, `${flags.join(' ')} should fail`);
    assert.match(run.stderr, message, `${flags.join(' ')}: ${run.stderr}`);
    assert.ok(!existsSync(out) || readdirSync(out).length === 0, `${flags.join(' ')} wrote nothing`);
  }
  const idx = kestrel('train', 'sample', '--model', 'resnet18', '--pretrained', torchFixtures().path('resnet18.pth'), '--out', join(temp(), 'run'));
  assert.notEqual(idx.code, 0);
  assert.match(idx.stderr, /--pretrained needs a folder of RGB images/);
});
