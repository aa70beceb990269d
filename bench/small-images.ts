/**
 * Small-image benchmark (issue 14): a folder of N grey 20x20 PNGs in class sub-folders (the bundled Fashion-MNIST
 * sample, resized), decoded and resized to --size, normalised, batch 64, 2 workers, NCHW float32. Kestrel's
 * ImageLoader with its cache off (every epoch decodes, as the first epoch of training does) against PIL +
 * torchvision ImageFolder + torch DataLoader, in the same run. Also, per image in one thread, the CPU time of
 * decode + resize (Kestrel's loadImageSample against PIL's open/convert/resize): a figure a busy machine barely moves.
 *
 *   npx tsc -p . && node dist/bench/small-images.js [--images 5000] [--side 20] [--size 28] [--repeats 3] [--epochs 2] [--workers 2] [--write]
 *
 * The PNGs are made once under $KESTREL_BENCH_DIR (default: the temp dir). `--write` replaces the
 * "Small images" section of BENCHMARKS.md.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { ImageLoader, imageFolders, loadImageSample, loadSample } from '../src/data/index.js';
import { resolveDecodeOptions } from '../src/data/image/decode.js';
import { dispose, setNumThreads } from '../src/tensor/index.js';
import { median, numberArgs, runResult, writeSection } from './common.js';

const PYTHON = process.env.KESTREL_TEST_PYTHON ?? '/usr/bin/python3';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MEAN = 0.286; const STD = 0.353;

/** What each side reports. */
interface Result { imagesPerSecond: number; firstEpochImagesPerSecond: number; scanSeconds: number; decodeCpuMicroseconds: number }

/** Writes `count` grey side x side PNGs (colour type 0) into class folders, from the bundled sample; reuses them when present. */
async function preparePngs(count: number, side: number): Promise<string> {
  const dir = join(process.env.KESTREL_BENCH_DIR ?? tmpdir(), `kestrel-bench-png${side}-${count}`);
  const existing = existsSync(dir) ? readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.png')).length : 0;
  if (existing === count) return dir;
  const sample = loadSample({ split: 'train' });
  const pixels = sample.images.toArray() as Uint8Array;
  const labels = sample.labels.toArray() as BigInt64Array;
  for (let i = 0; i < count; i++) {
    const k = i % sample.length;
    const folder = join(dir, `class${labels[k]}`);
    mkdirSync(folder, { recursive: true });
    const raw = Buffer.from(pixels.buffer, pixels.byteOffset + k * 784, 784);
    await sharp(raw, { raw: { width: 28, height: 28, channels: 1 } }).resize(side, side).toColourspace('b-w').png().toFile(join(folder, `${String(i).padStart(5, '0')}.png`));
  }
  sample.dispose();
  return dir;
}

/** CPU time per image of decode + resize in this thread, best of 5 passes over up to 1000 files (JIT warm). */
async function decodeCpu(files: string[], size: number): Promise<number> {
  const decode = resolveDecodeOptions({ channels: 1 });
  const some = files.slice(0, 1000);
  let best = Infinity;
  for (let pass = 0; pass < 5; pass++) {
    const before = process.cpuUsage();
    for (let i = 0; i < some.length; i++) await loadImageSample(some[i], { size, resize: 'crop' }, decode, { seed: 0, epoch: 0, index: i });
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / some.length);
  }
  return best;
}

async function kestrelWorker(dir: string, o: Record<string, number>): Promise<void> {
  setNumThreads(1);
  sharp.concurrency(1);
  const scanStart = performance.now();
  const folders = await imageFolders(dir, { validPct: 0 });
  const scanSeconds = (performance.now() - scanStart) / 1000;
  const loader = new ImageLoader(folders.train, {
    batchSize: o.batch, shuffle: true, seed: 0, workers: o.workers, cache: false, decode: { channels: 1 },
    transforms: { size: o.size, resize: 'crop' }, normalize: { mean: [MEAN], std: [STD] },
  });
  const epoch = async () => {
    const start = performance.now();
    let images = 0;
    for await (const batch of loader) { images += batch.x.shape[0]; dispose(batch); }
    return images / ((performance.now() - start) / 1000);
  };
  // NOTE: the first epoch includes starting the workers, as the first epoch of a training run does.
  const firstEpochImagesPerSecond = await epoch();
  const rates: number[] = [];
  for (let e = 0; e < o.epochs; e++) rates.push(await epoch());
  await loader.close();
  const imagesPerSecond = rates.length / rates.reduce((sum, r) => sum + 1 / r, 0);
  const decodeCpuMicroseconds = await decodeCpu(folders.train.files, o.size);
  console.log(`RESULT ${JSON.stringify({ name: 'kestrel', imagesPerSecond, firstEpochImagesPerSecond, scanSeconds, decodeCpuMicroseconds })}`);
}

async function main(): Promise<void> {
  const worker = process.argv.indexOf('--kestrel-worker');
  if (worker >= 0) {
    const dir = process.argv[worker + 1];
    process.argv.splice(worker, 2);
    await kestrelWorker(dir, numberArgs({ images: 5000, side: 20, size: 28, epochs: 2, workers: 2, batch: 64 }));
    return;
  }
  const write = process.argv.includes('--write');
  if (write) process.argv.splice(process.argv.indexOf('--write'), 1);
  const o = numberArgs({ images: 5000, side: 20, size: 28, repeats: 3, epochs: 2, workers: 2, batch: 64 });
  const dir = await preparePngs(o.images, o.side);
  const common = ['--size', String(o.size), '--epochs', String(o.epochs), '--workers', String(o.workers), '--batch', String(o.batch)];
  const kestrel: Result[] = []; const torch: Result[] = [];
  for (let r = 0; r < o.repeats; r++) {
    // NOTE: alternate the two so that machine noise hits them alike.
    const k = runResult<Result>(process.execPath, [fileURLToPath(import.meta.url), '--kestrel-worker', dir, ...common], { cwd: ROOT });
    const t = runResult<Result>(PYTHON, [join(ROOT, 'bench', 'small-images.py'), dir, ...common], { cwd: ROOT });
    kestrel.push(k); torch.push(t);
    console.log(`repeat ${r + 1}: kestrel ${k.imagesPerSecond.toFixed(0)} images/s (first epoch ${k.firstEpochImagesPerSecond.toFixed(0)}, decode ${k.decodeCpuMicroseconds.toFixed(1)} us CPU), `
      + `pytorch ${t.imagesPerSecond.toFixed(0)} images/s (first epoch ${t.firstEpochImagesPerSecond.toFixed(0)}, decode ${t.decodeCpuMicroseconds.toFixed(1)} us CPU)`);
  }
  const pick = (runs: Result[], key: keyof Result) => median(runs.map((r) => r[key]));
  const row = (label: string, key: keyof Result, digits: number) =>
    `| ${label} | ${pick(kestrel, key).toFixed(digits)} | ${pick(torch, key).toFixed(digits)} | ${(pick(kestrel, key) / pick(torch, key)).toFixed(2)} |`;
  const heading = '## Small images';
  const text = [
    heading, '',
    `${o.images} grey ${o.side}x${o.side} PNGs in 10 class folders (the bundled Fashion-MNIST sample, resized), resized to ${o.size}x${o.size}`,
    `and normalised, batch ${o.batch}, ${o.workers} workers, NCHW float32; Kestrel's cache off so every epoch decodes (the first epoch of`,
    `training). Epoch rates: ${o.epochs} epochs after a first one that starts the workers; median of ${o.repeats} alternating runs.`,
    `Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}.`, '',
    '| measure | Kestrel | PyTorch (PIL + torchvision) | ratio |', '|---|---:|---:|---:|',
    row('images/s, epochs after the first', 'imagesPerSecond', 0),
    row('images/s, first epoch (workers starting)', 'firstEpochImagesPerSecond', 0),
    row('decode + resize, CPU microseconds per image, one thread (lower is better)', 'decodeCpuMicroseconds', 1),
    row('folder scan, seconds (Kestrel checks every header; ImageFolder lists names)', 'scanSeconds', 2), '',
    'Kestrel decodes plain PNGs with pngjs in the worker thread and resizes with its native antialiased filter (PIL\'s',
    'bilinear); before, every image took two or three sharp calls, each a hand-off to libvips\'s threads.',
    `Training on such a folder caches the decoded images after a warm-up pass that \`fit\` runs first, so epochs measure training.`, '',
    `Command: \`npx tsc -p . && node dist/bench/small-images.js --images ${o.images} --repeats ${o.repeats} --write\``, '',
  ].join('\n');
  if (write) writeSection(join(ROOT, 'BENCHMARKS.md'), heading, text);
  else console.log(`\n${text}`);
}

await main();
