/**
 * Dashboard overhead: the same mnist-cnn training run with and without the live Dashboard (with a page's event
 * stream connected), each in its own process, alternating, median of `--repeats`.
 *
 *   npx tsc -p . && node dist/bench/dashboard.js [--dataset fashion-mnist|sample] [--epochs 2] [--repeats 3] [--threads N] [--write]
 *
 * `--write` replaces the "Dashboard overhead" section of BENCHMARKS.md. Target: under 2%.
 */
import { spawnSync } from 'node:child_process';
import { get } from 'node:http';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Learner } from '../src/learn/index.js';
import { manualSeed, setNumThreads } from '../src/tensor/index.js';
import { mnistCnn } from '../src/vision/simple.js';
import { Dashboard } from '../src/dashboard/index.js';
import { openDataset } from '../src/cli/dataset-arg.js';
import { writeSection } from './common.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Options { dataset: string; epochs: number; repeats: number; threads: number; write: boolean; worker: string }

function parseOptions(argv: string[]): Options {
  const options: Options = { dataset: 'fashion-mnist', epochs: 2, repeats: 3, threads: 0, write: false, worker: '' };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--write') options.write = true;
    else if (flag === '--worker') options.worker = value();
    else if (flag === '--dataset') options.dataset = value();
    else if (flag === '--epochs' || flag === '--repeats' || flag === '--threads') options[flag.slice(2) as 'epochs'] = Number(value());
    else throw new Error(`bench/dashboard.ts: unknown flag ${argv[i]}`);
  }
  return options;
}

/** One training run (in this process); prints RESULT {seconds, events}. */
async function worker(mode: string, options: Options): Promise<void> {
  if (options.threads > 0) setNumThreads(options.threads);
  manualSeed(42);
  const data = await openDataset(options.dataset, { batchSize: 64, seed: 42 });
  const model = mnistCnn(data.classes.length);
  const dashboard = mode === 'with' ? new Dashboard({ port: 0 }) : undefined;
  let events = 0;
  if (dashboard) {
    // NOTE: a connected page is the expensive case: every flush is serialised and written to a socket.
    const url = await dashboard.start();
    get(`${url}api/events`, (res) => res.on('data', () => { events++; }));
  }
  const learn = new Learner(model, { train: data.train, valid: data.valid }, { progress: false, callbacks: dashboard ? [dashboard] : [] });
  const start = performance.now();
  await learn.fit(options.epochs, 1e-3);
  const seconds = (performance.now() - start) / 1000;
  await dashboard?.close();
  await data.close();
  console.log(`RESULT ${JSON.stringify({ seconds, events, accuracy: learn.history.at(-1)?.metrics.accuracy })}`);
}

const median = (values: number[]): number => { const s = [...values].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.worker) { await worker(options.worker, options); return; }
  const times: Record<'with' | 'without', number[]> = { with: [], without: [] };
  for (let r = 0; r < options.repeats; r++) {
    for (const mode of (r % 2 === 0 ? ['without', 'with'] : ['with', 'without']) as ('with' | 'without')[]) {
      const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2), '--worker', mode], { encoding: 'utf8', maxBuffer: 2 ** 26 });
      const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) throw new Error(`bench/dashboard.ts: the ${mode} run failed:\n${child.stderr}`);
      const result = JSON.parse(line.slice(7)) as { seconds: number; events: number };
      times[mode].push(result.seconds);
      console.log(`${mode.padEnd(8)} ${result.seconds.toFixed(2)} s${mode === 'with' ? ` (${result.events} event chunks received)` : ''}`);
    }
  }
  const without = median(times.without); const withDashboard = median(times.with);
  const overhead = (withDashboard / without - 1) * 100;
  const section = 'Dashboard overhead';
  const text = [`## ${section}`, '',
    `mnist-cnn on ${options.dataset}, ${options.epochs} epochs, batch 64, Adam; the same run with and without \`Dashboard\` (a page's event stream connected), each in its own process, alternating; median of ${options.repeats}. ${cpus()[0]?.model ?? ''}, ${options.threads || 'all'} threads.`, '',
    '| run | seconds |', '|---|---|', `| without dashboard | ${without.toFixed(2)} |`, `| with dashboard | ${withDashboard.toFixed(2)} |`, `| overhead | ${overhead.toFixed(2)}% (target < 2%) |`, ''].join('\n');
  if (options.write) writeSection(join(ROOT, 'BENCHMARKS.md'), `## ${section}`, text);
  console.log(`\n${text}`);
}

await main();
