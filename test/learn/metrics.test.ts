import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ConfusionMatrix, confusionMatrix, f1Macro, precisionMacro, recallMacro } from '../../src/learn/index.js';
import { oneHot } from '../../src/nn/index.js';
import { memory, tensor, tidy } from '../../src/tensor/index.js';
import { PYTHON, skipWithoutTorch } from '../helpers/torch.js';
import { blobLearner } from './fixtures.js';

const TARGETS = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 0, 1];
const PREDICTED = [0, 1, 0, 1, 2, 2, 2, 0, 2, 2, 0, 1]; // class 3 is never predicted, never right

/** Feeds one-hot "logits" of PREDICTED in two batches. */
function fill<M extends { accumulate(p: ReturnType<typeof tensor>, t: ReturnType<typeof tensor>): void; reset(): void }>(metric: M, classes = 4): M {
  metric.reset();
  tidy(() => {
    for (const [a, b] of [[0, 5], [5, 12]]) {
      metric.accumulate(oneHot(PREDICTED.slice(a, b), classes).float(), tensor(TARGETS.slice(a, b)).long());
    }
  });
  return metric;
}

test('ConfusionMatrix counts [true, predicted] and per-class accuracy', () => {
  const before = memory().liveTensors;
  const cm = fill(confusionMatrix());
  assert.deepEqual(cm.matrix(), [[3, 1, 0, 0], [0, 2, 1, 0], [1, 0, 3, 0], [0, 0, 1, 0]]);
  assert.deepEqual(cm.perClassAccuracy(), [0.75, 2 / 3, 0.75, 0]);
  assert.equal(cm.value(), (0.75 + 2 / 3 + 0.75 + 0) / 4);
  assert.deepEqual(cm.perClassPrecision(), [0.75, 2 / 3, 0.6, 0]);
  assert.equal(memory().liveTensors, before);
  cm.reset();
  assert.ok(Number.isNaN(cm.value()));
});

test('macro precision, recall and F1 equal scikit-learn (absent classes left out, 0/0 = 0)', { skip: skipWithoutTorch() }, () => {
  const script = `
from sklearn.metrics import precision_score, recall_score, f1_score, balanced_accuracy_score
import json, warnings; warnings.simplefilter('ignore')
t, p = ${JSON.stringify(TARGETS)}, ${JSON.stringify(PREDICTED)}
print(json.dumps([precision_score(t, p, average='macro', zero_division=0), recall_score(t, p, average='macro', zero_division=0), f1_score(t, p, average='macro', zero_division=0), balanced_accuracy_score(t, p)]))`;
  const [precision, recall, f1, balanced] = JSON.parse(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' })) as number[];
  const close = (a: number, b: number, label: string) => assert.ok(Math.abs(a - b) < 1e-12, `${label}: ${a} vs ${b}`);
  // 6 output columns: classes 4 and 5 never occur in targets or predictions and are left out
  close(fill(precisionMacro(), 6).value(), precision, 'precision');
  close(fill(recallMacro(), 6).value(), recall, 'recall');
  close(fill(f1Macro(), 6).value(), f1, 'f1');
  close(fill(new ConfusionMatrix(), 6).value(), balanced, 'balanced accuracy');
  assert.deepEqual([precisionMacro().name, recallMacro().name, f1Macro().name], ['precisionMacro', 'recallMacro', 'f1Macro']);
});

test('the metrics run inside a Learner and land in epoch records', async () => {
  const cm = confusionMatrix();
  const learn = blobLearner({ metrics: [f1Macro(), cm] });
  const [record] = await learn.fit(1, 0.1);
  assert.ok(record.metrics.f1Macro > 0.9 && record.metrics.balancedAccuracy > 0.9, JSON.stringify(record.metrics));
  const counts = cm.matrix();
  assert.equal(counts.flat().reduce((a, b) => a + b, 0), 128, 'every validation sample counted once');
});
