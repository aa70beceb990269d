import test from 'node:test';
import assert from 'node:assert/strict';
import {
  type Callback, CancelBatchError, CancelEpochError, CancelFitError, CancelTrainError, CancelValidateError, EVENTS, Recorder,
} from '../../src/learn/index.js';
import { memory } from '../../src/tensor/index.js';
import { blobLearner } from './fixtures.js';

/** Records every event as `epoch:event` (batch events with their batch index, training only). */
function tracer(): Callback & { log: string[] } {
  const log: string[] = [];
  const cb: Callback & { log: string[] } = { name: 'Tracer', order: -100, log };
  for (const event of EVENTS) {
    (cb as unknown as Record<string, unknown>)[event] = (learn: { epoch: number; batchIndex: number; training: boolean }) => {
      log.push(event.includes('Batch') || ['afterPred', 'afterLoss', 'beforeBackward', 'afterBackward', 'beforeStep', 'afterStep'].includes(event)
        ? `${learn.epoch}:${event}:${learn.training ? 't' : 'v'}${learn.batchIndex}` : `${learn.epoch}:${event}`);
    };
  }
  return cb;
}

test('CancelBatchError skips the rest of that batch only: no step, afterCancelBatch then afterBatch', async () => {
  const trace = tracer();
  const canceller: Callback = { afterLoss: (learn) => { if (learn.training && learn.batchIndex === 2) throw new CancelBatchError(); } };
  const learn = blobLearner({ callbacks: [trace, canceller] });
  let steps = 0;
  learn.addCallback({ order: 100, afterStep: () => { steps++; } });
  await learn.fit(1, 0.1);
  const batch2 = trace.log.filter((l) => l.endsWith(':t2'));
  assert.deepEqual(batch2.map((l) => l.split(':')[1]), ['beforeBatch', 'afterPred', 'afterLoss', 'afterCancelBatch', 'afterBatch']);
  assert.equal(steps, 7, '8 batches, one cancelled before its step');
  assert.equal(learn.history.length, 1);
});

test('CancelTrainError ends training early; validation and the epoch record still happen', async () => {
  const trace = tracer();
  const learn = blobLearner({ callbacks: [trace, { afterBatch: (l) => { if (l.training && l.batchIndex === 1) throw new CancelTrainError(); } }] });
  await learn.fit(2, 0.1);
  const epoch0 = trace.log.filter((l) => l.startsWith('0:'));
  assert.equal(epoch0.filter((l) => l.includes('beforeBatch:t')).length, 2);
  assert.ok(epoch0.includes('0:afterCancelTrain') && epoch0.includes('0:afterTrain') && epoch0.includes('0:afterValidate'));
  assert.equal(learn.history.length, 2);
  assert.ok(Number.isFinite(learn.history[0].validLoss));
});

test('CancelValidateError skips validation: the record has no valid loss', async () => {
  const trace = tracer();
  const learn = blobLearner({ callbacks: [trace, { beforeValidate: () => { throw new CancelValidateError(); } }] });
  await learn.fit(1, 0.1);
  assert.ok(trace.log.includes('0:afterCancelValidate') && trace.log.includes('0:afterValidate'));
  assert.equal(trace.log.filter((l) => l.includes(':v')).length, 0, 'no validation batch ran');
  assert.ok(Number.isNaN(learn.history[0].validLoss));
});

test('CancelEpochError ends the epoch (no record) and training goes on with the next', async () => {
  const trace = tracer();
  const learn = blobLearner({ callbacks: [trace, { afterTrain: (l) => { if (l.epoch === 0) throw new CancelEpochError(); } }] });
  await learn.fit(2, 0.1);
  assert.ok(trace.log.includes('0:afterCancelEpoch') && trace.log.includes('0:afterEpoch'));
  assert.ok(!trace.log.includes('0:beforeValidate'));
  assert.deepEqual(learn.history.map((r) => r.epoch), [2]);
});

test('CancelFitError ends fit cleanly: fit resolves with the epochs done, afterCancelFit and afterFit fire', async () => {
  const trace = tracer();
  const learn = blobLearner({ callbacks: [trace, { afterEpoch: (l) => { if (l.epoch === 1) throw new CancelFitError(); } }] });
  const history = await learn.fit(5, 0.1);
  assert.equal(history.length, 2);
  assert.deepEqual(trace.log.slice(-2), ['1:afterCancelFit', '1:afterFit']);
  assert.ok(!trace.log.some((l) => l.startsWith('2:')));
});

test('other errors propagate out of fit and leave no tensors behind', async () => {
  const learn = blobLearner({ callbacks: [{ afterPred: (l) => { if (l.training && l.batchIndex === 3) throw new Error('boom'); } }] });
  const before = memory().liveTensors;
  await assert.rejects(learn.fit(1, 0.1), /boom/);
  assert.equal(memory().liveTensors, before);
});

test('showTrainingLoop lists every event with the callbacks that run there, in order', () => {
  const learn = blobLearner({ callbacks: [new Recorder(), { name: 'Early', order: -1, beforeBatch() {}, afterBatch() {} }], progress: 'lines' });
  const text = learn.showTrainingLoop();
  const lines = text.split('\n');
  assert.equal(lines.length, EVENTS.length);
  assert.deepEqual(lines.map((l) => l.split(/\s+/)[0]), [...EVENTS]);
  assert.match(text, /^beforeBatch\s+Early$/m);
  assert.match(text, /^afterBatch\s+Early, Recorder, ProgressCallback$/m);
  assert.match(text, /^afterPred\s+-$/m);
  assert.match(text, /^beforeFit\s+Recorder, ProgressCallback$/m);
});
