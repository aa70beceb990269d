import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DataLoader, TensorDataset } from '../../src/data/index.js';
import { ConfusionMatrix, Learner, accuracy } from '../../src/learn/index.js';
import { dispose, manualSeed, memory, randint, randn, tidy, maxAbsDiff } from '../../src/tensor/index.js';
import { crossEntropy } from '../../src/nn/index.js';
import {
  Interpretation, classificationReport, confusionMatrixPicture, filtersPicture, activationsPicture, mostPicture, predictionGridPicture, topLossesPicture,
} from '../../src/interpret/index.js';
import { mnistCnn } from '../../src/vision/simple.js';
import { TensorBatches } from '../learn/fixtures.js';
import { PYTHON, pythonHas } from '../helpers/torch.js';
import { execFileSync } from 'node:child_process';

/** Three overlapping Gaussian classes as 1x8x8 images (some confusion), labels 0..2. */
function threeClasses(n: number, seed: number): TensorDataset {
  manualSeed(seed);
  return tidy(() => {
    const labels = randint(0, 3, [n], { dtype: 'int64' });
    const centre = labels.float().sub(1).mul(0.35).reshape(n, 1, 1, 1);
    return new TensorDataset(randn([n, 1, 8, 8]).add(centre), labels, { classes: ['alpha', 'beta', '<img src=x onerror=alert(1)>'] });
  });
}

const tempDir = mkdtempSync(join(tmpdir(), 'kestrel-interp-'));

test('Interpretation numbers equal Learner.evaluate and the ConfusionMatrix metric', async () => {
  const data = threeClasses(300, 1);
  const model = mnistCnn(3, { channels: 1, height: 8, width: 8 });
  const valid = new DataLoader(data, { batchSize: 64 });
  const matrix = new ConfusionMatrix();
  const learn = new Learner(model, { train: valid, valid }, { progress: false, metrics: [accuracy(), matrix] });
  const evaluated = await learn.evaluate(valid);
  const before = memory().liveTensors;
  const interp = await Interpretation.fromLearner(learn);
  assert.equal(memory().liveTensors, before, 'the pass keeps no tensors');
  assert.equal(interp.length, 300);
  assert.ok(Math.abs(interp.loss - evaluated.loss) < 1e-6, `loss ${interp.loss} vs evaluate ${evaluated.loss}`);
  assert.equal(interp.accuracy, evaluated.metrics.accuracy);
  assert.deepEqual(interp.confusionMatrix(), matrix.matrix());
  assert.equal(interp.confusionMatrix().flat().reduce((a, b) => a + b, 0), 300, 'the matrix counts every item once');
  assert.deepEqual(interp.classes, data.classes);
  const per = interp.perClass();
  per.forEach((row, i) => {
    assert.equal(row.precision, matrix.perClassPrecision()[i]);
    assert.equal(row.recall, matrix.perClassRecall()[i]);
    assert.equal(row.f1, matrix.perClassF1()[i]);
  });
  // each row normalised sums to one; most confused is the off-diagonal sorted by count
  for (const row of interp.normalizedConfusionMatrix()) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  const confused = interp.mostConfused(2);
  assert.ok(confused.every((c, i) => c.count >= 2 && c.actual !== c.predicted && (i === 0 || confused[i - 1].count >= c.count)));
  // top losses: the largest per-item cross-entropies, and they equal a direct computation
  const top = interp.topLosses(5);
  const all = tidy(() => {
    const batch = data.getBatch(Int32Array.from({ length: 300 }, (_, i) => i));
    model.eval();
    return Array.from(crossEntropy(model.forward(batch.x), batch.y, { reduction: 'none' }).toArray() as Float32Array);
  });
  const sorted = [...all].sort((a, b) => b - a);
  top.forEach((item, k) => { assert.ok(Math.abs(item.loss - sorted[k]) < 1e-5); assert.ok(Math.abs(all[item.index] - item.loss) < 1e-5); });
  // lesson-1 rankings
  for (const item of interp.mostCorrect(3, 1)) assert.ok(item.actual === 1 && item.predicted === 1);
  for (const item of interp.mostIncorrect(3)) assert.notEqual(item.actual, item.predicted);
  const uncertain = interp.mostUncertain(3);
  assert.ok(uncertain.every((u) => u.probability <= interp.mostCorrect(1)[0].probability));
  model.dispose(); data.dispose();
});

test('fetch re-reads the shown items: a DataLoader gathers them, any other source is iterated again', async () => {
  const data = threeClasses(100, 2);
  const model = mnistCnn(3, { channels: 1, height: 8, width: 8 });
  const direct = await Interpretation.fromModel(model, new DataLoader(data, { batchSize: 32 }));
  const batches = tidy(() => data.getBatch(Int32Array.from({ length: 100 }, (_, i) => i)));
  const source = new TensorBatches(batches.x, batches.y, 16);
  const generic = await Interpretation.fromModel(model, source);
  assert.deepEqual(Array.from(generic.losses), Array.from(direct.losses));
  const indices = [97, 3, 50, 3];
  const a = await direct.fetch(indices);
  const b = await generic.fetch(indices);
  const expected = data.getBatch(Int32Array.from(indices));
  assert.equal(maxAbsDiff(a.x, expected.x), 0);
  assert.equal(maxAbsDiff(b.x, expected.x), 0);
  assert.deepEqual(Array.from(b.y.toArray() as BigInt64Array), Array.from(expected.y.toArray() as BigInt64Array));
  await assert.rejects(direct.fetch([100]), /index 100 out of range for 100 items/);
  dispose([a, b, expected]); source.dispose(); model.dispose(); data.dispose();
});

async function dominant(png: Buffer, colour: [number, number, number]): Promise<number> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  let n = 0;
  for (let i = 0; i < data.length; i += info.channels) if (Math.abs(data[i] - colour[0]) + Math.abs(data[i + 1] - colour[1]) + Math.abs(data[i + 2] - colour[2]) < 40) n++;
  return n;
}

test('pictures: confusion matrix, top losses, prediction grid (green right, red wrong), lesson-1 rankings, filters, activations', async () => {
  const data = threeClasses(60, 3);
  const model = mnistCnn(3, { channels: 1, height: 8, width: 8 });
  const interp = await Interpretation.fromModel(model, new DataLoader(data, { batchSize: 32 }));
  const live = memory().liveTensors;
  const pictures = {
    confusion: await confusionMatrixPicture(interp), normalised: await confusionMatrixPicture(interp, { normalize: true }),
    top: await topLossesPicture(interp, { k: 6 }), grid: await predictionGridPicture(interp, { n: 12 }),
    correct: await mostPicture(interp, 'correct'), incorrect: await mostPicture(interp, 'incorrect'), uncertain: await mostPicture(interp, 'uncertain'),
    filters: await filtersPicture(model), activations: await activationsPicture(model, data.getBatch(Int32Array.of(0)).x, '1'),
  };
  assert.equal(memory().liveTensors, live + 2, 'only the two tensors of the batch passed in stay');
  for (const [name, png] of Object.entries(pictures)) {
    writeFileSync(join(tempDir, `${name}.png`), png);
    const meta = await sharp(png).metadata();
    assert.equal(meta.format, 'png', name);
    assert.ok(meta.width! > 100 && meta.height! > 100, `${name} ${meta.width}x${meta.height}`);
  }
  const right = interp.predictions.slice(0, 12).filter((p, i) => p === interp.targets[i]).length;
  const green = await dominant(pictures.grid, [44, 160, 44]); const red = await dominant(pictures.grid, [214, 39, 40]);
  if (right > 0) assert.ok(green > 20, `green captions for ${right} right predictions`); else assert.equal(green, 0);
  if (right < 12) assert.ok(red > 20, `red captions for ${12 - right} wrong predictions`); else assert.equal(red, 0);
  const report = classificationReport(interp);
  assert.match(report, /precision\s+recall\s+f1-score\s+support/);
  assert.match(report, new RegExp(`accuracy\\s+${interp.accuracy.toFixed(4)}\\s+60`));
  model.dispose(); data.dispose();
});

test('per-class precision/recall/F1 equal scikit-learn', { skip: pythonHas('sklearn') ? undefined : 'scikit-learn not installed' }, async () => {
  const data = threeClasses(200, 4);
  const model = mnistCnn(3, { channels: 1, height: 8, width: 8 });
  const interp = await Interpretation.fromModel(model, new DataLoader(data, { batchSize: 50 }));
  const script = `import json,sys\nfrom sklearn.metrics import precision_recall_fscore_support as f\nd=json.loads(sys.argv[1])\np,r,s,n=f(d['y'],d['p'],labels=[0,1,2],zero_division=0)\nprint(json.dumps([list(p),list(r),list(s),[int(v) for v in n]]))`;
  const [p, r, f1, support] = JSON.parse(execFileSync(PYTHON, ['-c', script, JSON.stringify({ y: Array.from(interp.targets), p: Array.from(interp.predictions) })], { encoding: 'utf8' })) as number[][];
  interp.perClass().forEach((row, i) => {
    assert.ok(Math.abs(row.precision - p[i]) < 1e-12 && Math.abs(row.recall - r[i]) < 1e-12 && Math.abs(row.f1 - f1[i]) < 1e-12, `class ${i}`);
    assert.equal(row.support, support[i]);
  });
  model.dispose(); data.dispose();
});
