import test from 'node:test';
import assert from 'node:assert/strict';
import { RankLostError, isCommunicationFailure } from '../../src/distributed/index.js';
import { explainDiagnosis } from '../../src/distributed/health.js';

const context = { rank: 0, worldSize: 4, during: 'epoch 3, batch 17', storeAddress: '10.0.0.1:29500', storeHost: 'the launcher' as const, timeoutMs: 1_800_000 };
const gloo = new Error('[../gloo/transport/tcp/pair.cc:598] Connection closed by peer [10.0.0.2]:4117');

test('failed collectives are told apart from other errors', () => {
  assert.ok(isCommunicationFailure(gloo));
  assert.ok(isCommunicationFailure(new Error('Socket Timeout')));
  assert.ok(!isCommunicationFailure(new Error('loss is NaN at epoch 2, batch 3')));
});

test('the explanation names the lost ranks, what they reported, or the lost store', () => {
  const lost = explainDiagnosis(gloo, { lost: [2], reported: new Map(), storeLost: false }, context);
  assert.ok(lost instanceof RankLostError);
  assert.deepEqual((lost as RankLostError).lostRanks, [2]);
  assert.equal(lost.message, 'rank 0: lost rank 2 of 4 during epoch 3, batch 17 (its heartbeat stopped: the process died or its machine is unreachable); stopping ([../gloo/transport/tcp/pair.cc:598] Connection closed by peer [10.0.0.2]:4117)');
  assert.equal(lost.cause, gloo);

  const said = explainDiagnosis(gloo, { lost: [1, 3], reported: new Map([[1, 'loss is NaN at epoch 3, batch 17']]), storeLost: false }, context);
  assert.match(said.message, /^rank 0: lost rank 1 \(it failed: loss is NaN at epoch 3, batch 17\), rank 3 of 4 during epoch 3, batch 17 \(its heartbeat stopped/);

  const store = explainDiagnosis(gloo, { lost: [], reported: new Map(), storeLost: true }, context);
  assert.match(store.message, /^rank 0: lost the launcher during epoch 3, batch 17: the rendezvous store at 10\.0\.0\.1:29500 is unreachable; stopping/);
  const rank0 = explainDiagnosis(gloo, { lost: [], reported: new Map(), storeLost: true }, { ...context, rank: 2, storeHost: 'rank 0' });
  assert.match(rank0.message, /^rank 2: lost rank 0 during epoch 3, batch 17: the rendezvous store at 10\.0\.0\.1:29500 is unreachable/);
  assert.deepEqual((rank0 as RankLostError).lostRanks, [0]);

  const stuck = explainDiagnosis(new Error('Timed out waiting 1800000ms for recv operation to complete'), { lost: [], reported: new Map(), storeLost: false }, context);
  assert.match(stuck.message, /^rank 0: epoch 3, batch 17 timed out after 1800 s while every rank's heartbeat is alive: some rank is stuck or called a different collective/);
  const other = new Error('Connection refused');
  assert.equal(explainDiagnosis(other, { lost: [], reported: new Map(), storeLost: false }, context), other, 'nothing found: the error as it was');
});
