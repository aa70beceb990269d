import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cudaAvailable } from '../../src/tensor/index.js';
import { assertSameWeights } from '../helpers/weights.js';
import { distributedSupport } from '../../src/distributed/index.js';
import { workerArgv } from '../../src/cli/distributed.js';
import { main } from '../../src/cli/main.js';
import { splitAtScript } from '../../src/cli/launch.js';
import { KESTREL_BIN as BIN, kestrel } from '../helpers/cli.js';
import { captureConsole } from '../helpers/console.js';

const FLAGS = ['train', 'sample', '--model', 'mlp', '--epochs', '4', '--seed', '5', '--checkpoint-every', '1', '--nproc', '2'];

function checkpointEpoch(dir: string): number {
  const pointer = join(dir, 'checkpoint', 'checkpoint.json');
  if (!existsSync(pointer)) return 0;
  return Number(/^epoch-(\d+)-/.exec((JSON.parse(readFileSync(pointer, 'utf8')) as { current: string }).current)?.[1] ?? 0);
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const NO_DIST = distributedSupport().available ? undefined : distributedSupport().reason;

test('kill -9 of a worker: the other rank names it and stops, the job fails, and --resume finishes like an uninterrupted run', { skip: NO_DIST }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'kestrel-dist-'));
  const whole = join(root, 'whole');
  const cut = join(root, 'cut');
  const uninterrupted = run([...FLAGS, '--out', whole]);

  const child = spawn(process.execPath, [BIN, ...FLAGS, '--out', cut], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const killedAt = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const pid = /rank 1 pid (\d+)/.exec(stderr)?.[1];
      if (pid && checkpointEpoch(cut) >= 1) {
        clearInterval(timer);
        process.kill(Number(pid), 'SIGKILL');
        resolve(Date.now());
      }
    }, 20);
    child.on('exit', (code) => { clearInterval(timer); reject(new Error(`the job ended (code ${code}) before a worker could be killed:\n${stderr}`)); });
  });
  const code = await closed;
  const seconds = (Date.now() - killedAt) / 1000;
  assert.notEqual(code, 0);
  assert.ok(seconds < 60, `the job took ${seconds} s to stop`);
  // NOTE: where rank 0 notices depends on timing: in a training step, or at a barrier (a checkpoint, the end of the fit).
  assert.match(stderr, /kestrel: error: rank 0: lost rank 1 of 2 during (epoch \d+|barrier)/);
  assert.match(stderr, /rank 1 \(pid \d+\) was killed by SIGKILL/);
  assert.ok(!existsSync(join(cut, 'model.safetensors')), 'the killed job never finished');
  const killedAfter = checkpointEpoch(cut);

  const resumed = await run([...FLAGS, '--resume', cut]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, new RegExp(`resuming from .* after epoch ${killedAfter} of 4`));
  const done = await uninterrupted;
  assert.equal(done.code, 0, done.stderr);
  assertSameWeights(join(whole, 'model.safetensors'), join(cut, 'model.safetensors'), 1e-6);
  const epochs = (dir: string) => (JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as { epochs: { trainLoss: number }[] }).epochs;
  assert.deepEqual(epochs(cut).map((e) => e.trainLoss), epochs(whole).map((e) => e.trainLoss));
});

test('--device cuda without CUDA, and bad launcher flags, are clear errors that write nothing', { skip: cudaAvailable() ? 'a GPU is available' : undefined }, async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'kestrel-dist-')), 'run');
  const result = kestrel('train', 'sample', '--out', out, '--device', 'cuda');
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /kestrel: error: --device: 'cuda' is not available: this Kestrel was built against a CPU-only libtorch .*KESTREL_LIBTORCH=/);
  const cases: [string[], RegExp][] = [
    [['--device', 'cuda:1', '--nproc', '2'], /--device: 'cuda:1' is not available/],
    [['--device', 'tpu'], /--device: unknown device 'tpu' \(use cpu, cuda or cuda:N\)/],
    [['--nproc', '2', '--bs', '63'], /--bs 63 is the batch of all 2 processes together and must divide evenly between them/],
    [['--nnodes', '2', '--node-rank', '2'], /--node-rank 2 must be below --nnodes 2/],
    [['--nnodes', '2'], /--nnodes > 1 needs --master-port/],
  ];
  for (const [flags, message] of cases) {
    const { result: code, err } = await captureConsole(() => main(['train', 'sample', '--out', out, ...flags]));
    assert.equal(code, 2, flags.join(' '));
    assert.match(err, message);
  }
  assert.ok(!existsSync(out), 'nothing was written');
});

test('workers get the command without the launcher\'s flags', () => {
  assert.deepEqual(
    workerArgv(['sample', '--nproc', '2', '--threads=4', '--epochs', '3', '--master-port', '1234', '--master-addr=10.0.0.1', '--nnodes', '1', '--node-rank', '0', '--device', 'cpu']),
    ['sample', '--epochs', '3', '--device', 'cpu'],
  );
});

test('kestrel launch runs a script as the workers of a job, with its own arguments', { skip: NO_DIST }, async () => {
  assert.deepEqual(splitAtScript(['--nproc', '2', '--threads=2', 'train.js', '--nproc', '9', 'x']), { own: ['--nproc', '2', '--threads=2'], script: ['train.js', '--nproc', '9', 'x'] });
  const out = join(mkdtempSync(join(tmpdir(), 'kestrel-launch-')), 'seen.json');
  const child = fileURLToPath(new URL('./launch-child.js', import.meta.url));
  const result = spawnSync(process.execPath, [BIN, 'launch', '--nproc', '2', '--threads', '2', child, '--epochs', '3'], { encoding: 'utf8', env: { ...process.env, OUT: out } });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), { sum: 3, worldSize: 2, args: ['--epochs', '3'], threads: 1 });
  assert.equal(kestrel('launch', '--nproc', '2').code, 2);
});
