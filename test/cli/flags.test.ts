import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { openDataset } from '../../src/cli/dataset-arg.js';
import type { ImageLoader } from '../../src/data/index.js';

const BIN = fileURLToPath(new URL('../../../bin/kestrel.js', import.meta.url));

function kestrel(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

function temp(): string {
  return mkdtempSync(join(tmpdir(), 'kestrel-flags-'));
}

/** A folder of 8x8 grey PNGs: `counts` images per class under `root/<prefix><class>/`. */
async function pngFolder(root: string, counts: Record<string, number>): Promise<string> {
  for (const [name, n] of Object.entries(counts)) {
    mkdirSync(join(root, name), { recursive: true });
    for (let i = 0; i < n; i++) {
      await sharp(Buffer.alloc(64, (i * 29) % 256), { raw: { width: 8, height: 8, channels: 1 } }).png().toFile(join(root, name, `${i}.png`));
    }
  }
  return root;
}

test('bad flag values are usage errors (exit 2) with the CLI\'s own wording, and write nothing', async () => {
  const expectUsage = (args: string[], message: string | RegExp) => {
    const result = kestrel('train', ...args);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.ok(typeof message === 'string' ? result.stderr.startsWith(`kestrel: error: ${message}\n`) : message.test(result.stderr), result.stderr);
  };
  expectUsage(['--epochs', '-1'], 'option --epochs must be >= 1, got -1');
  expectUsage(['--lr', '-0.5'], 'option --lr must be >= 0, got -0.5');
  expectUsage(['--valid-pct', '1.5'], 'option --valid-pct must be between 0 and 1 (the share of images held out for validation), got 1.5');
  expectUsage(['--valid-pct', '0'], 'option --valid-pct must be between 0 and 1 (the share of images held out for validation), got 0');
  expectUsage(['sample', '--valid-pct', '0.3'], "--valid-pct applies to a folder of images without a validation split; 'sample' comes with its own test split");
  expectUsage(['--model', 'mnist-cnn', '--no-flip'], '--no-flip only applies with --augment');

  const dir = temp();
  const file = join(dir, 'results');
  writeFileSync(file, 'not a folder');
  expectUsage(['--out', file], `--out ${file}: a file with that name exists; give a folder for the results`);
  expectUsage(['--out', join(file, 'run')], `--out ${join(file, 'run')}: ${file} is a file, so the folder cannot be made there`);
  assert.equal(readFileSync(file, 'utf8'), 'not a folder');

  const split = await pngFolder(join(dir, 'split'), { 'train/a': 2, 'train/b': 2, 'valid/a': 1, 'valid/b': 1 });
  expectUsage([split, '--valid-pct', '0.3', '--out', join(dir, 'never')], `--valid-pct applies to a folder without a validation split, but ${split} has ${join(split, 'valid')}; leave --valid-pct out`);
  assert.deepEqual(readdirSync(dir).sort(), ['results', 'split'], 'no output folder was made');

  const tiny = await pngFolder(join(dir, 'tiny'), { a: 1, b: 1 });
  const noValid = kestrel('train', tiny, '--out', join(dir, 'tiny-run'));
  assert.equal(noValid.code, 1, noValid.stderr);
  assert.match(noValid.stderr, /kestrel: error: no validation images in image folders .*tiny \(2 train, 0 valid images at 64px\); raise --valid-pct or add a valid\/ folder/);
  assert.ok(!existsSync(join(dir, 'tiny-run')), 'nothing written');
});

test('--augment flips by default; --no-flip keeps every other augmentation but the flip', async () => {
  const root = await pngFolder(join(temp(), 'digits'), { '1': 4, '7': 4 });
  const open = (flip?: boolean) => openDataset(root, { batchSize: 4, seed: 1, size: 8, augment: true, ...(flip === undefined ? {} : { flip }) });
  for (const [flip, expected] of [[undefined, true], [false, false]] as const) {
    const data = await open(flip);
    const transforms = (data.train as ImageLoader).transforms!;
    assert.equal(transforms.flipHorizontal, expected);
    assert.equal(transforms.rotate, 10, 'the rest of fastai\'s augmentation stays');
    assert.equal((data.valid as ImageLoader).transforms!.flipHorizontal, undefined, 'validation is never augmented');
    await data.close();
  }
});

/** Starts `kestrel train` and sends `signal` once `ready(out)` is true; resolves with the exit code and output. */
function interruptRun(args: string[], out: string, signal: NodeJS.Signals, ready: (stdout: string) => boolean): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'train', ...args, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = ''; let stderr = ''; let sent = false;
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (!sent && ready(stdout)) { sent = true; child.kill(signal); }
  });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

test('Ctrl-C during training: says where it stopped and how to resume, keeps metrics and a checkpoint, exits 130; the resumed run finishes', async () => {
  const out = join(temp(), 'run');
  const flags = ['sample', '--model', 'mlp', '--epochs', '6', '--seed', '5', '--threads', '1'];
  // NOTE: the signal goes once the line of epoch 2 is printed, so it lands during epoch 3.
  const run = await interruptRun(flags, out, 'SIGINT', (stdout) => /^2 {10}/m.test(stdout));
  assert.equal(run.code, 130, run.stderr);
  assert.match(run.stderr, /kestrel: stopping after this batch \(Ctrl-C again to quit now\)/);
  const stop = /kestrel: stopped at epoch (\d+), batch (\d+) \(interrupted \(Ctrl-C\)\); resume with: kestrel train (.*) --resume (\S+)\n/.exec(run.stdout);
  assert.ok(stop, run.stdout);
  const epoch = Number(stop[1]);
  assert.ok(epoch >= 3 && epoch <= 6, run.stdout);
  assert.equal(stop[3], [...flags, '--out', out].join(' '));
  assert.equal(stop[4], out);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { epochs: { epoch: number }[]; stopped: { epoch: number } };
  assert.deepEqual(metrics.epochs.map((e) => e.epoch), Array.from({ length: epoch - 1 }, (_, i) => i + 1), 'the finished epochs');
  assert.equal(metrics.stopped.epoch, epoch);
  assert.ok(existsSync(join(out, 'checkpoint', 'checkpoint.json')), 'a checkpoint to resume from');

  const resumed = spawnSync(process.execPath, [BIN, 'train', ...flags, '--resume', out], { encoding: 'utf8', timeout: 300000 });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal((JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { epochs: unknown[] }).epochs.length, 6);
});

test('SIGTERM stops the same way, with exit code 143', async () => {
  const out = join(temp(), 'run');
  const run = await interruptRun(['sample', '--model', 'mlp', '--epochs', '3', '--threads', '1'], out, 'SIGTERM', (stdout) => /^epoch\s+trainLoss/m.test(stdout));
  assert.equal(run.code, 143, run.stderr);
  assert.match(run.stdout, new RegExp(`kestrel: stopped at epoch 1, batch \\d+ \\(interrupted \\(SIGTERM\\)\\); resume with: kestrel train sample --model mlp --epochs 3 --threads 1 --out ${out} --resume ${out}\n`));
  assert.ok(existsSync(join(out, 'checkpoint', 'checkpoint.json')));
});
