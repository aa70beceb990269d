import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  type PickleValue, PickleCall, PickleDict, PickleError, PickleGlobal, PickleList, PicklePersistentId, PickleSet, PickleTuple, decodePickle,
} from '../../src/io/pickle.js';
import { PYTHON, pythonHas } from '../helpers/torch.js';

/** Plain JSON-able form of a decoded value (tuples tagged, sets sorted by JSON text). */
function plain(value: PickleValue): unknown {
  if (typeof value === 'bigint') return { big: String(value) };
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString('hex') };
  if (value instanceof PickleList) return value.items.map(plain);
  if (value instanceof PickleTuple) return { tuple: value.items.map(plain) };
  if (value instanceof PickleDict) return Object.fromEntries(value.entries.map(([k, v]) => [String(plain(k)), plain(v)]));
  if (value instanceof PickleSet) return { [value.frozen ? 'frozenset' : 'set']: value.items.map(plain).map((x) => JSON.stringify(x)).sort() };
  if (value instanceof PickleGlobal) return { global: value.fullName };
  if (value instanceof PickleCall) return { call: plain(value.callable), args: plain(value.args), items: value.dictItems.length };
  if (value instanceof PicklePersistentId) return { pid: plain(value.pid) };
  return value;
}

const DATA = `{
  'ints': [0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31 - 1, 2**40, -2**40, 2**70, -2**70, 2**53, -(2**53) - 1],
  'floats': [0.5, -1e300, 1e-310, float('inf')],
  'text': ['', 'ascii', 'h\u00e9llo \u2603', 'x' * 300],
  'bytes': [b'', b'\\x00\\xff', bytes(range(256)) * 2],
  'consts': [None, True, False],
  'tuples': [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
  'nested': {'a': {'b': [{'c': (None,)}]}},
  'set': {3, 1, 2}, 'frozen': frozenset(['q']),
  'shared': [[7, 8]] * 3,
}`;

const EXPECTED = {
  ints: [0, 1, -1, 255, 256, 65535, 65536, -(2 ** 31), 2 ** 31 - 1, 2 ** 40, -(2 ** 40), { big: String(2n ** 70n) }, { big: String(-(2n ** 70n)) }, { big: String(2n ** 53n) }, { big: String(-(2n ** 53n) - 1n) }],
  floats: [0.5, -1e300, 1e-310, Infinity],
  text: ['', 'ascii', 'h\u00e9llo \u2603', 'x'.repeat(300)],
  bytes: [{ bytes: '' }, { bytes: '00ff' }, { bytes: Buffer.from([...Array(256).keys(), ...Array(256).keys()]).toString('hex') }],
  consts: [null, true, false],
  tuples: [{ tuple: [] }, { tuple: [1] }, { tuple: [1, 2] }, { tuple: [1, 2, 3] }, { tuple: [1, 2, 3, 4] }],
  nested: { a: { b: [{ c: { tuple: [null] } }] } },
  set: { set: ['1', '2', '3'] },
  frozen: { frozenset: ['"q"'] },
  shared: [[7, 8], [7, 8], [7, 8]],
};

function pythonPickle(expression: string, protocol: number): Uint8Array {
  return execFileSync(PYTHON, ['-c', `import pickle, sys; sys.stdout.buffer.write(pickle.dumps(${expression}, protocol=${protocol}))`]);
}

const skip = pythonHas('pickle') ? undefined : `no Python at ${PYTHON}`;

for (const protocol of [2, 3, 4, 5]) {
  test(`decodes Python's protocol ${protocol} pickles of plain data`, { skip }, () => {
    const bytes = pythonPickle(DATA, protocol);
    const decoded = decodePickle(bytes);
    assert.equal(decoded.end, bytes.byteLength);
    // NOTE: protocols 2-3 spell sets (and protocol 2 bytes) as calls of builtins; 4+ have opcodes.
    const viaCalls = protocol >= 4 ? [] : protocol === 3 ? ['set', 'frozen'] : ['set', 'frozen', 'bytes'];
    assert.deepEqual(decoded.globals.length === 0, protocol >= 4);
    const value = plain(decoded.value) as Record<string, unknown>;
    for (const key of Object.keys(EXPECTED).filter((k) => !viaCalls.includes(k))) {
      assert.deepEqual(value[key], EXPECTED[key as keyof typeof EXPECTED], `${key} (protocol ${protocol})`);
    }
    // NOTE: memo references come back as the same object, as Python shares them.
    const shared = (decoded.value as PickleDict).entries.find(([k]) => k === 'shared')![1] as PickleList;
    assert.equal(shared.items[0], shared.items[2]);
  });
}

test('globals, calls, BUILD and persistent ids are recorded as data, never resolved', { skip }, () => {
  const bytes = pythonPickle(`__import__('collections').OrderedDict([('w', 1)])`, 2);
  const decoded = decodePickle(bytes);
  assert.deepEqual(decoded.globals.map((g) => g.fullName), ['collections.OrderedDict']);
  const call = decoded.value as PickleCall;
  assert.ok(call instanceof PickleCall);
  assert.equal((call.callable as PickleGlobal).fullName, 'collections.OrderedDict');
  assert.deepEqual(call.dictItems, [['w', 1]]);
  // BINPERSID and BUILD on a call, hand-assembled: ( 'storage' 'k' ) Q, then c x\ny\n ) R } b
  const handmade = Buffer.concat([
    Buffer.from([0x80, 0x02, 0x28]), Buffer.from('X\x07\x00\x00\x00storage', 'latin1'), Buffer.from('X\x01\x00\x00\x00k', 'latin1'),
    Buffer.from('tQ', 'latin1'), Buffer.from('cos\nsystem\n)R}b\x86.', 'latin1'),
  ]);
  const made = decodePickle(handmade);
  const pair = made.value as PickleTuple;
  assert.ok(pair.items[0] instanceof PicklePersistentId);
  assert.deepEqual(plain((pair.items[0] as PicklePersistentId).pid), { tuple: ['storage', 'k'] });
  assert.ok((pair.items[1] as PickleCall).state instanceof PickleDict);
  assert.deepEqual(made.globals.map((g) => [g.fullName, g.offset]), [['os.system', 23]]);
});

/** Runs decodePickle and returns the PickleError it throws. */
function decodeError(bytes: Uint8Array, limits = {}): PickleError {
  try {
    decodePickle(bytes, { label: 'test.pkl', ...limits });
  } catch (error) {
    assert.ok(error instanceof PickleError, `expected a PickleError, got ${String(error)}`);
    return error;
  }
  assert.fail('no error');
}

test('malformed streams are clear errors with the byte offset', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['unknown opcode', Uint8Array.from([0x80, 0x02, 0x4e, 0x69]), /test\.pkl: unknown or unsupported pickle opcode 0x69 'i' at byte 3$/],
    ['text-protocol INT', Buffer.from('I5\n.', 'latin1'), /opcode 0x49 'I' at byte 0/],
    ['empty', new Uint8Array(0), /truncated: the stream ends before STOP at byte 0/],
    ['no STOP', Uint8Array.from([0x80, 0x02, 0x4e]), /ends before STOP at byte 3/],
    ['truncated string', Buffer.from('\x80\x02X\xff\x00\x00\x00abc', 'latin1'), /truncated: needs 255 more bytes but 3 remain at byte 2 \(BINUNICODE\)/],
    ['truncated int', Uint8Array.from([0x80, 0x02, 0x4a, 1, 2]), /needs 4 more bytes but 2 remain at byte 2 \(BININT\)/],
    ['stack underflow', Uint8Array.from([0x80, 0x02, 0x86, 0x2e]), /stack underflow at byte 2 \(TUPLE2\)/],
    ['unknown memo key', Uint8Array.from([0x80, 0x02, 0x68, 0x07, 0x2e]), /memo key 7 was never stored at byte 2 \(BINGET\)/],
    ['setitem on a list', Buffer.from('\x80\x02]K\x01K\x02s.', 'latin1'), /cannot set items on a list \(0 items\) at byte 7 \(SETITEM\)/],
    ['append to a dict', Buffer.from('\x80\x02}K\x01a.', 'latin1'), /cannot append to a dict \(0 entries\) at byte 5 \(APPEND\)/],
    ['build on an int', Buffer.from('\x80\x02K\x01}b.', 'latin1'), /BUILD on the number 1 at byte 5/],
    ['two values at STOP', Buffer.from('\x80\x02NN.', 'latin1'), /STOP with 2 values on the stack/],
    ['unclosed MARK', Buffer.from('\x80\x02(N.', 'latin1'), /STOP inside an unclosed MARK/],
    ['bad UTF-8', Buffer.from('\x80\x02X\x01\x00\x00\x00\xff.', 'latin1'), /string is not valid UTF-8 at byte 2/],
    ['protocol 6', Uint8Array.from([0x80, 0x06, 0x4e, 0x2e]), /unsupported pickle protocol 6 at byte 0/],
    ['GLOBAL without newline', Buffer.from('\x80\x02cos', 'latin1'), /GLOBAL name is not a newline-terminated line/],
    ['STACK_GLOBAL of non-strings', Buffer.from('\x80\x04K\x01K\x02\x93.', 'latin1'), /STACK_GLOBAL needs two strings/],
    ['frame past the end', Buffer.from('\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00N.', 'latin1'), /a frame of 255 bytes runs past the end at byte 2/],
  ];
  for (const [name, bytes, pattern] of cases) {
    const error = decodeError(bytes);
    assert.match(error.message, pattern, name);
  }
});

test('hard limits stop hostile streams: opcode count, memo size, MARK depth, string size', () => {
  const marks = new Uint8Array(5000).fill(0x28);
  assert.match(decodeError(marks).message, /MARKs nested deeper than 1000 at byte 1000 \(MARK\)/);
  assert.match(decodeError(marks, { maxDepth: 10 }).message, /deeper than 10 at byte 10/);
  const nones = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.alloc(100, 0x4e), Buffer.from([0x30])]);
  assert.match(decodeError(nones, { maxOps: 50 }).message, /more than 50 opcodes/);
  const memo = Buffer.concat([Buffer.from([0x80, 0x04, 0x4e]), Buffer.alloc(20, 0x94), Buffer.from([0x2e])]);
  assert.match(decodeError(memo, { maxMemo: 10 }).message, /the memo exceeds 10 entries at byte 13 \(MEMOIZE\)/);
  const long = Buffer.concat([Buffer.from('\x80\x02X\x00\x10\x00\x00', 'latin1'), Buffer.alloc(4096, 0x61), Buffer.from('.')]);
  assert.match(decodeError(long, { maxStringBytes: 1000 }).message, /a string of 4096 bytes exceeds the 1000-byte limit at byte 2/);
  // Deep structures are built without recursion (10^5 nested lists decode; judging them is the reader's job).
  const deep = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.alloc(100_000, 0x5d), Buffer.alloc(99_999, 0x61), Buffer.from('.')]);
  assert.ok(decodePickle(deep).value instanceof PickleList);
});
