import test from 'node:test';
import assert from 'node:assert/strict';
import {
  barrier, destroyProcessGroup, distributedEnv, distributedSupport, getRank, getWorldSize, initProcessGroup, isInitialized, isMainProcess,
  allReduce, broadcast, allGather, createTcpStore, isCommunicationFailure,
} from '../../src/distributed/index.js';
import { dispose, tensor, tidy } from '../../src/tensor/index.js';

const support = distributedSupport();
// NOTE: .ci/run installs libgloo-dev, so CI always builds process groups; elsewhere the API must say why they are missing.
const SKIP = support.available ? undefined : support.reason;

test('process groups are built in, or the reason says how to get them', async () => {
  if (!support.available) {
    assert.match(support.reason, /apt-get install libgloo-dev, then npm rebuild kestrel/);
    await assert.rejects(initProcessGroup({ rank: 0, worldSize: 1 }), /built without c10d process groups/);
    return;
  }
  assert.equal(support.gloo, true);
});

test('a group of one: collectives, ops, errors, destroy', { skip: SKIP }, async () => {
  assert.equal(isInitialized(), false);
  assert.equal(getRank(), 0);
  assert.equal(getWorldSize(), 1);
  const group = await initProcessGroup({ rank: 0, worldSize: 1 });
  try {
    assert.equal(String(group), 'ProcessGroup(gloo, rank 0 of 1)');
    assert.equal(isInitialized(), true);
    assert.equal(isMainProcess(), true);
    await assert.rejects(initProcessGroup({ rank: 0, worldSize: 1 }), /already called/);
    const t = tensor([1, -2, 3]);
    for (const op of ['sum', 'avg', 'max', 'min', 'product'] as const) {
      assert.equal(await allReduce(t, { op }), t, 'resolves to the same tensor');
      assert.deepEqual(Array.from(t.toArray() as Float32Array), [1, -2, 3], op);
    }
    assert.deepEqual(Array.from(group.allReduceSync(t, { op: 'avg' }).toArray() as Float32Array), [1, -2, 3]);
    // NOTE: a strided view goes through a contiguous copy and comes back in place.
    const m = tensor([[1, 2], [3, 4]]);
    const column = m.t();
    await group.allReduce(column);
    assert.deepEqual(m.toList(), [[1, 2], [3, 4]]);
    await broadcast(t, { src: 0 });
    group.broadcastSync(t);
    const gathered = await allGather(t);
    assert.equal(gathered.length, 1);
    assert.deepEqual(Array.from(gathered[0].toArray() as Float32Array), [1, -2, 3]);
    await barrier();
    // The heartbeat thread bumps this rank's counter in the store (what survivors read to name a lost rank).
    for (let waited = 0; group.store.add('kestrel/heartbeat/0', 0) < 2 && waited < 20000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    assert.ok(group.store.add('kestrel/heartbeat/0', 0) >= 2, 'the heartbeat advances');
    const weights = [tensor([[1, 2], [3, 4]]), tensor([5]), tensor(BigInt64Array.from([7n]), [1])];
    group.broadcastTensors(weights, { bucketBytes: 16 });
    assert.deepEqual(weights.map((w) => w.toList()), [[[1, 2], [3, 4]], [5], [7]]);
    await assert.rejects(group.allReduce(tensor(Int32Array.from([1]), [1]), { op: 'avg' }), /avg needs a floating tensor, got int32/);
    await assert.rejects(group.allReduce(t, { op: 'mean' as never }), /unknown reduce op 'mean'/);
    await assert.rejects(group.broadcast(t, { src: 1 }), /broadcast src must be a rank in \[0, 0\], got 1/);
    dispose([t, m, column, gathered, weights]);
  } finally {
    await destroyProcessGroup();
  }
  assert.equal(isInitialized(), false);
  await assert.rejects(allReduce(tidy(() => tensor([1]))), /no process group: call await initProcessGroup\(\) first/);
  await assert.rejects(group.barrier(), /used after destroyProcessGroup/);
});

test('initProcessGroup and the environment explain what is missing', { skip: SKIP }, async () => {
  await assert.rejects(initProcessGroup({ rank: 0 }), /worldSize must be a positive integer \(set it or \$WORLD_SIZE\), got undefined/);
  await assert.rejects(initProcessGroup({ rank: 2, worldSize: 2 }), /rank must be an integer in \[0, 1\] \(set it or \$RANK\), got 2/);
  await assert.rejects(initProcessGroup({ rank: 1, worldSize: 2 }), /masterPort is needed/);
  await assert.rejects(initProcessGroup({ rank: 0, worldSize: 1, backend: 'nccl' }), /backend 'nccl' needs a CUDA build of libtorch/);
  await assert.rejects(initProcessGroup({ rank: 0, worldSize: 1, backend: 'mpi' as never }), /unknown backend 'mpi' \(gloo or nccl\)/);
  assert.equal(distributedEnv({}), null);
  assert.deepEqual(distributedEnv({ WORLD_SIZE: '4', RANK: '3', MASTER_PORT: '29500', LOCAL_RANK: '1', LOCAL_WORLD_SIZE: '2' }), {
    rank: 3, worldSize: 4, localRank: 1, localWorldSize: 2, masterAddr: '127.0.0.1', masterPort: 29500, agentStore: false, restartCount: 0,
  });
  assert.throws(() => distributedEnv({ WORLD_SIZE: '2' }), /\$WORLD_SIZE is set but \$RANK is not/);
  assert.throws(() => distributedEnv({ WORLD_SIZE: '2', RANK: '2' }), /\$RANK 2 is out of range for \$WORLD_SIZE 2/);
  assert.throws(() => distributedEnv({ WORLD_SIZE: 'two', RANK: '0' }), /\$WORLD_SIZE must be an integer >= 1, got 'two'/);
});

test('a rank that never comes makes the others fail within the timeout, naming the store', { skip: SKIP }, async () => {
  const store = await createTcpStore({ host: '127.0.0.1', port: 0, isServer: true, timeout: 1500 });
  try {
    const started = Date.now();
    await assert.rejects(initProcessGroup({ store, rank: 0, worldSize: 2, timeout: 1500 }), (error: Error) => {
      assert.match(error.message, /rank 0 could not join a group of 2 through TCPStore\(127\.0\.0\.1:\d+\)/);
      assert.ok(isCommunicationFailure(error.cause));
      return true;
    });
    assert.ok(Date.now() - started < 15000, `took ${Date.now() - started} ms`);
  } finally {
    store.close();
  }
  await assert.rejects(createTcpStore({ host: '127.0.0.1', port: 0, isServer: false }), /a store client needs the server's port/);
});
