/**
 * Image loader benchmark: 256-px JPEG photos, RandomResizedCrop 224 + horizontal flip + ImageNet normalisation,
 * batch 64, 2 workers, Kestrel's ImageLoader against PIL + torchvision + torch DataLoader(num_workers=2), in the same run.
 *
 *   npx tsc -p . && node dist/bench/loader.js [--images 512] [--repeats 3] [--epochs 2] [--workers 2] [--write]
 *
 * The photos are made once (random crops of the packaged sample photographs, see test/data/image/fixtures.ts)
 * under $KESTREL_BENCH_DIR (default: the temp dir). `--write` replaces the "Image loader" section of BENCHMARKS.md.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { ImageDataset, ImageLoader } from '../src/data/image/index.js';
import { SampleRng } from '../src/data/image/rng.js';
import { dispose, setNumThreads } from '../src/tensor/index.js';
import { samplePhotos } from '../test/data/image/fixtures.js';
import { median, runResult, writeSection } from './common.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = process.env.KESTREL_TEST_PYTHON ?? '/usr/bin/python3';

interface Options { images: number; side: number; repeats: number; epochs: number; workers: number; batch: number; size: number; write: boolean; worker: string }

function parseOptions(argv: string[]): Options {
  const options: Options = { images: 512, side: 256, repeats: 3, epochs: 2, workers: 2, batch: 64, size: 224, write: false, worker: '' };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--write') options.write = true;
    else if (flag === '--kestrel-worker') options.worker = value();
    else if (flag.slice(2) in options && flag.startsWith('--')) (options as unknown as Record<string, number>)[flag.slice(2)] = Number(value());
    else throw new Error(`bench/loader.ts: unknown flag ${argv[i]}`);
  }
  return options;
}

/** Makes `count` side x side JPEGs (quality 90) from random crops of the sample photos; reuses them when present. */
async function preparePhotos(count: number, outSide: number): Promise<string> {
  const dir = join(process.env.KESTREL_BENCH_DIR ?? tmpdir(), `kestrel-bench-jpeg${outSide}-${count}`);
  if (existsSync(dir) && readdirSync(dir).filter((f) => f.endsWith('.jpg')).length === count) return dir;
  const sources = samplePhotos();
  if (sources.length === 0) throw new Error('bench/loader.ts: no sample photos found (apt-get install python-matplotlib-data python3-skimage, or set KESTREL_PHOTOS)');
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const source = sources[i % sources.length];
    const rng = new SampleRng(7, 0, i);
    const { width = 0, height = 0 } = await sharp(source).metadata();
    const side = Math.round(Math.min(width, height) * rng.uniform(0.5, 1));
    const left = Math.floor(rng.next() * (width - side + 1)); const top = Math.floor(rng.next() * (height - side + 1));
    const name = basename(source).replace(/\.\w+$/, '').replace(/[-_]/g, '');
    await sharp(source).removeAlpha().extract({ left, top, width: side, height: side }).resize(outSide, outSide).jpeg({ quality: 90 })
      .toFile(join(dir, `${name}-${String(i).padStart(4, '0')}.jpg`));
  }
  return dir;
}

async function kestrelWorker(dir: string, options: Options): Promise<void> {
  setNumThreads(1);
  const files = readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort();
  const names = [...new Set(files.map((f) => f.split('-')[0]))].sort();
  const dataset = new ImageDataset(files.map((f) => ({ file: join(dir, f), label: names.indexOf(f.split('-')[0]) })), names);
  const loader = new ImageLoader(dataset, {
    batchSize: options.batch, shuffle: true, seed: 0, workers: options.workers,
    transforms: { size: options.size, randomResizedCrop: true, flipHorizontal: true }, normalize: 'imagenet',
  });
  for await (const batch of loader) dispose(batch); // NOTE: warm-up epoch starts the workers, like persistent_workers.
  const start = performance.now();
  let images = 0; let shape: number[] = [];
  for (let e = 0; e < options.epochs; e++) {
    for await (const batch of loader) { images += batch.x.shape[0]; shape = batch.x.shape; dispose(batch); }
  }
  const seconds = (performance.now() - start) / 1000;
  await loader.close();
  console.log(`RESULT ${JSON.stringify({ name: 'kestrel', images, seconds, imagesPerSecond: images / seconds, shape, dtype: 'float32' })}`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.worker) { await kestrelWorker(options.worker, options); return; }
  const dir = await preparePhotos(options.images, options.side);
  const common = ['--workers', String(options.workers), '--batch', String(options.batch), '--size', String(options.size), '--epochs', String(options.epochs)];
  const kestrel: number[] = []; const torch: number[] = []; const viaSharp: number[] = [];
  for (let r = 0; r < options.repeats; r++) {
    // NOTE: alternate the three so that machine noise hits them alike.
    const k = runResult<{ imagesPerSecond: number; shape: number[] }>(process.execPath, [fileURLToPath(import.meta.url), '--kestrel-worker', dir, ...common], { cwd: ROOT });
    const t = runResult<{ imagesPerSecond: number; shape: number[] }>(PYTHON, [join(ROOT, 'bench', 'loader.py'), dir, ...common], { cwd: ROOT });
    const s = runResult<{ imagesPerSecond: number; shape: number[] }>(process.execPath, [fileURLToPath(import.meta.url), '--kestrel-worker', dir, ...common], { cwd: ROOT, env: { KESTREL_FAST_JPEG: '0' } });
    kestrel.push(k.imagesPerSecond); torch.push(t.imagesPerSecond); viaSharp.push(s.imagesPerSecond);
    console.log(`repeat ${r + 1}: kestrel ${k.imagesPerSecond.toFixed(1)} images/s ${JSON.stringify(k.shape)}, pytorch ${t.imagesPerSecond.toFixed(1)} images/s ${JSON.stringify(t.shape)}, kestrel via sharp ${s.imagesPerSecond.toFixed(1)} images/s`);
  }
  const k = median(kestrel); const t = median(torch); const s = median(viaSharp);
  console.log(`median: kestrel ${k.toFixed(1)} images/s, pytorch ${t.toFixed(1)} images/s, ratio ${(k / t).toFixed(2)}`);
  // NOTE: the 256-px run owns "## Image loader"; other sizes get their own section beside it.
  const section = options.side === 256 ? '## Image loader' : `## Image loader, ${options.side}-px photos`;
  const text = [
    section, '',
    `${options.images} JPEG photos of ${options.side}x${options.side} (random crops of the packaged sample photographs, quality 90), RandomResizedCrop ${options.size}`,
    `+ horizontal flip + ImageNet normalisation, batch ${options.batch}, ${options.workers} workers, NCHW float32 batches; one warm-up epoch,`,
    `then ${options.epochs} timed epochs; median of ${options.repeats} alternating runs. Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}.`, '',
    '| loader | images/s | runs |', '|---|---:|---|',
    `| Kestrel ImageLoader (libjpeg-turbo crop decode + antialiased resize, worker threads) | ${k.toFixed(1)} | ${kestrel.map((v) => v.toFixed(1)).join(', ')} |`,
    `| PIL + torchvision.transforms + torch DataLoader | ${t.toFixed(1)} | ${torch.map((v) => v.toFixed(1)).join(', ')} |`,
    `| Kestrel ImageLoader through sharp only (\`KESTREL_FAST_JPEG=0\`) | ${s.toFixed(1)} | ${viaSharp.map((v) => v.toFixed(1)).join(', ')} |`,
    `| **ratio Kestrel / PyTorch** | **${(k / t).toFixed(2)}x** | (sharp only: ${(s / t).toFixed(2)}x) |`, '',
    'Both resample with an antialiased triangle filter (PIL\'s bilinear); Kestrel decodes only the rows and MCU columns of',
    'the crop and, when the crop is at least twice the output, decodes at 1/2, 1/4 or 1/8 scale in the DCT (PIL can do the',
    'latter with `Image.draft`, which torchvision does not call). The decoded pixels are bit-identical to PIL\'s.', '',
    `Command: \`npx tsc -p . && node dist/bench/loader.js --images ${options.images}${options.side === 256 ? '' : ` --side ${options.side}`} --repeats ${options.repeats} --write\``, '',
  ].join('\n');
  if (options.write) writeSection(join(ROOT, 'BENCHMARKS.md'), section, text);
  else console.log(`\n${text}`);
}

await main();
