/**
 * Fine-tuning benchmark (issue 8): a ResNet-34 body with fastai's head (visionLearner) on synthetic
 * 224-px images, batch 32, AdamW as fastai's Adam (betas 0.9/0.99, eps 1e-5, wd 0.01):
 *  1. training samples/s in the frozen phase (body frozen, batch norm trainable) and the unfrozen
 *     phase, Kestrel against PyTorch (bench/finetune.py builds the same model with torchvision);
 *  2. head epochs with precompute (cached body features) against frozen epochs over the images
 *     (the full forward pass every epoch), Kestrel only (PyTorch has no precompute to compare).
 *
 *   npx tsc -p . && node dist/bench/finetune.js [--size 224] [--batch 32] [--iters 20] [--warmup 3]
 *                                              [--images 256] [--headEpochs 3] [--repeats 3] [--write]
 *
 * `--write` replaces the "Fine-tuning" section of BENCHMARKS.md. A tiny run to check it works:
 * `node dist/bench/finetune.js --size 64 --batch 4 --iters 2 --warmup 1 --images 16 --headEpochs 1 --repeats 1`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataLoader, TensorDataset } from '../src/data/index.js';
import { lrSlice } from '../src/learn/index.js';
import { manualSeed, randint, randn, runtimeInfo } from '../src/tensor/index.js';
import { visionLearner } from '../src/vision/index.js';
import { joinSections, markdownSections, report, resetPeakRss, secondsSince, sectionHeading, stepRate } from './common.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = process.env.KESTREL_TEST_PYTHON ?? '/usr/bin/python3';
const SECTION = '## Fine-tuning (ResNet-34, fastai head)';
/** Distinct synthetic batches cycled through by the speed workers (shared with bench/finetune.py). */
const BATCHES = 4;
const CLASSES = 10;

interface Options { size: number; batch: number; iters: number; warmup: number; images: number; headEpochs: number; repeats: number; write: boolean; worker: string }

function parseOptions(argv: string[]): Options {
  const options: Options = { size: 224, batch: 32, iters: 20, warmup: 3, images: 256, headEpochs: 3, repeats: 3, write: false, worker: '' };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--write') options.write = true;
    else if (flag === '--worker') options.worker = value();
    else if (flag.startsWith('--') && flag.slice(2) in options) (options as unknown as Record<string, number>)[flag.slice(2)] = Number(value());
    else throw new Error(`bench/finetune.ts: unknown flag ${argv[i]}`);
  }
  return options;
}

/** Worker: training steps/s of the frozen and the unfrozen phase. */
function speedWorker(o: Options): void {
  manualSeed(0);
  const images = randn([BATCHES * o.batch, 3, o.size, o.size]);
  const labels = randint(0, CLASSES, [BATCHES * o.batch], { dtype: 'int64' });
  const batch = (i: number) => {
    const start = (i % BATCHES) * o.batch;
    return { x: images.slice(0, start, start + o.batch), y: labels.slice(0, start, start + o.batch) };
  };
  const dummy = new DataLoader(new TensorDataset(images.slice(0, 0, o.batch), labels.slice(0, 0, o.batch)), { batchSize: o.batch });
  resetPeakRss();
  const learn = visionLearner({ train: dummy }, 'resnet34', { nOut: CLASSES, freeze: true, progress: false });
  const phase = (): { samplesPerSec: number; stepSamplesPerSec: number; loss: number } => {
    for (let i = 0; i < o.warmup; i++) { const b = batch(i); learn.step(b.x, b.y); b.x.dispose(); b.y.dispose(); }
    const stepMs: number[] = [];
    let loss = NaN;
    const start = performance.now();
    for (let i = 0; i < o.iters; i++) {
      const b = batch(i);
      const t = performance.now();
      loss = learn.step(b.x, b.y);
      stepMs.push(performance.now() - t);
      b.x.dispose(); b.y.dispose();
    }
    return { samplesPerSec: (o.iters * o.batch) / secondsSince(start), stepSamplesPerSec: stepRate(stepMs, o.batch), loss };
  };
  learn.setLr(lrSlice(1e-3));
  const frozen = phase();
  learn.unfreeze();
  learn.setLr(lrSlice(1e-5, 1e-3));
  const unfrozen = phase();
  report({
    framework: 'kestrel', workload: 'finetune-resnet34', threads: runtimeInfo().threads,
    frozenSamplesPerSec: frozen.samplesPerSec, frozenStepSamplesPerSec: frozen.stepSamplesPerSec,
    unfrozenSamplesPerSec: unfrozen.samplesPerSec, unfrozenStepSamplesPerSec: unfrozen.stepSamplesPerSec, loss: unfrozen.loss,
  });
}

/** Worker: seconds of a frozen epoch over the images against precompute's one-off pass and head epochs. */
async function precomputeWorker(o: Options): Promise<void> {
  manualSeed(0);
  const x = randint(0, 256, [o.images, 3, o.size, o.size], { dtype: 'uint8' });
  const y = randint(0, CLASSES, [o.images], { dtype: 'int64' });
  const dataset = new TensorDataset(x, y, { normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } });
  const train = new DataLoader(dataset, { batchSize: o.batch, shuffle: true, seed: 1 });
  resetPeakRss();
  const learn = visionLearner({ train }, 'resnet34', { nOut: CLASSES, freeze: true, progress: false, log: () => undefined });
  const full = await learn.fit(1, lrSlice(1e-3));
  learn.setPrecompute(true);
  const start = performance.now();
  await learn.prepareFeatures();
  const precomputeSeconds = secondsSince(start);
  const head = await learn.fit(o.headEpochs, lrSlice(1e-3));
  const headEpochSeconds = head.reduce((sum, r) => sum + r.seconds, 0) / head.length;
  report({
    framework: 'kestrel', workload: 'precompute-resnet34', threads: runtimeInfo().threads, images: o.images,
    fullEpochSeconds: full[0].seconds, precomputeSeconds, headEpochSeconds, speedup: full[0].seconds / headEpochSeconds,
  });
}

function runOne(command: string, args: string[]): Record<string, number> {
  const child = spawnSync(command, args, { cwd: join(ROOT, 'bench'), encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const line = child.stdout?.split('\n').find((l) => l.startsWith('RESULT '));
  if (child.status !== 0 || !line) throw new Error(`bench/finetune.ts: ${command} ${args.join(' ')} failed (exit ${child.status}):\n${child.stderr}\n${child.stdout}`);
  return JSON.parse(line.slice('RESULT '.length)) as Record<string, number>;
}

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function writeSection(text: string): void {
  const path = join(ROOT, 'BENCHMARKS.md');
  const { head, sections } = markdownSections(existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n');
  const at = sections.findIndex((s) => sectionHeading(s) === SECTION);
  if (at < 0) sections.push(text.trimEnd());
  else sections[at] = text.trimEnd();
  writeFileSync(path, joinSections(head, sections));
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.worker === 'speed') { speedWorker(o); return; }
  if (o.worker === 'precompute') { await precomputeWorker(o); return; }
  if (o.worker) throw new Error(`bench/finetune.ts: unknown worker '${o.worker}' (speed, precompute)`);
  const common = ['--size', String(o.size), '--batch', String(o.batch), '--iters', String(o.iters), '--warmup', String(o.warmup)];
  const me = fileURLToPath(import.meta.url);
  const kestrel: Record<string, number>[] = []; const torch: Record<string, number>[] = []; const pre: Record<string, number>[] = [];
  for (let r = 0; r < o.repeats; r++) {
    // NOTE: the order alternates so background load hits both sides alike.
    const k = () => kestrel.push(runOne(process.execPath, [me, '--worker', 'speed', ...common]));
    const t = () => torch.push(runOne(PYTHON, [join(ROOT, 'bench', 'finetune.py'), ...common]));
    if (r % 2 === 0) { k(); t(); } else { t(); k(); }
    pre.push(runOne(process.execPath, [me, '--worker', 'precompute', ...common, '--images', String(o.images), '--headEpochs', String(o.headEpochs)]));
    const [kk, tt, pp] = [kestrel[r], torch[r], pre[r]];
    console.log(`repeat ${r + 1}: frozen kestrel ${kk.frozenSamplesPerSec.toFixed(1)}/s pytorch ${tt.frozenSamplesPerSec.toFixed(1)}/s; unfrozen kestrel ${kk.unfrozenSamplesPerSec.toFixed(1)}/s pytorch ${tt.unfrozenSamplesPerSec.toFixed(1)}/s; `
      + `epoch ${pp.fullEpochSeconds.toFixed(2)} s, precompute ${pp.precomputeSeconds.toFixed(2)} s, head epoch ${pp.headEpochSeconds.toFixed(3)} s (${pp.speedup.toFixed(0)}x)`);
  }
  const m = (rows: Record<string, number>[], key: string) => median(rows.map((row) => row[key]));
  const row = (phase: string, key: string) => {
    const [k, t] = [m(kestrel, key), m(torch, key)];
    return `| ${phase} | ${k.toFixed(1)} | ${t.toFixed(1)} | ${(k / t).toFixed(2)} |`;
  };
  const text = [
    SECTION, '',
    `\`node dist/bench/finetune.js ${process.argv.slice(2).join(' ')}\`: ResNet-34 body + fastai head (AdaptiveConcatPool2d, BN, dropout, linear 1024-512-${CLASSES}), `
      + `synthetic ${o.size}x${o.size} images, batch ${o.batch}, AdamW (betas 0.9/0.99, eps 1e-5, wd 0.01), ${o.iters} timed steps after ${o.warmup} warm-up, `
      + `median of ${o.repeats} runs; ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} threads.`,
    '',
    '| phase | Kestrel samples/s | PyTorch samples/s | Kestrel / PyTorch |',
    '|---|---|---|---|',
    row('frozen (body frozen, batch norm trains)', 'frozenSamplesPerSec'),
    row('unfrozen (all layers, lrSlice)', 'unfrozenSamplesPerSec'),
    '',
    `Precompute (${o.images} images, ${o.headEpochs} head epochs): a frozen epoch over the images takes ${m(pre, 'fullEpochSeconds').toFixed(2)} s; `
      + `caching the body's features once takes ${m(pre, 'precomputeSeconds').toFixed(2)} s; a head epoch on the cached features takes `
      + `${m(pre, 'headEpochSeconds').toFixed(3)} s: **${m(pre, 'speedup').toFixed(0)}x** faster.`,
  ].join('\n');
  console.log(`\n${text}`);
  if (o.write) writeSection(text);
}

await main();
