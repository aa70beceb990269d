import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distributedSupport, launchWorkers } from '../../src/distributed/index.js';

const NO_DIST = distributedSupport().available ? undefined : distributedSupport().reason;

test('workers get torchrun\'s environment, a store hosted by the launcher, and their share of the threads', { skip: NO_DIST }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-launch-'));
  const script = `require('fs').writeFileSync(require('path').join(${JSON.stringify(dir)}, process.env.RANK + '.json'), JSON.stringify(process.env))`;
  const lines: string[] = [];
  const result = await launchWorkers({ nproc: 3, args: ['-e', script], threadsPerWorker: 2, log: (line) => lines.push(line) });
  assert.equal(result.exitCode, 0);
  assert.equal(result.firstFailure, null);
  assert.match(lines[0], /^kestrel: started 3 workers of 3 \(2 threads each\): rank 0 pid \d+, rank 1 pid \d+, rank 2 pid \d+$/);
  const ports = new Set<string>();
  for (const rank of [0, 1, 2]) {
    const env = JSON.parse(readFileSync(join(dir, `${rank}.json`), 'utf8')) as Record<string, string>;
    assert.deepEqual(
      [env.RANK, env.LOCAL_RANK, env.WORLD_SIZE, env.LOCAL_WORLD_SIZE, env.GROUP_RANK, env.MASTER_ADDR, env.TORCHELASTIC_USE_AGENT_STORE, env.KESTREL_THREADS, env.OMP_NUM_THREADS],
      [String(rank), String(rank), '3', '3', '0', '127.0.0.1', 'True', '2', '2'],
    );
    assert.ok(Number(env.MASTER_PORT) > 0);
    ports.add(env.MASTER_PORT);
  }
  assert.equal(ports.size, 1, 'one store for all');
});

test('a worker that dies is named, and workers that keep running are stopped after the grace period', { skip: NO_DIST }, async () => {
  const script = 'if (process.env.RANK === "1") process.exit(3); setInterval(() => {}, 1000);';
  const lines: string[] = [];
  const result = await launchWorkers({ nproc: 2, args: ['-e', script], graceMs: 300, log: (line) => lines.push(line) });
  assert.equal(result.exitCode, 3);
  assert.deepEqual([result.firstFailure?.rank, result.firstFailure?.code], [1, 3]);
  assert.match(lines.join('\n'), /rank 1 \(pid \d+\) exited with code 3; the other workers get 0 s to stop\nkestrel: terminating the workers still running/);
  assert.equal(result.exits.find((e) => e.rank === 0)?.signal, 'SIGTERM');
});

test('launch options are checked', async () => {
  await assert.rejects(launchWorkers({ nproc: 0, args: [] }), /nproc must be a positive integer, got 0/);
  await assert.rejects(launchWorkers({ nproc: 1, nnodes: 2, nodeRank: 2, args: [] }), /nodeRank must be in \[0, 1\], got 2/);
  await assert.rejects(launchWorkers({ nproc: 1, nnodes: 2, args: [] }), /with several machines, masterPort must be given/);
});
