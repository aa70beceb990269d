/**
 * Weight-loading benchmark: a torchvision state dict (.pth, zip format) read tensor by tensor and
 * loaded strictly into the same architecture; Kestrel's TypeScript reader (openTorchFile +
 * loadWeightsFrom) against torch.load(weights_only=True) + load_state_dict, each in its own process.
 *
 *   npx tsc -p . && node dist/bench/weights.js [--arch resnet50] [--repeats 5] [--write]
 *
 * The file is written once by Debian's PyTorch under $KESTREL_BENCH_DIR (default: the temp dir).
 * `--write` replaces the "Weight loading" section of BENCHMARKS.md.
 */
import { existsSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { setNumThreads } from '../src/tensor/index.js';
import { defaultArchitectures, loadWeightsFrom, openTorchFile } from '../src/io/index.js';
import { median, runResult, writeSection } from './common.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = process.env.KESTREL_TEST_PYTHON ?? '/usr/bin/python3';

interface Options { arch: string; repeats: number; write: boolean; worker: string }

function parseOptions(argv: string[]): Options {
  const options: Options = { arch: 'resnet50', repeats: 5, write: false, worker: '' };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--write') options.write = true;
    else if (flag === '--kestrel-worker') options.worker = value();
    else if (flag === '--arch') options.arch = value();
    else if (flag === '--repeats') options.repeats = Number(value());
    else throw new Error(`bench/weights.ts: unknown flag ${argv[i]} (known: --arch NAME, --repeats N, --write)`);
  }
  return options;
}

async function kestrelWorker(path: string, arch: string): Promise<void> {
  setNumThreads(1);
  const model = defaultArchitectures[arch]({ numClasses: 1000, input: { channels: 3, height: 224, width: 224 } });
  const start = performance.now();
  const file = await openTorchFile(path);
  for (const name of file.keys()) file.get(name).dispose();
  const read = (performance.now() - start) / 1000;
  file.close();
  const again = performance.now();
  const source = await openTorchFile(path);
  loadWeightsFrom(model, source);
  source.close();
  const load = (performance.now() - again) / 1000;
  console.log(`RESULT ${JSON.stringify({ name: 'kestrel', tensors: file.keys().length, readSeconds: read, loadSeconds: load })}`);
}

interface Result { tensors: number; readSeconds: number; loadSeconds: number }

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.worker) { await kestrelWorker(options.worker, options.arch); return; }
  const path = join(process.env.KESTREL_BENCH_DIR ?? tmpdir(), `kestrel-bench-${options.arch}.pth`);
  if (!existsSync(path)) execFileSync(PYTHON, [join(ROOT, 'bench', 'weights.py'), path, options.arch, '--make']);
  const kestrel: Result[] = []; const torch: Result[] = [];
  for (let r = 0; r < options.repeats; r++) {
    // NOTE: alternate the two so that machine noise hits them alike.
    kestrel.push(runResult<Result>(process.execPath, [fileURLToPath(import.meta.url), '--kestrel-worker', path, '--arch', options.arch], { cwd: ROOT }));
    torch.push(runResult<Result>(PYTHON, [join(ROOT, 'bench', 'weights.py'), path, options.arch], { cwd: ROOT }));
    console.log(`repeat ${r + 1}: kestrel read ${kestrel[r].readSeconds.toFixed(3)} s, load ${kestrel[r].loadSeconds.toFixed(3)} s; pytorch read ${torch[r].readSeconds.toFixed(3)} s, load ${torch[r].loadSeconds.toFixed(3)} s`);
  }
  const m = (rs: Result[], key: 'readSeconds' | 'loadSeconds') => median(rs.map((x) => x[key]));
  const section = '## Weight loading';
  const text = [
    section, '',
    `A seeded torchvision ${options.arch} state dict (${kestrel[0].tensors} tensors, torch.save zip format), 1 thread; median of ${options.repeats}`,
    `alternating runs, each in a fresh process. Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}.`, '',
    '| reader | read all tensors (s) | read + load into the model (s) |', '|---|---:|---:|',
    `| Kestrel (TypeScript pickle decoder, openTorchFile + loadWeightsFrom, strict) | ${m(kestrel, 'readSeconds').toFixed(3)} | ${m(kestrel, 'loadSeconds').toFixed(3)} |`,
    `| PyTorch torch.load(weights_only=True) + load_state_dict | ${m(torch, 'readSeconds').toFixed(3)} | ${m(torch, 'loadSeconds').toFixed(3)} |`,
    `| **ratio PyTorch / Kestrel time** | **${(m(torch, 'readSeconds') / m(kestrel, 'readSeconds')).toFixed(2)}x** | **${(m(torch, 'loadSeconds') / m(kestrel, 'loadSeconds')).toFixed(2)}x** |`, '',
    `Command: \`npx tsc -p . && node dist/bench/weights.js --arch ${options.arch} --repeats ${options.repeats} --write\``, '',
  ].join('\n');
  if (options.write) writeSection(join(ROOT, 'BENCHMARKS.md'), section, text);
  else console.log(`\n${text}`);
}

await main();
