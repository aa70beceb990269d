/**
 * A pickle decoder that turns Python pickle bytes into plain data and never executes anything:
 * globals, calls (REDUCE, NEWOBJ), BUILD and persistent ids are recorded as data for the caller
 * to judge. Hard limits bound the work, memory and nesting a hostile stream can ask for.
 */
import { type PickleValue, PickleCall, PickleDict, PickleError, PickleGlobal, PickleList, PicklePersistentId, PickleSet, PickleTuple, describePickleValue } from './pickle-values.js';

export * from './pickle-values.js';

/** Limits on what a pickle may ask of the decoder (all have safe defaults). */
export interface PickleLimits {
  /** Most opcodes executed (default 20 million). */
  maxOps?: number;
  /** Most memo entries (default 1 million). */
  maxMemo?: number;
  /** Deepest MARK nesting (default 1000). */
  maxDepth?: number;
  /** Longest string or bytes object (default 64 MiB). */
  maxStringBytes?: number;
}

/** The result of decoding one pickle. */
export interface DecodedPickle {
  /** The value STOP returned. */
  value: PickleValue;
  /** Byte offset just after STOP (several pickles can follow each other). */
  end: number;
  /** Every GLOBAL / STACK_GLOBAL the stream named, in order (judge these, even unreachable ones). */
  globals: PickleGlobal[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

// NOTE: opcodes by byte (Python's Lib/pickle.py); protocols 2-5 in binary form. Text-mode
// protocol 0/1 opcodes (INT, STRING, PUT, INST, ...) are not used by torch.save and are refused.
const NAMES: Record<number, string> = {
  0x80: 'PROTO', 0x95: 'FRAME', 0x2e: 'STOP', 0x28: 'MARK', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP',
  0x4e: 'NONE', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x4a: 'BININT', 0x4b: 'BININT1', 0x4d: 'BININT2',
  0x8a: 'LONG1', 0x8b: 'LONG4', 0x47: 'BINFLOAT', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x58: 'BINUNICODE', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES',
  0x8e: 'BINBYTES8', 0x96: 'BYTEARRAY8', 0x29: 'EMPTY_TUPLE', 0x74: 'TUPLE', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x5d: 'EMPTY_LIST', 0x6c: 'LIST', 0x61: 'APPEND', 0x65: 'APPENDS', 0x7d: 'EMPTY_DICT',
  0x64: 'DICT', 0x73: 'SETITEM', 0x75: 'SETITEMS', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET',
  0x63: 'GLOBAL', 0x93: 'STACK_GLOBAL', 0x52: 'REDUCE', 0x62: 'BUILD', 0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX',
  0x51: 'BINPERSID', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT', 0x94: 'MEMOIZE', 0x68: 'BINGET', 0x6a: 'LONG_BINGET',
};

/** The pickle opcode name of a byte (undefined for bytes this decoder does not accept). */
export function pickleOpcodeName(byte: number): string | undefined {
  return NAMES[byte];
}

/**
 * Decodes one pickle starting at `start`; errors are {@link PickleError}s naming `label`, the
 * byte offset and the opcode. Nothing in the stream is ever resolved or executed.
 */
export function decodePickle(bytes: Uint8Array, options: PickleLimits & { start?: number; label?: string } = {}): DecodedPickle {
  return new Decoder(bytes, options).run();
}

class Decoder {
  private pos: number;
  private opStart = 0;
  private op = 0;
  private stack: PickleValue[] = [];
  private readonly metastack: PickleValue[][] = [];
  private readonly memo = new Map<number, PickleValue>();
  private readonly globals: PickleGlobal[] = [];
  private readonly view: DataView;
  private readonly label: string;
  private readonly maxOps: number;
  private readonly maxMemo: number;
  private readonly maxDepth: number;
  private readonly maxString: number;

  constructor(private readonly bytes: Uint8Array, options: PickleLimits & { start?: number; label?: string }) {
    this.pos = options.start ?? 0;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.label = options.label ?? 'pickle';
    this.maxOps = options.maxOps ?? 20_000_000;
    this.maxMemo = options.maxMemo ?? 1_000_000;
    this.maxDepth = options.maxDepth ?? 1000;
    this.maxString = options.maxStringBytes ?? 64 * 1024 * 1024;
  }

  private fail(message: string, offset = this.opStart): never {
    const name = NAMES[this.op];
    const what = name ? ` (${name})` : '';
    throw new PickleError(`${this.label}: ${message} at byte ${offset}${what}`, offset);
  }

  private need(count: number): number {
    if (count > this.bytes.byteLength - this.pos) this.fail(`truncated: needs ${count} more bytes but ${this.bytes.byteLength - this.pos} remain`);
    const at = this.pos;
    this.pos += count;
    return at;
  }

  private u8(): number { return this.bytes[this.need(1)]; }
  private u16(): number { return this.view.getUint16(this.need(2), true); }
  private u32(): number { return this.view.getUint32(this.need(4), true); }
  private u64(): number {
    const value = this.view.getBigUint64(this.need(8), true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${value} is out of range`);
    return Number(value);
  }

  private chunk(length: number): Uint8Array {
    if (length > this.maxString) this.fail(`a string of ${length} bytes exceeds the ${this.maxString}-byte limit`);
    const at = this.need(length);
    return this.bytes.subarray(at, at + length);
  }

  private text(length: number): string {
    const raw = this.chunk(length);
    try {
      return utf8.decode(raw);
    } catch {
      return this.fail('string is not valid UTF-8');
    }
  }

  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > 1024) this.fail('GLOBAL name is not a newline-terminated line of at most 1024 bytes');
    const raw = this.bytes.subarray(this.pos, end);
    this.pos = end + 1;
    return lenientUtf8.decode(raw);
  }

  private push(value: PickleValue): void { this.stack.push(value); }

  private pop(): PickleValue {
    if (this.stack.length === 0) this.fail(this.metastack.length > 0 ? 'stack underflow (the value is behind a MARK)' : 'stack underflow');
    return this.stack.pop() as PickleValue;
  }

  private top(): PickleValue {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }

  private popMark(): PickleValue[] {
    const items = this.stack;
    const previous = this.metastack.pop();
    if (previous === undefined) this.fail('no MARK to pop to');
    this.stack = previous;
    return items;
  }

  private memoize(index: number, value: PickleValue): void {
    if (!this.memo.has(index) && this.memo.size >= this.maxMemo) this.fail(`the memo exceeds ${this.maxMemo} entries`);
    this.memo.set(index, value);
  }

  private memoGet(index: number): void {
    if (!this.memo.has(index)) this.fail(`memo key ${index} was never stored`);
    this.push(this.memo.get(index) as PickleValue);
  }

  private long(length: number): number | bigint {
    if (length === 0) return 0;
    const raw = this.chunk(length);
    let value = 0n;
    for (let i = raw.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(raw[i]);
    if (raw[raw.length - 1] & 0x80) value -= 1n << BigInt(8 * raw.length);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }

  private setItems(target: PickleValue, items: PickleValue[]): void {
    if (items.length % 2 !== 0) this.fail('SETITEMS needs key/value pairs');
    let entries: [PickleValue, PickleValue][];
    if (target instanceof PickleDict) entries = target.entries;
    else if (target instanceof PickleCall) entries = target.dictItems;
    else return this.fail(`cannot set items on ${describePickleValue(target)}`);
    for (let i = 0; i < items.length; i += 2) entries.push([items[i], items[i + 1]]);
  }

  private appendItems(target: PickleValue, items: PickleValue[]): void {
    if (target instanceof PickleList) target.items.push(...items);
    else if (target instanceof PickleCall) target.listItems.push(...items);
    else this.fail(`cannot append to ${describePickleValue(target)}`);
  }

  private global(module: string, name: string): void {
    const value = new PickleGlobal(module, name, this.opStart);
    this.globals.push(value);
    this.push(value);
  }

  run(): DecodedPickle {
    for (let ops = 0; ; ops++) {
      if (ops >= this.maxOps) this.fail(`more than ${this.maxOps} opcodes`, this.pos);
      this.opStart = this.pos;
      this.op = 0;
      if (this.pos >= this.bytes.byteLength) this.fail('truncated: the stream ends before STOP', this.pos);
      this.op = this.u8();
      if (this.step()) break;
    }
    if (this.metastack.length > 0) this.fail('STOP inside an unclosed MARK');
    if (this.stack.length !== 1) this.fail(`STOP with ${this.stack.length} values on the stack (expected 1)`);
    return { value: this.stack[0], end: this.pos, globals: this.globals };
  }

  /** Executes one opcode as data; true at STOP. */
  private step(): boolean {
    switch (this.op) {
      case 0x80: { const version = this.u8(); if (version > 5) this.fail(`unsupported pickle protocol ${version}`); return false; }
      case 0x95: { const length = this.u64(); if (length > this.bytes.byteLength - this.pos) this.fail(`truncated: a frame of ${length} bytes runs past the end`); return false; }
      case 0x2e: return true;
      case 0x28:
        if (this.metastack.length >= this.maxDepth) this.fail(`MARKs nested deeper than ${this.maxDepth}`);
        this.metastack.push(this.stack);
        this.stack = [];
        return false;
      case 0x30: if (this.stack.length > 0) this.stack.pop(); else this.popMark(); return false;
      case 0x31: this.popMark(); return false;
      case 0x32: this.push(this.top()); return false;
      case 0x4e: this.push(null); return false;
      case 0x88: this.push(true); return false;
      case 0x89: this.push(false); return false;
      case 0x4a: this.push(this.view.getInt32(this.need(4), true)); return false;
      case 0x4b: this.push(this.u8()); return false;
      case 0x4d: this.push(this.u16()); return false;
      case 0x8a: this.push(this.long(this.u8())); return false;
      case 0x8b: { const n = this.view.getInt32(this.need(4), true); if (n < 0) this.fail('negative LONG4 length'); this.push(this.long(n)); return false; }
      case 0x47: this.push(this.view.getFloat64(this.need(8), false)); return false;
      // NOTE: Python 2 `str`; torch.load decodes it as UTF-8, and so does this.
      case 0x54: { const n = this.view.getInt32(this.need(4), true); if (n < 0) this.fail('negative BINSTRING length'); this.push(lenientUtf8.decode(this.chunk(n))); return false; }
      case 0x55: this.push(lenientUtf8.decode(this.chunk(this.u8()))); return false;
      case 0x58: this.push(this.text(this.u32())); return false;
      case 0x8c: this.push(this.text(this.u8())); return false;
      case 0x8d: this.push(this.text(this.u64())); return false;
      case 0x42: this.push(this.chunk(this.u32())); return false;
      case 0x43: this.push(this.chunk(this.u8())); return false;
      case 0x8e: case 0x96: this.push(this.chunk(this.u64())); return false;
      case 0x29: this.push(new PickleTuple([])); return false;
      case 0x74: this.push(new PickleTuple(this.popMark())); return false;
      case 0x85: { const a = this.pop(); this.push(new PickleTuple([a])); return false; }
      case 0x86: { const b = this.pop(); const a = this.pop(); this.push(new PickleTuple([a, b])); return false; }
      case 0x87: { const c = this.pop(); const b = this.pop(); const a = this.pop(); this.push(new PickleTuple([a, b, c])); return false; }
      case 0x5d: this.push(new PickleList()); return false;
      case 0x6c: { const list = new PickleList(); list.items.push(...this.popMark()); this.push(list); return false; }
      case 0x61: { const item = this.pop(); this.appendItems(this.top(), [item]); return false; }
      case 0x65: { const items = this.popMark(); this.appendItems(this.top(), items); return false; }
      case 0x7d: this.push(new PickleDict()); return false;
      case 0x64: { const dict = new PickleDict(); this.setItems(dict, this.popMark()); this.push(dict); return false; }
      case 0x73: { const value = this.pop(); const key = this.pop(); this.setItems(this.top(), [key, value]); return false; }
      case 0x75: { const items = this.popMark(); this.setItems(this.top(), items); return false; }
      case 0x8f: this.push(new PickleSet(false)); return false;
      case 0x90: {
        const items = this.popMark();
        const set = this.top();
        if (!(set instanceof PickleSet) || set.frozen) this.fail(`cannot add items to ${describePickleValue(set)}`);
        set.items.push(...items);
        return false;
      }
      case 0x91: { const set = new PickleSet(true); set.items.push(...this.popMark()); this.push(set); return false; }
      case 0x63: { const module = this.line(); const name = this.line(); this.global(module, name); return false; }
      case 0x93: {
        const name = this.pop(); const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two strings');
        this.global(module, name);
        return false;
      }
      case 0x52: { const args = this.pop(); const callable = this.pop(); this.push(new PickleCall('reduce', callable, args, null, this.opStart)); return false; }
      case 0x81: { const args = this.pop(); const cls = this.pop(); this.push(new PickleCall('newobj', cls, args, null, this.opStart)); return false; }
      case 0x92: { const kwargs = this.pop(); const args = this.pop(); const cls = this.pop(); this.push(new PickleCall('newobj', cls, args, kwargs, this.opStart)); return false; }
      case 0x62: {
        const state = this.pop();
        const target = this.top();
        if (!(target instanceof PickleCall)) this.fail(`BUILD on ${describePickleValue(target)}`);
        target.state = state;
        return false;
      }
      case 0x51: { const pid = this.pop(); this.push(new PicklePersistentId(pid, this.opStart)); return false; }
      case 0x71: this.memoize(this.u8(), this.top()); return false;
      case 0x72: this.memoize(this.u32(), this.top()); return false;
      case 0x94: this.memoize(this.memo.size, this.top()); return false;
      case 0x68: this.memoGet(this.u8()); return false;
      case 0x6a: this.memoGet(this.u32()); return false;
      default: {
        const printable = this.op >= 0x20 && this.op < 0x7f ? ` '${String.fromCharCode(this.op)}'` : '';
        return this.fail(`unknown or unsupported pickle opcode 0x${this.op.toString(16).padStart(2, '0')}${printable}`);
      }
    }
  }
}

/** Whether bytes start like a pickle of protocol 2 or later (PROTO opcode). */
export function looksLikePickle(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 2 && bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5;
}
