import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { noGrad, tensor, tidy } from '../../src/tensor/index.js';
import { loadModel } from '../../src/io/index.js';
import { main } from '../../src/cli/main.js';
import { parseNormalize, readClassNames } from '../../src/cli/import.js';
import { captureConsole } from '../helpers/console.js';
import { assertClose, skipWithoutTorch } from '../helpers/torch.js';
import { torchFixtures } from '../io/torch-fixtures.js';
import { tempDir } from '../io/util.js';

const skip = skipWithoutTorch();
const BIN = fileURLToPath(new URL('../../../bin/kestrel.js', import.meta.url));

/** Runs the CLI in this process, capturing what it prints. */
async function kestrel(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { result, out, err } = await captureConsole(() => main(args));
  return { code: result, stdout: out, stderr: err };
}

function floats(path: string): Float32Array {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

for (const arch of ['resnet18', 'resnet34', 'resnet50', 'mobilenet_v2']) {
  test(`kestrel import of a torchvision ${arch} .pth gives a bundle with torchvision's probabilities (tensor input, and kestrel predict --json on a PNG)`, { skip }, async () => {
    const fixtures = torchFixtures();
    const { dir, cleanup } = tempDir('kestrel-import-');
    try {
      const out = join(dir, arch);
      const run = await kestrel('import', fixtures.path(`${arch}.pth`), '--out', out);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`imported PyTorch file '.*${arch}\\.pth' \\(torchvision ${arch}\\): ${arch}, 1000 classes`));
      const { model, manifest } = loadModel(out);
      try {
        assert.equal(manifest.architecture.name, arch);
        assert.deepEqual(manifest.inputShape, [3, 224, 224]);
        assert.deepEqual(manifest.normalize, { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
        assert.equal(manifest.classes.length, 1000);
        assert.equal(manifest.classes[999], 'class_999');
        noGrad(() => tidy(() => {
          const x = tensor(floats(fixtures.path('input.bin')), [1, 3, 224, 224]);
          const logits = model.forward(x);
          const expectedLogits = tensor(floats(fixtures.path(`${arch}-logits.bin`)), [1, 1000]);
          const expectedProbs = tensor(floats(fixtures.path(`${arch}-probs.bin`)), [1, 1000]);
          assertClose(logits, expectedLogits, { rtol: 1e-4, atol: 1e-4, label: `${arch} logits` });
          assertClose(logits.softmax(1), expectedProbs, { rtol: 0, atol: 1e-4, label: `${arch} probabilities` });
          assert.ok(expectedProbs.max().item() > 0.02, 'the reference probabilities are far from uniform (1e-3 each)');
        }));
      } finally {
        model.dispose();
      }
      const predicted = await kestrel('predict', out, fixtures.path('input.png'), '--json');
      assert.equal(predicted.code, 0, predicted.stderr);
      const [row] = JSON.parse(predicted.stdout) as { file: string; label: string; probabilities: number[] }[];
      const expected = floats(fixtures.path(`${arch}-png-probs.bin`));
      assert.equal(row.probabilities.length, 1000);
      const worst = Math.max(...row.probabilities.map((p, i) => Math.abs(p - expected[i])));
      assert.ok(worst < 1e-4, `${arch}: kestrel predict --json differs from torchvision by ${worst}`);
      if (arch === 'resnet18') {
        // The bundle's own safetensors imports back (safetensors importer, detected architecture).
        const again = await kestrel('import', join(out, 'model.safetensors'), '--out', join(dir, 'again'), '--classes-file', writeClasses(dir, 1000), '--normalize', 'inception', '--size', '160');
        assert.equal(again.code, 0, again.stderr);
        const manifest2 = JSON.parse(readFileSync(join(dir, 'again', 'model.json'), 'utf8'));
        assert.equal(manifest2.architecture.name, 'resnet18');
        assert.deepEqual(manifest2.inputShape, [3, 160, 160]);
        assert.deepEqual(manifest2.normalize, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
        assert.equal(manifest2.classes[3], 'name 3');
        assert.deepEqual(readFileSync(join(dir, 'again', 'model.safetensors')), readFileSync(join(out, 'model.safetensors')));
      }
    } finally {
      cleanup();
    }
  });
}

function writeClasses(dir: string, count: number): string {
  const path = join(dir, 'classes.txt');
  writeFileSync(path, Array.from({ length: count }, (_, i) => `name ${i}`).join('\n') + '\n');
  return path;
}

test('kestrel import refuses bad input with one message, exit 1, and writes nothing', { skip }, async () => {
  const fixtures = torchFixtures();
  const { dir, cleanup } = tempDir('kestrel-import-');
  try {
    const out = join(dir, 'out');
    const resnet18 = fixtures.path('resnet18.pth');
    const cases: [string[], RegExp][] = [
      [[resnet18, '--arch', 'resnet34'], /cannot load PyTorch file '.*resnet18\.pth' into resnet34 \(ResNet\): 96 missing\n {2}missing in the file \(96\): layer1\.2\.conv1\.weight, .*and 86 more\n {2}the file looks like torchvision resnet18 with 1000 classes/],
      [[resnet18, '--arch', 'vgg16'], /unknown architecture 'vgg16' \(known architectures: mnist-cnn, mlp, resnet18, resnet34, resnet50/],
      [[resnet18, '--classes', 'cat,dog,bird'], /3 class names given but the head of PyTorch file '.*resnet18\.pth' \(fc\.weight\) has 1000 rows; give exactly 1000 names/],
      [[fixtures.path('evil.pth')], /refers to the Python global 'posix\.system'.*Nothing was executed/],
      [[fixtures.path('small.pth')], /cannot tell the architecture of PyTorch file '.*small\.pth' from its 9 tensor names \(first: 0\.weight, 0\.bias, 1\.weight\)/],
      [[join(dir, 'absent.pth')], /cannot read '.*absent\.pth': ENOENT/],
    ];
    for (const [args, pattern] of cases) {
      const run = await kestrel('import', ...args, '--out', out);
      assert.equal(run.code, 1, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, pattern);
      assert.equal(existsSync(out), false, `${args.join(' ')}: nothing written`);
    }
    assert.equal(existsSync(join(fixtures.dir, 'pwned-zip')), false);
    const usage = await kestrel('import', resnet18);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /kestrel import needs --out DIR/);

    // The real binary: a truncated .pth exits 1 with one line and leaves --out absent.
    const truncated = join(dir, 'truncated.pth');
    const bytes = readFileSync(resnet18);
    writeFileSync(truncated, bytes.subarray(0, bytes.byteLength - 1000));
    const result = spawnSync(process.execPath, [BIN, 'import', truncated, '--out', out], { encoding: 'utf8', timeout: 120000 });
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /^kestrel: error: PyTorch file '.*truncated\.pth' is not a valid zip archive \(.*truncated.*\)\n$/);
    assert.equal(existsSync(out), false);
  } finally {
    cleanup();
  }
});

test('--normalize and --classes parsing', () => {
  assert.deepEqual(parseNormalize('imagenet', 3), { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
  assert.equal(parseNormalize('unit', 3), null);
  assert.deepEqual(parseNormalize('inception', 1), { mean: [0.5], std: [0.5] });
  assert.deepEqual(parseNormalize('0.5,0.25', 3), { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
  assert.deepEqual(parseNormalize('0.1,0.2,0.3,1,2,3', 3), { mean: [0.1, 0.2, 0.3], std: [1, 2, 3] });
  assert.throws(() => parseNormalize('imagenet', 1), /needs 3 input channels/);
  assert.throws(() => parseNormalize('0.5', 3), /must be imagenet, unit, inception, MEAN,STD or 3 means then 3 stds; got '0\.5'/);
  assert.throws(() => parseNormalize('0.5,0', 3), /must be positive/);
  assert.deepEqual(readClassNames(' cat, dog ', undefined), ['cat', 'dog']);
  assert.equal(readClassNames(undefined, undefined), undefined);
  assert.throws(() => readClassNames('cat,cat', undefined), /--classes names 'cat' twice/);
  assert.throws(() => readClassNames('cat,,dog', undefined), /--classes has an empty class name/);
  assert.throws(() => readClassNames('a', 'f'), /not both/);
});
