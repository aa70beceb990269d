import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createTcpStore, destroyProcessGroup, distributedSupport, initProcessGroup } from '../../src/distributed/index.js';
import { dispose, tensor } from '../../src/tensor/index.js';
import { PYTHON, skipWithoutTorch } from '../helpers/torch.js';

// Rank 1: torch.distributed's own init_process_group (env://, gloo), then the same collectives as rank 0 below.
const PYTHON_RANK = `
import json, datetime, torch, torch.distributed as dist
dist.init_process_group('gloo', rank=1, world_size=2, timeout=datetime.timedelta(seconds=60))
out = {}
t = torch.tensor([10., 20., 30.]); dist.all_reduce(t); out['sum'] = t.tolist()
m = torch.tensor([5., 3.], dtype=torch.float64); dist.all_reduce(m, op=dist.ReduceOp.MAX); out['max'] = m.tolist()
a = torch.tensor([4., 8.]); dist.all_reduce(a); out['avg'] = (a / 2).tolist()
b = torch.tensor([7., 8., 9.]); dist.broadcast(b, src=1); out['broadcast'] = b.tolist()
c = torch.zeros(2); dist.broadcast(c, src=0); out['fromKestrel'] = c.tolist()
g = [torch.zeros(2, dtype=torch.int64) for _ in range(2)]; dist.all_gather(g, torch.tensor([10, 11])); out['gather'] = [x.tolist() for x in g]
dist.barrier()
dist.destroy_process_group()
print(json.dumps(out))
`;

const NO_DIST = distributedSupport().available ? undefined : distributedSupport().reason;

test('a Kestrel rank and a Python torch.distributed rank join one gloo group and agree on every collective', { skip: NO_DIST ?? skipWithoutTorch() }, async () => {
  const store = await createTcpStore({ host: '127.0.0.1', port: 0, isServer: true, timeout: 60000 });
  const python = spawn(PYTHON, ['-c', PYTHON_RANK], {
    env: { ...process.env, MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(store.port), OMP_NUM_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  python.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  python.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => python.on('close', resolve));
  const group = await initProcessGroup({ store, rank: 0, worldSize: 2, timeout: 60000 });
  const sum = tensor([1, 2, 3]);
  const max = tensor(Float64Array.from([1, 50]), [2]);
  const avg = tensor([2, 4]);
  const fromPython = tensor([0, 0, 0]);
  const mine = tensor([0.5, 1.5]);
  try {
    await group.allReduce(sum);
    await group.allReduce(max, { op: 'max' });
    await group.allReduce(avg, { op: 'avg' });
    await group.broadcast(fromPython, { src: 1 });
    await group.broadcast(mine, { src: 0 });
    const gathered = await group.allGather(tensor(BigInt64Array.from([0n, 1n]), [2]));
    await group.barrier();
    assert.deepEqual(sum.toList(), [11, 22, 33]);
    assert.deepEqual(max.toList(), [5, 50]);
    assert.deepEqual(avg.toList(), [3, 6]);
    assert.deepEqual(fromPython.toList(), [7, 8, 9]);
    assert.deepEqual(gathered.map((g) => g.toList()), [[0, 1], [10, 11]]);
    dispose(gathered);
  } finally {
    await destroyProcessGroup();
    dispose([sum, max, avg, fromPython, mine]);
  }
  assert.equal(await exited, 0, stderr);
  const theirs = JSON.parse(stdout) as Record<string, unknown>;
  assert.deepEqual(theirs, {
    sum: [11, 22, 33], max: [5, 50], avg: [3, 6], broadcast: [7, 8, 9], fromKestrel: [0.5, 1.5], gather: [[0, 1], [10, 11]],
  });
  store.close();
});
