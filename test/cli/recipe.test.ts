import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeIdx, readDigitsCsv, sampleDir, readIdx } from '../../src/data/index.js';
import { bf16Support } from '../../src/tensor/index.js';

const BIN = fileURLToPath(new URL('../../../bin/kestrel.js', import.meta.url));
const DIGITS = '/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz';

function kestrel(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 600000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

interface Metrics {
  epochs: { accuracy: number }[];
  recipe?: Record<string, unknown> & { augment: { padding: number; flip: boolean; erasing: number }; overridden: string[]; flipCheck: { ratio: number } | null };
  final?: { accuracy: number; tta: boolean };
  plan?: { budgetSeconds: number; iterations: number; epochs: number; fractionalEpochs: number; limitedBy: string; speed: { trainSamplesPerSecond: number }; replans: { to: number }[] };
  run: { settings: Record<string, unknown> };
}

const metricsOf = (dir: string): Metrics => JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as Metrics;

/** An IDX directory with the first `train` and `test` images of the bundled sample. */
function smallSample(train: number, test: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-recipe-'));
  for (const [split, n] of [['train', train], ['t10k', test]] as const) {
    const images = readIdx(join(sampleDir(), `${split}-images-idx3-ubyte.gz`));
    const labels = readIdx(join(sampleDir(), `${split}-labels-idx1-ubyte.gz`));
    writeFileSync(join(dir, `${split}-images-idx3-ubyte`), encodeIdx({ type: 'uint8', shape: [n, 28, 28], data: (images.data as Uint8Array).subarray(0, n * 784) }));
    writeFileSync(join(dir, `${split}-labels-idx1-ubyte`), encodeIdx({ type: 'uint8', shape: [n], data: (labels.data as Uint8Array).subarray(0, n) }));
  }
  return dir;
}

test('without --model, train uses the recipe: prints every choice, records it with the flip measurement and the flip-TTA result', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'kestrel-recipe-')), 'run');
  const result = kestrel('train', 'sample', '--epochs', '1', '--seed', '3', '--out', out);
  assert.equal(result.code, 0, result.stderr);
  for (const line of [/recipe: preset fast, overridden: epochs/, /model {8}small-resnet, widths 32\/64\/128, input 1x28x28/, /length {7}1 epochs \(set\)/,
    /optimizer {4}AdamW, weight decay 0\.05/, /schedule {5}one-cycle, peak lr 0\.004/, /loss {9}cross-entropy, label smoothing 0\.1/,
    /augment {6}random crop \(padding 2\), horizontal flip, random erasing \(p 0\.5\)/, /flips {8}on: mirrored images are recognised 8\d% as well/,
    /evaluation {3}flip-TTA/, /test accuracy \d+\.\d\d% after 1 epochs \(flip-TTA; \d+\.\d\d% without\)/]) assert.match(result.stdout, line);
  const metrics = metricsOf(out);
  assert.equal(metrics.recipe?.preset, 'fast');
  assert.deepEqual(metrics.recipe?.augment, { padding: 2, flip: true, erasing: 0.5 });
  assert.ok(metrics.recipe!.flipCheck!.ratio > 0.7);
  assert.equal(metrics.final?.tta, true);
  assert.ok(metrics.final!.accuracy > 0.3, `accuracy ${metrics.final!.accuracy} above chance after one epoch`);
  assert.equal(metrics.plan, undefined, '--epochs: no time plan');
  assert.deepEqual([metrics.run.settings.model, metrics.run.settings.lr, metrics.run.settings.bs, metrics.run.settings.schedule, metrics.run.settings.epochs],
    ['small-resnet', 0.004, 256, 'one-cycle', 1], 'the settings the recipe used, not the flags\' defaults');
  const manifest = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
  assert.deepEqual(manifest.architecture, { name: 'small-resnet', options: { numClasses: 10, input: { channels: 1, height: 28, width: 28 }, widths: [32, 64, 128] } });
  assert.equal(manifest.metrics.accuracy, metrics.final!.accuracy, 'the bundle records the final (TTA) accuracy');
  // NOTE: --precision auto trains in bf16 where the CPU has it; validation follows the training precision.
  const low = bf16Support().available ? 'bf16' : 'fp32';
  assert.equal(metrics.run.settings['valid-precision'], low, 'validation ran in the training precision');
  if (low === 'bf16') assert.match(result.stdout, /validation after each epoch in bf16 \(the training precision; --valid-precision fp32 for float32\), the final evaluation in float32/);
  const evaluate = kestrel('evaluate', out, 'sample', '--precision', low);
  assert.equal(evaluate.code, 0, evaluate.stderr);
  assert.equal(Number(/test accuracy ([\d.]+)%/.exec(evaluate.stdout)?.[1]).toFixed(2), (100 * metrics.epochs[0].accuracy).toFixed(2), 'evaluate reloads the small-resnet bundle');
  const exact = kestrel('evaluate', out, 'sample');
  const fp32 = Number(/test accuracy ([\d.]+)%/.exec(exact.stdout)?.[1]);
  assert.ok(Math.abs(fp32 - 100 * metrics.epochs[0].accuracy) <= 1, `float32 evaluation (${fp32}%) within a point of the bf16 validation`);
});

test('--time plans the run from a warm-up, prints how, and records the plan; the fit follows it', () => {
  const data = smallSample(256, 64);
  const out = join(data, 'run');
  const result = kestrel('train', data, '--time', '15s', '--bs', '32', '--out', out);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /length {7}as many epochs as fit within 15s \(planned after a warm-up\) \(set\)/);
  assert.match(result.stdout, /plan: a warm-up of \d+ training and \d+ validation batches \([\d.]+ s, undone\) measured [\d,]+ training and [\d,]+ validation images\/s/);
  assert.match(result.stdout, /plan: [\d.]+ s spent so far, [\d.]+ s kept for the final evaluation and saving, 3% margin -> [\d.]+ epochs \([\d,]+ iterations\); expected to end after .* of the 15s budget/);
  const metrics = metricsOf(out);
  const plan = metrics.plan!;
  assert.equal(plan.budgetSeconds, 15);
  assert.equal(plan.limitedBy, 'time');
  assert.ok(plan.speed.trainSamplesPerSecond > 0);
  assert.equal(plan.epochs, Math.ceil(plan.iterations / 8), '8 batches of 32 per epoch');
  // NOTE: when epochs run slower than the warm-up said (a busy machine), the run shortens its plan, when faster it
  // lengthens it (a bare budget has no epoch cap), and records how.
  const iterations = plan.replans.at(-1)?.to ?? plan.iterations;
  assert.equal(metrics.epochs.length, Math.ceil(iterations / 8), 'one record per planned epoch, the last one partial when the plan says so');
  if (plan.replans.length > 0) assert.match(result.stdout, /plan: epochs take [\d.]+ s here, so the plan would end at \d+ s of the 15 s budget: (shortened|lengthened( again)?) from/);
  assert.ok(Math.abs(plan.fractionalEpochs - plan.iterations / 8) < 1e-12);
});

test('flags override the recipe piece by piece and are recorded; --model with --preset trains that model with the recipe', () => {
  const data = smallSample(256, 64);
  const out = join(data, 'run');
  const result = kestrel('train', data, '--epochs', '1', '--lr', '0.002', '--bs', '64', '--wd', '0.01', '--label-smoothing', '0', '--no-flip', '--no-tta', '--schedule', 'flat-cos', '--out', out);
  assert.equal(result.code, 0, result.stderr);
  const recipe = metricsOf(out).recipe!;
  assert.deepEqual(recipe.overridden, ['epochs', 'batchSize', 'lr', 'weightDecay', 'labelSmoothing', 'flip', 'tta', 'schedule']);
  assert.deepEqual([recipe.lr, recipe.batchSize, (recipe.optimizer as { weightDecay: number }).weightDecay, recipe.labelSmoothing, recipe.tta, recipe.schedule], [0.002, 64, 0.01, 0, false, 'flat-cos']);
  assert.deepEqual(recipe.augment, { padding: 2, flip: false, erasing: 0.5 });
  assert.equal(recipe.flipReason, 'asked for (off)');
  assert.equal(recipe.flipCheck, null, 'a flag decides: nothing measured');
  assert.match(result.stdout, /schedule {5}flat-cos \(set\), peak lr 0\.002 \(set\)/);
  assert.match(result.stdout, /test accuracy \d+\.\d\d% after 1 epochs, /);

  const plain = join(data, 'plain');
  assert.equal(kestrel('train', data, '--epochs', '1', '--no-augment', '--out', plain).code, 0);
  assert.deepEqual(metricsOf(plain).recipe!.augment, { padding: 0, flip: false, erasing: 0 });

  const mlp = join(data, 'mlp');
  const withModel = kestrel('train', data, '--model', 'mlp', '--preset', 'fast', '--epochs', '1', '--out', mlp);
  assert.equal(withModel.code, 0, withModel.stderr);
  assert.ok(metricsOf(mlp).recipe!.overridden.includes('model'));
  assert.equal(JSON.parse(readFileSync(join(mlp, 'model.json'), 'utf8')).architecture.name, 'mlp');
  assert.match(withModel.stdout, /model mlp \(--model\), [\d,]+ parameters/);

  const classic = join(data, 'classic');
  assert.equal(kestrel('train', data, '--model', 'mlp', '--epochs', '1', '--out', classic).code, 0);
  assert.equal(metricsOf(classic).recipe, undefined, '--model alone: the classic defaults, no recipe');
});

test('recipe flags that contradict or do not parse are usage errors (exit 2, nothing written)', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'kestrel-recipe-')), 'run');
  const flips = kestrel('train', 'sample', '--flip', '--no-flip', '--out', out);
  assert.equal(flips.code, 2);
  assert.match(flips.stderr, /--flip and --no-flip contradict each other/);
  const time = kestrel('train', 'sample', '--time', '10x', '--out', out);
  assert.equal(time.code, 2);
  assert.match(time.stderr, /--time: '10x' is not a duration: write it like 10m, 90s, 1h30m or 1\.5h/);
  const preset = kestrel('train', 'sample', '--preset', 'huge', '--out', out);
  assert.equal(preset.code, 2);
  assert.match(preset.stderr, /--preset must be one of fast, best/);
  assert.equal(existsSync(out), false);
});

test('digit images: the recipe measures flips and turns them (and flip-TTA) off', { skip: existsSync(DIGITS) ? undefined : `${DIGITS} missing (apt-get install python3-sklearn)` }, async () => {
  const digits = await readDigitsCsv(DIGITS);
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-digits-'));
  const pixels = (digits.images.toArray() as Uint8Array).map((v) => Math.round((v * 255) / 16));
  const labels = digits.labels!.toArray() as BigInt64Array;
  const split = 1400;
  for (const [name, start, end] of [['train', 0, split], ['t10k', split, 1797]] as const) {
    writeFileSync(join(dir, `${name}-images-idx3-ubyte`), encodeIdx({ type: 'uint8', shape: [end - start, 8, 8], data: pixels.subarray(start * 64, end * 64) }));
    writeFileSync(join(dir, `${name}-labels-idx1-ubyte`), encodeIdx({ type: 'uint8', shape: [end - start], data: Uint8Array.from(labels.subarray(start, end), Number) }));
  }
  digits.images.dispose(); digits.labels!.dispose();
  const out = join(dir, 'run');
  const result = kestrel('train', dir, '--epochs', '2', '--out', out);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /flips {8}off: mirrored images are recognised \d+% as well as originals .*as for digits and text/);
  assert.match(result.stdout, /evaluation {3}plain/);
  const metrics = metricsOf(out);
  assert.equal(metrics.recipe!.augment.flip, false);
  assert.ok(metrics.recipe!.flipCheck!.ratio < 0.5);
  assert.equal(metrics.final!.tta, false);
  assert.ok(metrics.final!.accuracy > 0.5, `digits learned (${metrics.final!.accuracy})`);
});
