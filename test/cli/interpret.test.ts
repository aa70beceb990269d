import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const BIN = fileURLToPath(new URL('../../../bin/kestrel.js', import.meta.url));

function kestrel(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 600000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

test('kestrel interpret: its numbers equal metrics.json and evaluate; kestrel gradcam explains image files', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kestrel-interpret-'));
  const run = join(root, 'run');
  // NOTE: float32 validation, so the epoch's numbers are the float32 ones interpret computes.
  assert.equal(kestrel('train', 'sample', '--model', 'mnist-cnn', '--epochs', '1', '--seed', '5', '--valid-precision', 'fp32', '--out', run).code, 0);
  const metrics = JSON.parse(readFileSync(join(run, 'metrics.json'), 'utf8')) as {
    epochs: { accuracy: number; validLoss: number }[]; confusionMatrix: { counts: number[][] }; perClass: Record<string, { precision: number; recall: number; f1: number }>;
    run: { command: string; dataset: string; settings: Record<string, unknown> };
  };
  assert.equal(metrics.run.command, `kestrel train sample --model mnist-cnn --epochs 1 --seed 5 --valid-precision fp32 --out ${run}`);
  assert.equal(metrics.run.dataset, 'sample');
  assert.equal(metrics.run.settings.model, 'mnist-cnn');

  const out = join(root, 'interpret');
  const result = kestrel('interpret', run, '--out', out);
  assert.equal(result.code, 0, result.stderr);
  const summary = JSON.parse(readFileSync(join(out, 'interpretation.json'), 'utf8')) as {
    accuracy: number; loss: number; items: number; confusionMatrix: number[][]; perClass: { name: string; precision: number; recall: number; f1: number }[];
    topLosses: { loss: number }[]; mostConfused: { count: number }[];
  };
  assert.equal(summary.items, 1000);
  assert.deepEqual(summary.confusionMatrix, metrics.confusionMatrix.counts, 'same confusion matrix as training wrote');
  assert.equal(summary.accuracy, metrics.epochs[0].accuracy, 'same accuracy as the last epoch');
  assert.ok(Math.abs(summary.loss - metrics.epochs[0].validLoss) < 1e-5, `loss ${summary.loss} vs ${metrics.epochs[0].validLoss}`);
  for (const row of summary.perClass) {
    const expected = metrics.perClass[row.name];
    assert.ok(Math.abs(row.precision - expected.precision) < 1e-12 && Math.abs(row.recall - expected.recall) < 1e-12 && Math.abs(row.f1 - expected.f1) < 1e-12, row.name);
  }
  assert.ok(summary.topLosses.every((t, i) => i === 0 || summary.topLosses[i - 1].loss >= t.loss));
  const evaluate = kestrel('evaluate', run);
  assert.equal(Number(/test accuracy ([\d.]+)%/.exec(evaluate.stdout)?.[1]).toFixed(2), (100 * summary.accuracy).toFixed(2));
  for (const name of ['confusion-matrix.png', 'confusion-matrix-normalized.png', 'top-losses.png', 'predictions.png', 'most-correct.png', 'most-incorrect.png', 'most-uncertain.png', 'filters.png', 'activations.png', 'gradcam-top-losses.png', 'classification-report.txt']) {
    assert.ok(existsSync(join(out, name)), name);
  }

  // gradcam on two PNGs of the sample's classes
  const images = join(root, 'images');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(images);
  for (const [i, colour] of [[0, 40], [1, 200]] as const) await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: colour, g: colour, b: colour } } }).png().toFile(join(images, `im${i}.png`));
  const camOut = join(root, 'cam');
  const cam = kestrel('gradcam', run, images, '--class', 'Trouser', '--out', camOut);
  assert.equal(cam.code, 0, cam.stderr);
  assert.deepEqual(readdirSync(camOut).sort(), ['gradcam.json', 'gradcam.png', 'im0.gradcam.png', 'im1.gradcam.png']);
  const json = JSON.parse(readFileSync(join(camOut, 'gradcam.json'), 'utf8')) as { layer: string; images: { explained: string }[] };
  assert.equal(json.layer, '5');
  assert.ok(json.images.every((i) => i.explained === 'Trouser'));
  const badClass = kestrel('gradcam', run, images, '--class', 'Hat', '--out', join(root, 'nope'));
  assert.equal(badClass.code, 2);
  assert.match(badClass.stderr, /--class 'Hat' is not a class of this model \(T-shirt\/top, Trouser/);
  const badLayer = kestrel('gradcam', run, images, '--layer', 'conv9', '--out', join(root, 'nope'));
  assert.equal(badLayer.code, 1);
  assert.match(badLayer.stderr, /no layer named 'conv9' in Sequential; layers: 0, 1, 2/);
  assert.ok(!existsSync(join(root, 'nope')), 'a failing command writes nothing');
});
