import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor, memory, tensor, tidy } from '../../src/tensor/index.js';
import { loadSafetensors, saveSafetensors, writeTextFileAtomic } from '../../src/io/index.js';
import { tempDir } from './util.js';

/** A tensor whose data cannot be read: saving fails after earlier tensors were written. */
class Unreadable extends Tensor {
  override toArray(): never { throw new Error('disk on fire'); }
}

function temporaryFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.includes('.tmp-'));
}

test('a failure in the middle of a write keeps the previous file and removes the temporary one', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'model.safetensors');
    tidy(() => saveSafetensors(path, { old: tensor([1, 2, 3]) }));
    const previous = readFileSync(path);
    const before = memory().liveTensors;
    tidy(() => {
      const big = tensor(new Float64Array(1 << 20).fill(7), [1 << 20]);
      const bad = new Unreadable(tensor(new Float32Array(4), [4]).takeHandle());
      // NOTE: float64 sorts first, so 8 MiB are written before the unreadable tensor fails.
      assert.throws(() => saveSafetensors(path, new Map<string, Tensor>([['bad', bad], ['big', big]])), new RegExp(`cannot write '${path}': disk on fire`));
    });
    assert.equal(memory().liveTensors, before);
    assert.ok(readFileSync(path).equals(previous), 'previous file intact');
    assert.deepEqual(temporaryFiles(dir), []);
    tidy(() => assert.deepEqual(loadSafetensors(path).tensors.get('old')!.toList(), [1, 2, 3]));
  } finally { cleanup(); }
});

test('a failing rename (target is a directory) leaves no file behind', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'taken');
    mkdirSync(path);
    writeFileSync(join(path, 'inside'), 'still here');
    tidy(() => assert.throws(() => saveSafetensors(path, { x: tensor([1]) }), new RegExp(`cannot write '${path}': .*(EISDIR|ENOTEMPTY|EEXIST)`)));
    assert.throws(() => writeTextFileAtomic(path, 'text'), /EISDIR|ENOTEMPTY|EEXIST/);
    assert.ok(statSync(path).isDirectory());
    assert.equal(readFileSync(join(path, 'inside'), 'utf8'), 'still here');
    assert.deepEqual(readdirSync(dir), ['taken'], 'no temporary files left');
  } finally { cleanup(); }
});

const ioModule = fileURLToPath(new URL('../../src/io/index.js', import.meta.url));
const tensorModule = fileURLToPath(new URL('../../src/tensor/index.js', import.meta.url));

test('killing the writer mid-write never exposes a half-written file under the final name', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'weights.safetensors');
    tidy(() => saveSafetensors(path, { old: tensor([4, 5, 6]) }));
    const previous = readFileSync(path);
    // NOTE: 128 MiB in 32 tensors takes a few hundred ms to write; the parent kills the child
    // as soon as the temporary file appears with data in it.
    const script = `
      const { randn } = await import(${JSON.stringify(tensorModule)});
      const { saveSafetensors } = await import(${JSON.stringify(ioModule)});
      const tensors = new Map();
      for (let i = 0; i < 32; i++) tensors.set('t' + i, randn([1024, 1024]));
      saveSafetensors(${JSON.stringify(path)}, tensors);
      console.log('finished');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk) => { output += String(chunk); });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    let partial: string | undefined;
    while (partial === undefined && child.exitCode === null) {
      partial = temporaryFiles(dir).find((name) => statSync(join(dir, name), { throwIfNoEntry: false })?.size);
      if (partial === undefined) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assert.ok(partial, `the child never started writing (output: ${output})`);
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    assert.ok(!output.includes('finished'), 'the child was killed before it finished');
    assert.ok(readFileSync(path).equals(previous), 'the final name still holds the previous file, byte for byte');
    const leftover = join(dir, partial);
    assert.ok(statSync(leftover).size < 32 * 4 * 1024 * 1024, 'the temporary file is incomplete');
    tidy(() => assert.deepEqual(loadSafetensors(path).tensors.get('old')!.toList(), [4, 5, 6]));
    assert.throws(() => loadSafetensors(leftover), /out of range|beyond the file size|too short/, 'the stray partial file is detected as such');
  } finally { cleanup(); }
});
