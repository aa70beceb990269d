/**
 * Time to accuracy (issue 11): `kestrel train fashion-mnist` (the default recipe: SmallResNet, batch
 * augmentation, one-cycle AdamW, label smoothing, bf16 where the CPU has it) against bench/recipe.py,
 * the same recipe in idiomatic PyTorch (same architecture, augmentation, schedule and precision), with
 * the same number of epochs, in one run. Each side is a fresh process timed from its spawn; the time at
 * which an epoch's validation line appears is read from its stdout, so start-up and data loading count.
 * The target accuracy is `--target` (a fraction), or by default the lower of the two sides' best
 * per-epoch accuracies (so both reach it); each side's time to the target is that of its first epoch at
 * or above it.
 *
 *   npx tsc -p . && node dist/bench/recipe.js [--epochs 8] [--seed 42] [--target 0.92] [--preset fast] [--repeats 1] [--write]
 *
 * `--repeats N` runs both sides N times, alternating which goes first, and compares upper medians (the
 * slower of two runs; single runs of a few minutes vary by ~5% on a shared 2-core machine).
 * `--write` replaces the "Time to accuracy" section of BENCHMARKS.md.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, writeSection } from './common.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = process.env.KESTREL_TEST_PYTHON ?? '/usr/bin/python3';
const SECTION = '## Time to accuracy: the default recipe, Kestrel vs PyTorch (issue 11)';

/** One validation point: 1-based epoch, accuracy (fraction), seconds since the process was spawned. */
interface Point { epoch: number; accuracy: number; seconds: number }

/** One side's run. */
interface SideRun { side: 'kestrel' | 'pytorch'; points: Point[]; seconds: number; finalAccuracy: number }

/** Spawns a process, calling `onLine(line, secondsSinceSpawn)` for every stdout line; resolves with its total seconds. */
function timedRun(command: string, args: string[], onLine: (line: string, seconds: number) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      const now = (performance.now() - start) / 1000;
      for (const line of lines) onLine(line, now);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - start) / 1000;
      if (pending) onLine(pending, seconds);
      if (code === 0) resolve(seconds);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${stderr.slice(-2000)}`));
    });
  });
}

/** Kestrel's per-epoch table row: epoch, trainLoss, validLoss, accuracy, time, samples/s. */
const KESTREL_ROW = /^\s*(\d+)\s+[\d.]+\s+[\d.]+\s+(0\.\d+|1\.0+)\s/;

async function kestrel(epochs: number, seed: number, preset: string): Promise<SideRun> {
  const out = mkdtempSync(join(tmpdir(), 'kestrel-recipe-'));
  const points: Point[] = [];
  let finalAccuracy = NaN;
  try {
    const args = ['bin/kestrel.js', 'train', 'fashion-mnist', '--preset', preset, '--epochs', String(epochs), '--seed', String(seed), '--out', out, '--no-tta'];
    const seconds = await timedRun(process.execPath, args, (line, at) => {
      const row = KESTREL_ROW.exec(line);
      if (row) points.push({ epoch: Number(row[1]), accuracy: Number(row[2]), seconds: at });
      const final = /test accuracy[^\d]*([\d.]+)%/.exec(line);
      if (final) finalAccuracy = Number(final[1]) / 100;
    });
    return { side: 'kestrel', points, seconds, finalAccuracy: Number.isNaN(finalAccuracy) ? points.at(-1)?.accuracy ?? NaN : finalAccuracy };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function pytorch(epochs: number, seed: number, preset: string): Promise<SideRun> {
  const points: Point[] = [];
  let finalAccuracy = NaN;
  const args = ['bench/recipe.py', '--preset', preset, '--epochs', String(epochs), '--seed', String(seed), '--threads', String(cpus().length)];
  const seconds = await timedRun(PYTHON, args, (line, at) => {
    if (line.startsWith('EPOCH ')) {
      const e = JSON.parse(line.slice(6)) as { epoch: number; accuracy: number };
      points.push({ epoch: e.epoch, accuracy: e.accuracy, seconds: at });
    } else if (line.startsWith('RESULT ')) {
      finalAccuracy = (JSON.parse(line.slice(7)) as { accuracy: number }).accuracy;
    }
  });
  return { side: 'pytorch', points, seconds, finalAccuracy };
}

/** Seconds at the first epoch at or above `target`, or NaN. */
function timeTo(run: SideRun, target: number): number {
  return run.points.find((p) => p.accuracy >= target)?.seconds ?? NaN;
}

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
}

/** Median seconds between consecutive validation lines (an epoch's training and validation). */
function epochSeconds(run: SideRun): number {
  return median(run.points.slice(1).map((p, i) => p.seconds - run.points[i].seconds));
}

async function main(): Promise<void> {
  const epochs = Number(flag('epochs', '8'));
  const seed = Number(flag('seed', '42'));
  const preset = flag('preset', 'fast');
  const repeats = Number(flag('repeats', '1'));
  const given = process.argv.includes('--target') ? Number(flag('target', 'NaN')) : NaN;
  const loadBefore = loadavg()[0];
  const runs: SideRun[] = [];
  for (let r = 0; r < repeats; r++) {
    // NOTE: PyTorch first in odd-numbered repeats, Kestrel first in even ones: neither side always gets the
    // colder page cache or the machine's first minutes.
    const order = r % 2 === 0 ? [pytorch, kestrel] : [kestrel, pytorch];
    for (const side of order) runs.push(await side(epochs, seed, preset));
  }
  const of = (side: SideRun['side']) => runs.filter((run) => run.side === side);
  const best = (r: SideRun) => Math.max(...r.points.map((p) => p.accuracy));
  const target = Number.isNaN(given) ? Math.min(...runs.map(best)) : given;
  const medianTo = (side: SideRun['side']) => median(of(side).map((run) => timeTo(run, target)));
  const ratio = medianTo('pytorch') / medianTo('kestrel');
  const rows = runs.map((r) => `| ${r.side} | ${r.points.map((p) => (p.accuracy * 100).toFixed(2)).join(' / ')} | ${(r.finalAccuracy * 100).toFixed(2)}% | ${r.points[0].seconds.toFixed(1)} | ${epochSeconds(r).toFixed(1)} | ${timeTo(r, target).toFixed(1)} | ${r.seconds.toFixed(1)} |`);
  const command = `node dist/bench/recipe.js ${process.argv.slice(2).join(' ')}`.trim();
  const text = [
    SECTION, '',
    `Generated by \`${command}\` (bench/recipe.ts) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} cores, load ${loadBefore.toFixed(2)} before the run, ${loadavg()[0].toFixed(2)} after.`,
    `Preset ${preset}, ${epochs} epochs, seed ${seed}, both in bf16 autocast where the CPU has it (Kestrel validates in the training precision, as bench/recipe.py does); PyTorch is bench/recipe.py (same SmallResNet, augmentation, one-cycle AdamW, label smoothing; channels-last). ` +
      `Times are from each process's spawn to the line reporting the epoch's validation accuracy (Kestrel's also include its flip check); ${repeats} run${repeats > 1 ? 's' : ''} per side${repeats > 1 ? ', alternating which side goes first' : ''}, in the order below.`,
    '',
    `| side | validation accuracy per epoch (%) | final | seconds to epoch 1 | seconds per epoch (median) | seconds to ${(target * 100).toFixed(2)}% | total seconds |`,
    '|---|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `**Time to ${(target * 100).toFixed(2)}%${repeats > 1 ? ' (upper median of each side\'s runs)' : ''}: PyTorch / Kestrel = ${ratio.toFixed(2)}** (above 1: Kestrel gets there sooner).`,
  ].join('\n');
  console.log(text);
  if (process.argv.includes('--write')) writeSection(join(ROOT, 'BENCHMARKS.md'), SECTION, text);
}

main().catch((error: unknown) => { console.error(error); process.exit(1); });
