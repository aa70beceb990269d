/** Test helper: run a snippet of Python PyTorch on tensors from Kestrel and read results back. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor, tensor } from '../../src/tensor/index.js';
import type { DType } from '../../src/tensor/index.js';

/** Debian's Python with torch (the first python3 on PATH may lack it). */
export const PYTHON = process.env.KESTREL_TEST_PYTHON ?? '/usr/bin/python3';

const importable = new Map<string, boolean>();

/** Whether the reference Python can import `module` (asked once per module). */
export function pythonHas(module: string): boolean {
  let found = importable.get(module);
  if (found === undefined) {
    try {
      execFileSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 120000 });
      found = true;
    } catch {
      found = false;
    }
    importable.set(module, found);
  }
  return found;
}

/** Whether reference PyTorch can be run (tests skip parity checks otherwise). */
export function torchAvailable(): boolean {
  return pythonHas('torch');
}

/** Skip reason for node:test when PyTorch is missing (undefined when present). */
export function skipWithoutTorch(): string | undefined {
  return torchAvailable() ? undefined : `reference PyTorch not found (${PYTHON} -c "import torch")`;
}

const PRELUDE = `
import json, sys, os, torch
torch.set_num_threads(1)
_kdir = sys.argv[1]
meta = json.load(open(os.path.join(_kdir, 'in.json')))
DT = {'float32': torch.float32, 'float64': torch.float64, 'int64': torch.int64, 'int32': torch.int32, 'uint8': torch.uint8, 'bool': torch.bool}
inp = {}
for name, m in meta.items():
    raw = open(os.path.join(_kdir, name + '.bin'), 'rb').read()
    t = torch.frombuffer(bytearray(raw), dtype=DT[m['dtype']]) if len(raw) else torch.empty(0, dtype=DT[m['dtype']])
    inp[name] = t.reshape(m['shape']).clone()
out = {}
`;

const POSTLUDE = `
NAMES = {v: k for k, v in DT.items()}
manifest = {}
for name, t in out.items():
    t = torch.as_tensor(t).detach().contiguous()
    manifest[name] = {'dtype': NAMES[t.dtype], 'shape': list(t.shape)}
    open(os.path.join(_kdir, 'out_' + name + '.bin'), 'wb').write(t.numpy().tobytes() if t.dtype != torch.bool else t.to(torch.uint8).numpy().tobytes())
json.dump(manifest, open(os.path.join(_kdir, 'out.json'), 'w'))
`;

/**
 * Runs `script` in Python with `inp` (a dict of torch tensors built from `inputs`) and returns
 * every tensor the script stores in the dict `out`, as Kestrel tensors (caller disposes).
 */
export function runTorch(script: string, inputs: Record<string, Tensor> = {}): Record<string, Tensor> {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-torch-'));
  try {
    const meta: Record<string, { dtype: DType; shape: number[] }> = {};
    for (const [name, t] of Object.entries(inputs)) {
      meta[name] = { dtype: t.dtype, shape: t.shape };
      const data = t.toArray() as ArrayBufferView;
      writeFileSync(join(dir, `${name}.bin`), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    writeFileSync(join(dir, 'in.json'), JSON.stringify(meta));
    const body = script.split('\n').map((line) => line.replace(/^\s{0,}/, (m) => m)).join('\n');
    writeFileSync(join(dir, 'script.py'), PRELUDE + dedent(body) + POSTLUDE);
    execFileSync(PYTHON, [join(dir, 'script.py'), dir], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 300000 });
    const manifest = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as Record<string, { dtype: DType; shape: number[] }>;
    const result: Record<string, Tensor> = {};
    for (const [name, m] of Object.entries(manifest)) {
      const file = join(dir, `out_${name}.bin`);
      const bytes = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
      const copy = new Uint8Array(bytes.byteLength);
      copy.set(bytes);
      result[name] = tensor(typedView(m.dtype, copy.buffer), m.shape, { dtype: m.dtype });
    }
    return result;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`reference PyTorch script failed: ${stderr || String(error)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function typedView(dtype: DType, buffer: ArrayBuffer): ArrayBufferView {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer);
    case 'float64': return new Float64Array(buffer);
    case 'int64': return new BigInt64Array(buffer);
    case 'int32': return new Int32Array(buffer);
    default: return new Uint8Array(buffer);
  }
}

function dedent(text: string): string {
  const lines = text.split('\n');
  const indents = lines.filter((l) => l.trim()).map((l) => l.match(/^ */)![0].length);
  const min = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(min)).join('\n') + '\n';
}

/** Asserts two tensors have the same shape and are elementwise close; reports the worst element. */
export function assertClose(actual: Tensor, expected: Tensor, options: { rtol?: number; atol?: number; label?: string } = {}): void {
  const { rtol = 1e-4, atol = 1e-5, label = 'tensor' } = options;
  if (actual.shape.join(',') !== expected.shape.join(',')) {
    throw new Error(`${label}: shape [${actual.shape.join(', ')}] != expected [${expected.shape.join(', ')}]`);
  }
  const a = Array.from(actual.toArray() as ArrayLike<number | bigint>, Number);
  const e = Array.from(expected.toArray() as ArrayLike<number | bigint>, Number);
  let worst = -1; let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const excess = Math.abs(a[i] - e[i]) - (atol + rtol * Math.abs(e[i]));
    if (Number.isNaN(a[i]) !== Number.isNaN(e[i]) || excess > worstExcess) { worst = i; worstExcess = Number.isNaN(excess) ? Infinity : excess; }
  }
  if (worst >= 0) {
    throw new Error(`${label}: element ${worst} is ${a[worst]}, expected ${e[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}
