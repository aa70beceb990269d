import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bf16Support } from '../../src/tensor/index.js';

const BIN = fileURLToPath(new URL('../../../bin/kestrel.js', import.meta.url));

function kestrel(env: Record<string, string>, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 600000, env: { ...process.env, ...env } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const OFF = { KESTREL_BF16: '0' };

test('--precision bf16 without bf16 support (simulated) or fp16 on CPU: one clear error, exit 1, nothing written', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'kestrel-precision-')), 'run');
  const bf16 = kestrel(OFF, 'train', 'sample', '--precision', 'bf16', '--out', out);
  assert.equal(bf16.code, 1);
  assert.equal(bf16.stderr.trim(), "kestrel: error: --precision bf16 is not supported here: bfloat16 is turned off by KESTREL_BF16=0; use 'fp32' or 'auto'");
  assert.equal(existsSync(out), false);
  const fp16 = kestrel({}, 'train', 'sample', '--precision', 'fp16', '--out', out);
  assert.equal(fp16.code, 1);
  assert.match(fp16.stderr, /--precision fp16 needs a CUDA device/);
  const lrFind = kestrel(OFF, 'lr-find', 'sample', '--precision', 'bf16', '--out', out);
  assert.equal(lrFind.code, 1);
  assert.match(lrFind.stderr, /--precision bf16 is not supported here/);
  assert.equal(existsSync(out), false);
  const bad = kestrel({}, 'train', '--precision', 'half');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /option --precision must be one of auto, fp32, bf16, fp16; got 'half'/);
  const badValid = kestrel({}, 'train', '--valid-precision', 'fp16');
  assert.equal(badValid.code, 2);
  assert.match(badValid.stderr, /option --valid-precision must be one of training, fp32, bf16; got 'fp16'/);
});

test('--precision auto says which precision it chose and records it in metrics.json; kestrel info reports bf16', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-precision-'));
  const fallback = kestrel(OFF, 'train', 'sample', '--epochs', '1', '--bs', '256', '--out', join(dir, 'fp32'));
  assert.equal(fallback.code, 0, fallback.stderr);
  assert.match(fallback.stdout, /^kestrel: precision fp32 \(auto: falling back to float32: bfloat16 is turned off by KESTREL_BF16=0\)$/m);
  const fallbackMetrics = JSON.parse(readFileSync(join(dir, 'fp32', 'metrics.json'), 'utf8'));
  assert.deepEqual([fallbackMetrics.precision, fallbackMetrics.run.settings['valid-precision']], ['fp32', 'fp32'], 'validation follows the training precision');
  assert.doesNotMatch(fallback.stdout, /validation after each epoch in/);
  const infoOff = kestrel(OFF, 'info');
  assert.match(infoOff.stdout, /^bf16 +no: bfloat16 is turned off by KESTREL_BF16=0$/m);
  const info = kestrel({}, 'info');
  const support = bf16Support();
  assert.match(info.stdout, new RegExp(`^bf16 +${support.available ? 'yes' : 'no'}: `, 'm'));
  if (!support.available) return;
  const auto = kestrel({}, 'train', 'sample', '--epochs', '1', '--bs', '256', '--out', join(dir, 'bf16'));
  assert.equal(auto.code, 0, auto.stderr);
  assert.match(auto.stdout, /^kestrel: precision bf16 \(auto: the CPU has .*bf16.*\)$/m);
  const metrics = JSON.parse(readFileSync(join(dir, 'bf16', 'metrics.json'), 'utf8'));
  assert.equal(metrics.precision, 'bf16');
  assert.equal(metrics.run.settings['valid-precision'], 'bf16');
  assert.ok(metrics.epochs[0].accuracy > 0.5, `bf16 training learns: accuracy ${metrics.epochs[0].accuracy}`);
});
