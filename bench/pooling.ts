/**
 * MaxPool2d(2) (issue 15): Kestrel's own 2x2/2 kernel (native/pooling.cc, what `MaxPool2d(2)` runs on
 * CPU) against ATen's max_pool2d called from Kestrel and against PyTorch's `F.max_pool2d`, in one run,
 * on channels-last batches of the mnist-cnn and SmallResNet shapes, float32 and bfloat16: forward
 * without autograd (inference) and forward + backward (training). Milliseconds per call, median of
 * `--repeats` timings of `--calls` calls each.
 *
 *   npx tsc -p . && node dist/bench/pooling.js [--calls 50] [--repeats 5] [--write]
 *
 * `--write` replaces the "MaxPool2d(2)" section of BENCHMARKS.md.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Tensor, manualSeed, noGrad, op, randn, runtimeInfo, tidy } from '../src/tensor/index.js';
import { median, numberArgs, writeSection } from './common.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = process.env.KESTREL_TEST_PYTHON ?? '/usr/bin/python3';
const SHAPES: [number, number, number, number][] = [[256, 24, 28, 28], [256, 36, 14, 14], [256, 64, 28, 28], [256, 128, 14, 14]];
const DTYPES = ['float32', 'bfloat16'] as const;

/** Milliseconds per call of `fn`: the median of `repeats` timings of `calls` calls (after 5 untimed). */
function msPerCall(fn: () => void, calls: number, repeats: number): number {
  for (let i = 0; i < 5; i++) tidy(fn);
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    for (let i = 0; i < calls; i++) tidy(fn);
    times.push((performance.now() - start) / calls);
  }
  return median(times);
}

const PY = `
import json, sys, time, torch
import torch.nn.functional as F
calls, repeats, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
shapes = json.loads(sys.argv[4])
def per_call(fn):
    for _ in range(5): fn()
    times = []
    for _ in range(repeats):
        s = time.perf_counter()
        for _ in range(calls): fn()
        times.append((time.perf_counter() - s) / calls * 1000)
    return sorted(times)[len(times) // 2]
out = {}
for dtype in ['float32', 'bfloat16']:
    for shape in shapes:
        x = torch.randn(shape).to(getattr(torch, dtype)).contiguous(memory_format=torch.channels_last)
        def fwd():
            with torch.inference_mode():
                F.max_pool2d(x, 2)
        leaf = x.detach().requires_grad_()
        def train():
            F.max_pool2d(leaf, 2).float().sum().backward()
            leaf.grad = None
        out[dtype + str(shape)] = [per_call(fwd), per_call(train)]
print('RESULT ' + json.dumps(out))
`;

function main(): void {
  const write = process.argv.includes('--write');
  // NOTE: numberArgs takes numeric flags only; --write is this script's own.
  if (write) process.argv.splice(process.argv.indexOf('--write'), 1);
  const args = numberArgs({ calls: 50, repeats: 5 });
  manualSeed(0);
  const threads = runtimeInfo().threads;
  const child = spawnSync(PYTHON, ['-c', PY, String(args.calls), String(args.repeats), String(threads), JSON.stringify(SHAPES)], { encoding: 'utf8' });
  const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (child.status !== 0 || !line) throw new Error(`PyTorch side failed (${child.status}):\n${child.stderr}`);
  const torch = JSON.parse(line.slice(7)) as Record<string, [number, number]>;
  const rows: string[] = [];
  for (const dtype of DTYPES) {
    for (const shape of SHAPES) {
      tidy(() => {
        const x = randn(shape).to(dtype).contiguous('channels-last');
        const leaf = x.detach().setRequiresGrad();
        const ours = (t: Tensor) => op('kestrel::max_pool2x2', '', [t.handle]);
        const aten = (t: Tensor) => op('aten::max_pool2d', '', [t.handle, [2, 2], [2, 2], [0, 0], [1, 1], false]);
        const fwd = (pool: (t: Tensor) => Tensor) => msPerCall(() => { noGrad(() => pool(x)); }, args.calls, args.repeats);
        const train = (pool: (t: Tensor) => Tensor) => msPerCall(() => { pool(leaf).float().sum().backward(); leaf.setGrad(null); }, args.calls, args.repeats);
        const [oursFwd, atenFwd, oursTrain, atenTrain] = [fwd(ours), fwd(aten), train(ours), train(aten)];
        // NOTE: the Python side keys results by dtype + str(shape), e.g. 'bfloat16[256, 24, 28, 28]'.
        const [torchFwd, torchTrain] = torch[`${dtype}[${shape.join(', ')}]`];
        rows.push(`| ${dtype} | ${shape.join('x')} | ${oursFwd.toFixed(2)} | ${atenFwd.toFixed(2)} | ${torchFwd.toFixed(2)} | **${(torchFwd / oursFwd).toFixed(2)}** | `
          + `${oursTrain.toFixed(2)} | ${atenTrain.toFixed(2)} | ${torchTrain.toFixed(2)} | **${(torchTrain / oursTrain).toFixed(2)}** |`);
      });
    }
  }
  const command = `node dist/bench/pooling.js ${[...process.argv.slice(2), ...(write ? ['--write'] : [])].join(' ')}`.trim();
  const text = [
    '## MaxPool2d(2): Kestrel\'s kernel against ATen and PyTorch (issue 15)', '',
    `Generated by \`${command}\` (bench/pooling.ts) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${threads} threads, channels-last batches, `
      + `milliseconds per call (median of ${args.repeats} x ${args.calls} calls). "ATen" is libtorch's max_pool2d called from Kestrel (what MaxPool2d(2) ran before `
      + 'native/pooling.cc); PyTorch is `F.max_pool2d` (inference mode for the forward). Training is forward + backward of the pooled sum.', '',
    '| dtype | input | Kestrel forward | ATen forward | PyTorch forward | PyTorch / Kestrel | Kestrel fwd+bwd | ATen fwd+bwd | PyTorch fwd+bwd | PyTorch / Kestrel |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
  console.log(text);
  if (write) writeSection(join(ROOT, 'BENCHMARKS.md'), text.split('\n', 1)[0], text);
}

main();
