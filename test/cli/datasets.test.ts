import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { UsageError } from '../../src/cli/args.js';
import { runDatasets } from '../../src/cli/datasets.js';
import { progressPrinter } from '../../src/data/progress.js';
import { registerDataset, unregisterDataset } from '../../src/data/registry.js';
import { bytes, digest, sendBytes, startServer, tempDir } from '../data/download-helpers.js';
import { captureConsole } from '../helpers/console.js';

/** Runs the command with console output captured. */
async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { result, out, err } = await captureConsole(() => runDatasets(argv));
  return { code: result, out, err };
}

test('kestrel datasets list / download / verify against a local server', async () => {
  const body = bytes(30_000, 5);
  const server = await startServer((req, res) => sendBytes(req, res, body));
  const { dir: root, cleanup } = tempDir();
  registerDataset({ name: 'tiny', description: 'a tiny test set', files: [{ name: 'tiny.bin', urls: [server.url('/tiny.bin')], sha256: digest(body), size: body.length }] });
  try {
    let run = await capture(['list', '--root', root]);
    assert.equal(run.code, 0);
    assert.match(run.out, new RegExp(`^cache: ${root}/datasets\nname +size +cached +description\nmnist +11\\.\\d MiB +absent +MNIST handwritten digits`));
    assert.match(run.out, /\ntiny +29\.3 KiB +absent +a tiny test set$/);

    run = await capture(['verify', 'tiny', '--root', root]);
    assert.equal(run.code, 1);
    assert.equal(run.out, `missing   tiny.bin (${join(root, 'datasets', 'tiny', 'tiny.bin')})`);
    assert.match(run.err, /1 of 1 file\(s\) of 'tiny' .* are missing or corrupt; 'kestrel datasets download tiny' fetches them again/);

    run = await capture(['download', 'tiny', '--root', root, '--quiet']);
    assert.deepEqual([run.code, run.out, run.err], [0, join(root, 'datasets', 'tiny'), '']);
    run = await capture(['verify', 'tiny', '--root', root]);
    assert.deepEqual([run.code, run.out], [0, 'ok        tiny.bin']);
    assert.match((await capture(['list', '--root', root])).out, /\ntiny +29\.3 KiB +complete /);

    await assert.rejects(capture(['fetch', 'tiny']), (e: Error) => e instanceof UsageError && e.message === "unknown action 'fetch'; use one of list, download, verify");
    await assert.rejects(capture(['download']), (e: Error) => e instanceof UsageError && /needs a dataset name: mnist, fashion-mnist, cifar10, cifar100, tiny/.test(e.message));
    await assert.rejects(capture(['verify', 'nope']), /unknown dataset 'nope'/);
  } finally {
    unregisterDataset('tiny');
    await server.close();
    cleanup();
  }
});

test('progress: a redrawn bar with bytes, rate and ETA on a TTY; a line per 10% otherwise', () => {
  let clock = 0;
  const tty: string[] = [];
  const bar = progressPrinter('file.bin', { write: (s: string) => tty.push(s), isTTY: true }, { now: () => clock, barWidth: 10 });
  clock = 2000;
  bar({ url: 'u', received: 2 * 1048576, total: 8 * 1048576, resumedFrom: 0, done: false });
  clock = 2050; // NOTE: redraws are limited to 10 a second
  bar({ url: 'u', received: 3 * 1048576, total: 8 * 1048576, resumedFrom: 0, done: false });
  clock = 8000;
  bar({ url: 'u', received: 8 * 1048576, total: 8 * 1048576, resumedFrom: 0, done: true });
  assert.deepEqual(tty, [
    '\rfile.bin [###.......]  25% 2.00 MiB / 8.00 MiB 1.00 MiB/s ETA 0:06\x1b[K',
    '\rfile.bin [##########] 100% 8.00 MiB / 8.00 MiB 1.00 MiB/s in 0:08\x1b[K\n',
  ]);
  clock = 0;
  const lines: string[] = [];
  const plain = progressPrinter('f', { write: (s: string) => lines.push(s) }, { now: () => clock });
  for (let k = 1; k <= 100; k += 1) { clock = k * 10; plain({ url: 'u', received: 5000 + k * 950, total: 100_000, resumedFrom: 5000, done: k === 100 }); }
  assert.equal(lines.length, 11);
  assert.equal(lines[0], 'f: 6% 5.81 KiB / 97.7 KiB, 92.8 KiB/s (resumed at 4.88 KiB)\n');
  assert.equal(lines[10], 'f: 100% 97.7 KiB / 97.7 KiB, 92.8 KiB/s, done (resumed at 4.88 KiB)\n');
});
