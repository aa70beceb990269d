import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distributedSupport, launchWorkers } from '../../src/distributed/index.js';
import { assertSameWeights } from '../helpers/weights.js';

const CHILD = fileURLToPath(new URL('./ddp-child.js', import.meta.url));

function runAlone(out: string): Promise<number | null> {
  const child = spawn(process.execPath, [CHILD], { env: { ...process.env, OUT: out, KESTREL_THREADS: '1' }, stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => child.on('close', resolve));
}

interface RunRecord { trainLoss: number; validLoss: number; metrics: Record<string, number>; iteration: number; batches: number }

const NO_DIST = distributedSupport().available ? undefined : distributedSupport().reason;

test('2 processes with half of every batch end with the weights of 1 process with the whole batch (20 SGD steps of mnist-cnn)', { skip: NO_DIST }, async () => {
  const alone = mkdtempSync(join(tmpdir(), 'kestrel-ddp-'));
  const together = mkdtempSync(join(tmpdir(), 'kestrel-ddp-'));
  const [code, job] = await Promise.all([
    runAlone(alone),
    launchWorkers({ nproc: 2, args: [CHILD], env: { OUT: together }, threadsPerWorker: 1, log: () => undefined }),
  ]);
  assert.equal(code, 0);
  assert.equal(job.exitCode, 0);
  assertSameWeights(join(alone, 'weights.safetensors'), join(together, 'weights.safetensors'), 1e-5);
  const one = JSON.parse(readFileSync(join(alone, 'record.json'), 'utf8')) as RunRecord;
  const two = JSON.parse(readFileSync(join(together, 'record.json'), 'utf8')) as RunRecord;
  assert.deepEqual([one.iteration, one.batches, two.iteration, two.batches], [20, 20, 20, 20], 'each rank took the 20 steps with batches of 16');
  // Training loss and validation (each rank validates half of the test split) are summed over the ranks.
  assert.ok(Math.abs(one.trainLoss - two.trainLoss) < 1e-5, `train loss ${one.trainLoss} vs ${two.trainLoss}`);
  assert.ok(Math.abs(one.validLoss - two.validLoss) < 1e-5, `valid loss ${one.validLoss} vs ${two.validLoss}`);
  assert.deepEqual(two.metrics, one.metrics);
});
