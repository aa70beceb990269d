import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSafetensors, maxAbsDiff, tidy } from '../../src/tensor/index.js';

const BIN = fileURLToPath(new URL('../../../bin/kestrel.js', import.meta.url));
const FLAGS = ['train', 'sample', '--model', 'mnist-cnn', '--epochs', '5', '--schedule', 'one-cycle', '--lr', '0.003', '--seed', '11', '--checkpoint-every', '1', '--threads', '1'];

function checkpointEpoch(dir: string): number {
  const pointer = join(dir, 'checkpoint', 'checkpoint.json');
  if (!existsSync(pointer)) return 0;
  const current = (JSON.parse(readFileSync(pointer, 'utf8')) as { current: string }).current;
  return Number(/^epoch-(\d+)-/.exec(current)?.[1] ?? 0);
}

test('kill -9 during epoch 3 of 5, then --resume: final weights equal an uninterrupted run', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kestrel-resume-'));
  const whole = join(root, 'whole');
  const cut = join(root, 'cut');
  const uninterrupted = spawnSync(process.execPath, [BIN, ...FLAGS, '--out', whole], { encoding: 'utf8', timeout: 600000 });
  assert.equal(uninterrupted.status, 0, uninterrupted.stderr);

  // Start the same run and SIGKILL it once epoch 2's checkpoint exists (so during epoch 3).
  const child = spawn(process.execPath, [BIN, ...FLAGS, '--out', cut], { stdio: 'ignore' });
  const killedAfter = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const epoch = checkpointEpoch(cut);
      if (epoch >= 2) {
        clearInterval(timer);
        child.kill('SIGKILL');
        resolve(epoch);
      }
    }, 20);
    child.on('exit', (code) => { clearInterval(timer); if (code !== null) reject(new Error(`run finished (code ${code}) before it could be killed`)); });
  });
  await new Promise((resolve) => child.on('close', resolve));
  assert.ok(killedAfter >= 2 && killedAfter < 5, `killed after epoch ${killedAfter}`);
  assert.ok(!existsSync(join(cut, 'model.safetensors')), 'the killed run never finished');

  const resumed = spawnSync(process.execPath, [BIN, ...FLAGS, '--resume', cut], { encoding: 'utf8', timeout: 600000 });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stdout, new RegExp(`resuming from .* after epoch ${killedAfter} of 5`));

  const a = loadSafetensors(join(whole, 'model.safetensors')).tensors;
  const b = loadSafetensors(join(cut, 'model.safetensors')).tensors;
  assert.deepEqual([...b.keys()], [...a.keys()]);
  for (const [name, tensor] of a) {
    const diff = tidy(() => maxAbsDiff(tensor, b.get(name)!));
    assert.ok(diff <= 1e-6, `${name} differs by ${diff}`);
  }
  const metrics = (dir: string) => JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as { epochs: { trainLoss: number }[]; schedule: { lrs: number[] } };
  assert.equal(metrics(cut).epochs.length, 5, 'history carries over the checkpointed epochs');
  assert.deepEqual(metrics(cut).epochs.map((e) => e.trainLoss), metrics(whole).epochs.map((e) => e.trainLoss));
});

test('--resume without a checkpoint, or with other epochs, is a usage error', () => {
  const empty = mkdtempSync(join(tmpdir(), 'kestrel-resume-'));
  const result = spawnSync(process.execPath, [BIN, 'train', 'sample', '--resume', empty], { encoding: 'utf8' });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /no checkpoint there \(train with --checkpoint-every N/);
});
