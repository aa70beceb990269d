/**
 * Serving benchmark: requests/s and p50/p99 latency from autocannon at 1, 8 and 64 concurrent clients, for
 * mnist-cnn (28x28 grey PNG) and ResNet-18 (224x224 JPEG), batching on and off, with the model run by Kestrel
 * (libtorch) or by onnxruntime-node on the same ONNX export behind the same HTTP code; then RSS over 10,000
 * requests. Servers run in child processes (bench/serve-worker.ts), the load generator here.
 *
 *   npx tsc -p . && node dist/bench/serve.js [--seconds 10] [--write]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import sharp from 'sharp';
import { manualSeed } from '../src/tensor/index.js';
import { saveModel } from '../src/io/index.js';
import { mnistCnn } from '../src/vision/simple.js';
import { resnet18 } from '../src/vision/resnet.js';
import { joinSections, markdownSections, sectionHeading } from './common.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1] ?? 10) || 10;
const write = args.includes('--write');

async function bundles(): Promise<{ name: string; dir: string; image: Buffer; type: string }[]> {
  const base = mkdtempSync(join(tmpdir(), 'kestrel-serve-bench-'));
  manualSeed(0);
  const cnn = join(base, 'mnist-cnn');
  const m = mnistCnn(10);
  saveModel(cnn, m, { architecture: { name: 'mnist-cnn', options: { numClasses: 10 } }, classes: [...'0123456789'], inputShape: [1, 28, 28], normalize: { mean: [0.2860], std: [0.3530] } });
  m.dispose();
  const r18 = join(base, 'resnet18');
  const r = resnet18(10);
  saveModel(r18, r, { architecture: { name: 'resnet18', options: { numClasses: 10, input: { channels: 3, height: 224, width: 224 } } }, classes: [...'0123456789'], inputShape: [3, 224, 224], normalize: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } });
  r.dispose();
  const grey = await sharp(readFileSync(join(ROOT, 'data/sample/images/bag.png'))).png().toBuffer();
  const photo = await sharp('/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg').resize(256, 256).jpeg({ quality: 90 }).toBuffer();
  return [{ name: 'mnist-cnn', dir: cnn, image: grey, type: 'image/png' }, { name: 'resnet18', dir: r18, image: photo, type: 'image/jpeg' }];
}

function startServer(dir: string, backend: string, maxBatch: number, maxDelay: number): Promise<{ child: ChildProcess; url: string; output: string[] }> {
  const child = spawn(process.execPath, [join(ROOT, 'dist/bench/serve-worker.js'), dir, backend, String(maxBatch), String(maxDelay)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        output.push(line);
        if (line.startsWith('URL ')) resolve({ child, url: line.slice(4), output });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

async function rss(server: { child: ChildProcess; output: string[] }): Promise<number> {
  const before = server.output.length;
  server.child.kill('SIGUSR2');
  while (server.output.length === before) await new Promise((r) => setTimeout(r, 20));
  return Number(server.output[server.output.length - 1].split(' ')[1]);
}

async function load(url: string, image: Buffer, type: string, connections: number, duration: number, amount?: number): Promise<autocannon.Result> {
  return autocannon({ url: `${url}/predict`, method: 'POST', body: image, headers: { 'content-type': type }, connections, ...(amount ? { amount } : { duration }) });
}

const rows: string[] = [];
const notes: string[] = [];
for (const b of await bundles()) {
  for (const backend of ['kestrel', 'ort']) {
    for (const [label, maxBatch, maxDelay] of [['on', 32, 5], ['off', 1, 0]] as const) {
      const server = await startServer(b.dir, backend, maxBatch, maxDelay);
      await load(server.url, b.image, b.type, 8, 2);
      for (const connections of [1, 8, 64]) {
        const r = await load(server.url, b.image, b.type, connections, seconds);
        const line = `| ${b.name} | ${backend === 'kestrel' ? 'Kestrel' : 'onnxruntime-node'} | ${label} | ${connections} | ${r.requests.average.toFixed(1)} | ${r.latency.p50} | ${r.latency.p99} | ${r.non2xx + r.errors} |`;
        console.log(line);
        rows.push(line);
      }
      if (b.name === 'mnist-cnn' && backend === 'kestrel' && label === 'on') {
        await load(server.url, b.image, b.type, 16, 0, 1000);
        const start = await rss(server);
        await load(server.url, b.image, b.type, 16, 0, 10_000);
        const end = await rss(server);
        notes.push(`RSS of the Kestrel mnist-cnn server over 10,000 requests (after 1,000 warm-up requests): ${start.toFixed(1)} MiB -> ${end.toFixed(1)} MiB.`);
        console.log(notes[notes.length - 1]);
      }
      server.child.kill('SIGTERM');
      await new Promise((r) => server.child.once('exit', r));
    }
  }
}

const section = [
  '## Serving (kestrel serve, issue 10)',
  '',
  `\`npx tsc -p . && node dist/bench/serve.js --seconds ${seconds} --write\`: autocannon against 127.0.0.1, one image per request`,
  '(mnist-cnn: a 28x28 PNG; ResNet-18: a 256x256 JPEG resized to 224), batching on = up to 32 images per forward pass',
  'waiting at most 5 ms, off = one request per pass. Same HTTP server, decoding and batching code for both runtimes;',
  'onnxruntime-node runs the bundle\'s ONNX export (2 intra-op threads).',
  '',
  '| model | runtime | batching | clients | requests/s | p50 ms | p99 ms | errors |',
  '|---|---|---|---|---|---|---|---|',
  ...rows,
  '',
  ...notes,
].join('\n');
if (write) {
  const path = join(ROOT, 'BENCHMARKS.md');
  const { head, sections } = markdownSections(readFileSync(path, 'utf8'));
  const kept = sections.filter((s) => !sectionHeading(s).startsWith('## Serving'));
  writeFileSync(path, joinSections(head, [...kept, section]));
  console.log(`wrote the Serving section of ${path}`);
} else {
  console.log(section);
}
