import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memory } from '../../src/tensor/index.js';
import { openTorchFile } from '../../src/io/index.js';
import { skipWithoutTorch } from '../helpers/torch.js';
import { torchFixtures } from './torch-fixtures.js';
import { tempDir } from './util.js';

const skip = skipWithoutTorch();

/** The error openTorchFile rejects with. */
async function openError(path: string): Promise<Error> {
  try {
    const file = await openTorchFile(path);
    file.close();
  } catch (error) {
    return error as Error;
  }
  return assert.fail(`${path} opened`);
}

test('pickles that would run os.system are refused, naming the global and the file; nothing runs', { skip }, async () => {
  const fixtures = torchFixtures();
  const cases: [string, string][] = [
    ['evil.pth', 'pwned-zip'], ['evil-legacy.pth', 'pwned-legacy'], ['evil.pkl', 'pwned-pkl'], ['evil-p2.pkl', 'pwned-p2'],
  ];
  for (const [name, target] of cases) {
    const path = fixtures.path(name);
    const error = await openError(path);
    assert.match(error.message, new RegExp(`PyTorch file '${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'.* refers to the Python global 'posix\\.system'`), name);
    assert.match(error.message, /Nothing was executed/);
    assert.ok(existsSync(fixtures.dir), 'the folder the payload would write into exists');
    assert.equal(existsSync(join(fixtures.dir, target)), false, `${name}: the payload never ran`);
  }
  // A real checkpoint with one harmless but unlisted global is refused all the same.
  assert.match((await openError(fixtures.path('ckpt-namespace.pth'))).message, /refers to the Python global 'argparse\.Namespace'/);
});

test('hand-made pickles naming builtins.eval or __builtin__.getattr are refused', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cases: [string, string][] = [
      ['builtins', 'eval'], ['__builtin__', 'getattr'], ['os', 'system'], ['subprocess', 'Popen'], ['torch', 'load'],
    ];
    for (const [module, name] of cases) {
      const path = join(dir, `${name}.pkl`);
      writeFileSync(path, Buffer.from(`\x80\x02c${module}\n${name}\nX\x0c\x00\x00\x00touch /tmp/x\x85R.`, 'latin1'));
      assert.match((await openError(path)).message, new RegExp(`refers to the Python global '${module}\\.${name}' \\(byte 2 of its pickle\\)`));
    }
  } finally {
    cleanup();
  }
});

test('broken files are one clear error each, never a crash, and leak nothing', { skip }, async () => {
  const fixtures = torchFixtures();
  const { dir, cleanup } = tempDir();
  const before = memory().liveTensors;
  try {
    const resnet = readFileSync(fixtures.path('resnet18.pth'));
    let seed = 7;
    const random = Buffer.from(Array.from({ length: 4096 }, () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed >>> 24; }));
    const deepLists = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.alloc(10_000, 0x5d), Buffer.alloc(9_999, 0x61), Buffer.from('.')]);
    const made: [string, Uint8Array, RegExp][] = [
      ['truncated.pth', resnet.subarray(0, resnet.byteLength >> 1), /is not a valid zip archive/],
      ['head-only.pth', resnet.subarray(0, 3000), /is not a valid zip archive/],
      ['random.pth', random, /is not a torch\.save file: it starts with bytes/],
      ['random-pickle.pth', Buffer.concat([Buffer.from([0x80, 0x02]), random]), /unknown or unsupported pickle opcode|truncated|stack underflow|MARK/],
      ['empty.pth', new Uint8Array(0), /the file is empty/],
      ['marks.pth', Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.alloc(100_000, 0x28)]), /MARKs nested deeper than 1000 at byte 1002/],
      ['deep.pth', deepLists, /values are nested deeper than 100 levels/],
      ['self.pth', Buffer.from('\x80\x02]q\x00h\x00a.', 'latin1'), /contains itself/],
      ['plain.pkl', Buffer.from('\x80\x02}q\x00X\x01\x00\x00\x00aK\x01s.', 'latin1'), /is a plain pickle, not a torch\.save file/],
    ];
    for (const [name, bytes, pattern] of made) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const error = await openError(path);
      assert.match(error.message, pattern, name);
      assert.ok(error.message.includes(path), `${name}: the message names the file`);
    }
    const generated: [string, RegExp][] = [
      ['no-data-pkl.pth', /is a zip archive without '<name>\/data\.pkl', so not a torch\.save file/],
      ['torchscript.pt', /is a TorchScript archive \(torch\.jit\.save\), not a state dict/],
      ['bad-strides.pth', /shape \[3, 2\] with strides \[2, 1\] from element 2 reaches element 7, beyond storage '0' of 4 elements/],
      ['missing-storage.pth', /has no record '.*\/data\/0' for a storage its pickle uses/],
      ['short-storage.pth', /record '.*\/data\/0' holds 5 bytes but its storage needs 432/],
    ];
    for (const [name, pattern] of generated) assert.match((await openError(fixtures.path(name))).message, pattern, name);
    assert.match((await openError(join(dir, 'absent.pth'))).message, /cannot read PyTorch file '.*absent\.pth': ENOENT/);
    assert.match((await openError(dir)).message, /cannot read PyTorch file '.*': EISDIR/);
  } finally {
    cleanup();
  }
  assert.equal(memory().liveTensors, before);
});

test('a pickle whose memo references describe an exponentially large tree is read in linear time', async () => {
  // [[[...[1]*2...]*2]*2] 60 levels deep through memo references: 2^60 leaves if copied.
  const parts: Buffer[] = [Buffer.from('\x80\x02]q\x00K\x01a0', 'latin1')];
  for (let i = 1; i <= 60; i++) parts.push(Buffer.from([0x5d, 0x68, i - 1, 0x61, 0x68, i - 1, 0x61, 0x71, i, 0x30]));
  parts.push(Buffer.from([0x68, 60, 0x2e]));
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'laughs.pth');
    writeFileSync(path, Buffer.concat(parts));
    assert.match((await openError(path)).message, /a plain pickle, not a torch\.save file/);
  } finally {
    cleanup();
  }
});
