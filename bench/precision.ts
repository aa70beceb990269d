/**
 * `npm run bench:precision [-- --quick] [-- --repeats N] [-- --only mnist,resnet] [-- --no-write]`:
 * Kestrel fp32, Kestrel bf16, PyTorch fp32 and PyTorch bf16 (autocast + channels-last) on mnist-cnn
 * (real Fashion-MNIST) and ResNet-18 (3x64x64, batch 64), training and inference, each side in its own
 * process, rotating; prints the ratios against the issue's targets and writes a BENCHMARKS.md section.
 * `npm run bench:precision -- --accuracy [--epochs 5] [--seeds 3] [--dataset fashion-mnist]`: trains with
 * `kestrel train --precision fp32` and `--precision bf16` per seed and compares the final test accuracy.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bf16Support, runtimeInfo } from '../src/tensor/index.js';
import { sectionHeading, writeSection } from './common.js';
import { runWorker, waitForQuiet } from './workers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = process.env.KESTREL_TEST_PYTHON ?? '/usr/bin/python3';

interface Options { quick: boolean; repeats: number; only: Set<string>; write: boolean; accuracy: boolean; epochs: number; seeds: number; dataset: string }

/** One worker's result. */
interface Sample {
  framework: 'kestrel' | 'pytorch'; workload: string; precision: 'fp32' | 'bf16';
  trainSamplesPerSec: number; trainStepSamplesPerSec: number; inferSamplesPerSec: number; inferStepSamplesPerSec: number;
  inferVariants?: Record<string, number>; loss: number; accuracy: number; cpuSeconds: number; otherCores: number;
}

type Side = `${Sample['framework']} ${Sample['precision']}`;
const SIDES: Side[] = ['kestrel fp32', 'kestrel bf16', 'pytorch fp32', 'pytorch bf16'];

function parseOptions(argv: string[]): Options {
  const o: Options = { quick: false, repeats: 0, only: new Set(['mnist', 'resnet']), write: true, accuracy: false, epochs: 5, seeds: 3, dataset: 'fashion-mnist' };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--quick') o.quick = true;
    else if (flag === '--no-write') o.write = false;
    else if (flag === '--accuracy') o.accuracy = true;
    else if (flag === '--repeats') o.repeats = Number(value());
    else if (flag === '--epochs') o.epochs = Number(value());
    else if (flag === '--seeds') o.seeds = Number(value());
    else if (flag === '--dataset') o.dataset = value();
    else if (flag === '--only') o.only = new Set(value().split(','));
    else throw new Error(`bench/precision.ts: unknown flag ${argv[i]} (known: --quick, --repeats N, --only mnist,resnet, --no-write, --accuracy, --epochs N, --seeds N, --dataset NAME)`);
  }
  if (o.repeats === 0) o.repeats = o.quick ? 1 : 3;
  for (const [name, v] of [['--repeats', o.repeats], ['--epochs', o.epochs], ['--seeds', o.seeds]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`bench/precision.ts: ${name} needs a positive integer`);
  }
  return o;
}

function workerCommand(workload: 'mnist' | 'resnet', side: Side, quick: boolean): [string, string[]] {
  const [framework, precision] = side.split(' ') as [Sample['framework'], Sample['precision']];
  const size = workload === 'mnist'
    ? (quick ? { samples: 5120, warmup: 3 } : { samples: 60000, warmup: 20 })
    : (quick ? { samples: 0, iters: 4, warmup: 1 } : { samples: 0, iters: 40, warmup: 3 });
  const iters = 'iters' in size ? size.iters : 0;
  if (framework === 'kestrel') {
    return [process.execPath, [join(ROOT, 'dist', 'bench', 'precision-worker.js'), '--workload', workload === 'mnist' ? '0' : '1', '--mixed', precision === 'bf16' ? '1' : '0',
      ...(workload === 'mnist' ? ['--trainSamples', String(size.samples)] : ['--iters', String(iters)]), '--warmup', String(size.warmup)]];
  }
  return [PYTHON, [join(ROOT, 'bench', 'precision.py'), '--workload', workload, '--precision', precision,
    ...(workload === 'mnist' ? ['--train-samples', String(size.samples)] : ['--iters', String(iters)]), '--warmup', String(size.warmup)]];
}

const fmt = (v: number, digits = 0) => (Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '');
const best = (samples: Sample[], side: Side, pick: (s: Sample) => number | undefined) => {
  const values = samples.filter((s) => `${s.framework} ${s.precision}` === side).map(pick).filter((v): v is number => v !== undefined);
  return values.length ? Math.max(...values) : NaN;
};

/** The speed section of BENCHMARKS.md. */
function speedSection(command: string, samples: Sample[], quick: boolean): string {
  const metrics: [string, (s: Sample) => number | undefined][] = [
    ['train samples/s (best run)', (s) => s.trainSamplesPerSec],
    ['train samples/s from the median step (best run)', (s) => s.trainStepSamplesPerSec],
    ['inference samples/s (best run)', (s) => s.inferSamplesPerSec],
    ['inference samples/s from the median step (best run)', (s) => s.inferStepSamplesPerSec],
  ];
  const check = (ratio: number, target: number) => (Number.isFinite(ratio) ? `${fmt(ratio, 2)} ${ratio >= target ? 'yes' : '**no**'}` : '');
  const rows: string[] = [];
  for (const workload of [...new Set(samples.map((s) => s.workload))]) {
    const of = samples.filter((s) => s.workload === workload);
    for (const [metric, pick] of metrics) {
      const v = Object.fromEntries(SIDES.map((side) => [side, best(of, side, pick)])) as Record<Side, number>;
      rows.push(`| ${workload} | ${metric} | ${SIDES.map((side) => fmt(v[side])).join(' | ')} | ${check(v['kestrel bf16'] / v['pytorch fp32'], 1.7)} | ${check(v['kestrel bf16'] / v['pytorch bf16'], 1.0)} | ${fmt(v['kestrel bf16'] / v['kestrel fp32'], 2)} |`);
    }
  }
  const variants: string[] = [];
  for (const workload of [...new Set(samples.map((s) => s.workload))]) {
    for (const precision of ['fp32', 'bf16'] as const) {
      const side: Side = `kestrel ${precision}`;
      const pick = (name: string) => best(samples.filter((s) => s.workload === workload), side, (s) => s.inferVariants?.[name]);
      const [folded, noFold, noGrad] = [pick('default'), pick('noFold'), pick('noGradNoFold')];
      variants.push(`| ${workload} | ${precision} | ${fmt(folded)} | ${fmt(noFold)} | ${fmt(noGrad)} | ${fmt(folded / noFold, 2)} | ${fmt(noFold / noGrad, 2)} |`);
    }
  }
  const disturbed = samples.filter((s) => s.otherCores > 0.1).length;
  return [
    '## Mixed precision (bfloat16)', '',
    `Generated by \`${command}\` (bench/precision.ts) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${runtimeInfo().threads} threads; bf16: ${bf16Support().reason}.` +
      `${quick ? ' **Quick mode: small samples, indicative only.**' : ''}${disturbed ? ` **${disturbed} of ${samples.length} runs shared the CPU with other processes (other load > 0.1 cores): rerun on an idle machine.**` : ''}`, '',
    '| workload | metric | Kestrel fp32 | Kestrel bf16 | PyTorch fp32 | PyTorch bf16 + channels-last | Kestrel bf16 / PyTorch fp32 (target >= 1.7) | Kestrel bf16 / PyTorch bf16 (target >= 1.0) | Kestrel bf16 / fp32 |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows, '',
    'Kestrel trains through `Learner.step` (precision `fp32` or `bf16`: channels-last batches, bfloat16 autocast, loss in float32) and infers through `Learner.inference` ' +
      '(inference mode, batch norm folded; the bf16 column is inference with `inference: { precision: \'bf16\' }`, which must be asked for: the default stays float32). ' +
      'PyTorch fp32 is idiomatic (NCHW, no_grad); PyTorch bf16 is `torch.autocast(\'cpu\', dtype=torch.bfloat16)` with model and batches in channels_last and inference_mode. ' +
      'Same workloads as the Results table (mnist-cnn: Fashion-MNIST, batch 256, Adam; resnet18: synthetic 3x64x64, batch 64, SGD momentum). ' +
      'Kestrel\'s `MaxPool2d(2)` runs its own kernel (native/pooling.cc; "MaxPool2d(2)" section): libtorch 1.13 pools bfloat16 channels-last in a scalar loop, ' +
      'which held mnist-cnn\'s bf16 training at 0.89x PyTorch before it; ResNet-18\'s 3x3 stride-2 pooling stays with ATen.', '',
    '### Kestrel inference variants (samples/s, best run)', '',
    '| workload | precision | inference mode + folded batch norm (default) | inference mode, no folding | NoGradGuard, no folding | folding gain | inference-mode gain |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...variants, '',
    'mnist-cnn has no batch norm, so its folding columns only show the noise. If "folding gain" on resnet18 is below 1 on a quiet machine, ' +
      'set FOLD_BATCH_NORM_DEFAULT to false in src/learn/inference.ts; if "inference-mode gain" is below 1, make `guard: \'no-grad\'` the default there.', '',
    '### Runs', '',
    '| workload | side | train /s | inference /s | loss | other load (cores) |', '|---|---|---:|---:|---:|---:|',
    ...samples.map((s) => `| ${s.workload} | ${s.framework} ${s.precision} | ${fmt(s.trainSamplesPerSec)} | ${fmt(s.inferSamplesPerSec)} | ${fmt(s.loss, 4)} | ${fmt(s.otherCores, 2)} |`),
  ].join('\n');
}

function runSpeed(o: Options): string {
  const samples: Sample[] = [];
  for (const workload of ['mnist', 'resnet'] as const) {
    if (!o.only.has(workload)) continue;
    for (let r = 0; r < o.repeats; r++) {
      // NOTE: the order of sides rotates so background load hits each alike.
      for (const side of SIDES.map((_, i) => SIDES[(i + r) % SIDES.length])) {
        process.stderr.write(`bench: ${workload} ${side} (${r + 1}/${o.repeats})... `);
        if (!waitForQuiet(o.quick ? 5 : 90)) process.stderr.write('(machine busy) ');
        const [command, args] = workerCommand(workload, side, o.quick);
        const sample = runWorker<Sample>(command, args, join(ROOT, 'bench'));
        samples.push(sample);
        process.stderr.write(`train ${fmt(sample.trainSamplesPerSec)}/s, infer ${fmt(sample.inferSamplesPerSec)}/s, other load ${fmt(sample.otherCores, 2)} cores\n`);
      }
    }
  }
  return speedSection(commandLine(), samples, o.quick);
}

/** Trains with the CLI in fp32 and bf16 per seed; the accuracy section of BENCHMARKS.md. */
function runAccuracy(o: Options): string {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-precision-accuracy-'));
  const rows: string[] = [];
  let worst = 0;
  try {
    for (let seed = 1; seed <= o.seeds; seed++) {
      const result: Record<string, { accuracy: number; seconds: number }> = {};
      for (const precision of ['fp32', 'bf16']) {
        const out = join(dir, `${precision}-${seed}`);
        const args = [join(ROOT, 'bin', 'kestrel.js'), 'train', o.dataset, '--model', 'mnist-cnn', '--epochs', String(o.epochs), '--precision', precision, '--seed', String(seed), '--out', out];
        process.stderr.write(`bench: kestrel ${args.slice(1).join(' ')}... `);
        const child = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
        if (child.status !== 0) throw new Error(`bench/precision.ts: kestrel train failed (exit ${child.status}):\n${child.stderr}`);
        const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as { precision: string; epochs: { accuracy: number; seconds: number }[] };
        if (metrics.precision !== precision) throw new Error(`bench/precision.ts: asked for ${precision}, metrics.json says ${metrics.precision}`);
        const last = metrics.epochs[metrics.epochs.length - 1];
        result[precision] = { accuracy: last.accuracy, seconds: metrics.epochs.reduce((sum, e) => sum + e.seconds, 0) };
        process.stderr.write(`accuracy ${(100 * last.accuracy).toFixed(2)}%\n`);
      }
      const diff = 100 * (result.bf16.accuracy - result.fp32.accuracy);
      worst = Math.max(worst, Math.abs(diff));
      rows.push(`| ${seed} | ${fmt(100 * result.fp32.accuracy, 2)}% | ${fmt(100 * result.bf16.accuracy, 2)}% | ${diff >= 0 ? '+' : ''}${fmt(diff, 2)} | ${Math.abs(diff) <= 0.3 + 1e-9 ? 'yes' : '**no**'} | ${fmt(result.fp32.seconds, 1)} | ${fmt(result.bf16.seconds, 1)} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return [
    '## Mixed precision accuracy', '',
    `Generated by \`${commandLine()}\` (bench/precision.ts), mnist-cnn on ${o.dataset}, ${o.epochs} epoch${o.epochs === 1 ? '' : 's'}: \`kestrel train ${o.dataset} --model mnist-cnn --epochs ${o.epochs} --precision fp32|bf16 --seed S\`, final test accuracy. ` +
      `Largest difference ${fmt(worst, 2)} points (target: within 0.3 points for every seed).`, '',
    '| seed | fp32 | bf16 | bf16 - fp32 (points) | within 0.3 | fp32 seconds | bf16 seconds |', '|---:|---:|---:|---:|:---:|---:|---:|',
    ...rows,
  ].join('\n');
}

function commandLine(): string {
  return `npm run bench:precision${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
}

function main(): void {
  const options = parseOptions(process.argv.slice(2));
  const section = options.accuracy ? runAccuracy(options) : runSpeed(options);
  console.log(section);
  if (options.write) {
    const path = join(ROOT, 'BENCHMARKS.md');
    writeSection(path, sectionHeading(section), section);
    process.stderr.write(`bench: wrote the '${sectionHeading(section).slice(3)}' section of ${path}\n`);
  }
}

main();
