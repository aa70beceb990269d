/**
 * `npm run bench [-- --quick] [-- --repeats N] [-- --only mnist,resnet,graph,memory] [-- --no-write]`:
 * runs every benchmark worker (Kestrel and PyTorch alternately, each in its own process, same
 * threads and data), prints the results and writes BENCHMARKS.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runtimeInfo } from '../src/tensor/index.js';
import { joinSections, markdownSections, sectionHeading } from './common.js';
import { type Run, type Sample, renderReport } from './report.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = process.env.KESTREL_TEST_PYTHON ?? '/usr/bin/python3';

interface Options { quick: boolean; repeats: number; only: Set<string>; write: boolean }

function parseOptions(argv: string[]): Options {
  const options: Options = { quick: false, repeats: 0, only: new Set(['mnist', 'resnet', 'graph', 'memory']), write: true };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--quick') options.quick = true;
    else if (flag === '--no-write') options.write = false;
    else if (flag === '--repeats') options.repeats = Number(value());
    else if (flag === '--only') options.only = new Set(value().split(','));
    else throw new Error(`bench/run.ts: unknown flag ${argv[i]} (known: --quick, --repeats N, --only mnist,resnet,graph,memory, --no-write)`);
  }
  if (options.repeats === 0) options.repeats = options.quick ? 1 : 3;
  if (!Number.isInteger(options.repeats) || options.repeats < 1) throw new Error('bench/run.ts: --repeats needs a positive integer');
  return options;
}

/** Busy and total jiffies of all CPUs (first line of /proc/stat). */
function cpuJiffies(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields;
  return { busy: user + nice + system + irq + softirq + steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** Waits (up to `maxSeconds`) until other processes use under 0.15 cores over one second; returns whether they did. */
function waitForQuiet(maxSeconds: number): boolean {
  const deadline = performance.now() + maxSeconds * 1000;
  while (performance.now() < deadline) {
    const before = cpuJiffies();
    spawnSync('sleep', ['1']);
    if (cpuJiffies().busy - before.busy < 15) return true;
  }
  return false;
}

/** Runs one worker process; returns its RESULT plus the CPU other processes used meanwhile. */
function runWorker(command: string, args: string[], cwd: string): Sample {
  const ticks = 100; // NOTE: USER_HZ is 100 on Linux.
  const before = cpuJiffies();
  const start = performance.now();
  const child = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const wall = (performance.now() - start) / 1000;
  const after = cpuJiffies();
  const line = child.stdout?.split('\n').find((l) => l.startsWith('RESULT '));
  if (child.status !== 0 || !line) {
    throw new Error(`bench/run.ts: ${command} ${args.join(' ')} failed (exit ${child.status}):\n${child.stderr}\n${child.stdout}`);
  }
  const result = JSON.parse(line.slice('RESULT '.length)) as Sample;
  const otherCores = Math.max(0, (after.busy - before.busy) / ticks - result.cpuSeconds) / wall;
  return { ...result, otherCores };
}

function workloads(o: Options): Run[] {
  const runs: Run[] = [];
  const node = process.execPath;
  const bench = join(ROOT, 'dist', 'bench');
  const mnist = o.quick ? { samples: 10000, warmup: 5 } : { samples: 60000, warmup: 20 };
  const resnet = o.quick ? { train: 6, infer: 10, warmup: 2 } : { train: 40, infer: 40, warmup: 3 };
  const memory = o.quick ? { epochs: 4, samples: 5000 } : { epochs: 10, samples: 10000 };
  if (o.only.has('mnist')) {
    runs.push({
      workload: 'mnist-cnn', pairs: true, samples: [],
      sides: [
        ['kestrel', node, [join(bench, 'mnist.js'), '--trainSamples', String(mnist.samples), '--warmup', String(mnist.warmup)]],
        ['pytorch', PYTHON, [join(ROOT, 'bench', 'mnist.py'), '--train-samples', String(mnist.samples), '--warmup', String(mnist.warmup)]],
      ],
    });
  }
  if (o.only.has('resnet')) {
    runs.push({
      workload: 'resnet18', pairs: true, samples: [],
      sides: [
        ['kestrel', node, [join(bench, 'resnet.js'), '--trainIters', String(resnet.train), '--inferIters', String(resnet.infer), '--warmup', String(resnet.warmup)]],
        ['pytorch', PYTHON, [join(ROOT, 'bench', 'resnet.py'), '--train-iters', String(resnet.train), '--infer-iters', String(resnet.infer), '--warmup', String(resnet.warmup)]],
      ],
    });
  }
  if (o.only.has('graph')) {
    // NOTE: the same ResNet-18 written as a GraphModel against torchvision's: what the graph runner costs.
    runs.push({
      workload: 'resnet18-graph', pairs: true, samples: [],
      sides: [
        ['kestrel', node, [join(bench, 'resnet.js'), '--graph', '1', '--trainIters', String(resnet.train), '--inferIters', String(resnet.infer), '--warmup', String(resnet.warmup)]],
        ['pytorch', PYTHON, [join(ROOT, 'bench', 'resnet.py'), '--train-iters', String(resnet.train), '--infer-iters', String(resnet.infer), '--warmup', String(resnet.warmup)]],
      ],
    });
  }
  if (o.only.has('memory')) {
    runs.push({ workload: 'memory', pairs: false, samples: [], sides: [['kestrel', node, ['--expose-gc', join(bench, 'memory.js'), '--epochs', String(memory.epochs), '--samples', String(memory.samples)]]] });
  }
  return runs;
}

/** The new report followed by the sections of the old file it does not produce (the loader and accuracy benchmarks). */
export function keepOtherSections(report: string, old: string): string {
  const fresh = markdownSections(report);
  const headings = new Set(fresh.sections.map(sectionHeading));
  return joinSections(fresh.head, [...fresh.sections, ...markdownSections(old).sections.filter((section) => !headings.has(sectionHeading(section)))]);
}

function torchVersion(): string {
  const out = spawnSync(PYTHON, ['-c', 'import torch, torchvision; print(torch.__version__, torchvision.__version__)'], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : `unavailable (${PYTHON})`;
}

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const runs = workloads(options);
  for (const run of runs) {
    const repeats = run.pairs ? options.repeats : 1;
    for (let r = 0; r < repeats; r++) {
      // NOTE: the order of sides rotates so background load on a shared machine hits each alike.
      const sides = run.sides.map((_, i) => run.sides[(i + r) % run.sides.length]);
      for (const [side, cmd, args] of sides) {
        process.stderr.write(`bench: ${run.workload} ${side} (${r + 1}/${repeats})... `);
        if (!waitForQuiet(options.quick ? 10 : 90)) process.stderr.write('(machine busy) ');
        const sample = runWorker(cmd, args, join(ROOT, 'bench'));
        run.samples.push(sample);
        process.stderr.write(`${sample.trainSamplesPerSec ? `train ${sample.trainSamplesPerSec.toFixed(0)}/s, infer ${sample.inferSamplesPerSec!.toFixed(0)}/s, ` : ''}peak RSS ${sample.peakRssMb.toFixed(0)} MB, other load ${sample.otherCores.toFixed(2)} cores\n`);
      }
    }
  }
  const info = runtimeInfo();
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown', nproc: availableParallelism(), memoryGb: totalmem() / 2 ** 30,
    node: process.version, libtorch: info.torchVersion, kestrelThreads: info.threads, cachingAllocator: info.cachingAllocator,
    pytorch: torchVersion(), date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
  };
  const markdown = renderReport(command, machine, runs, options.quick);
  console.log(markdown);
  if (options.write) {
    const path = join(ROOT, 'BENCHMARKS.md');
    writeFileSync(path, keepOtherSections(markdown, existsSync(path) ? readFileSync(path, 'utf8') : ''));
    process.stderr.write(`bench: wrote ${join(ROOT, 'BENCHMARKS.md')}\n`);
  }
}

main();
