/** The plain data a pickle decodes to: Python values, plus globals and calls recorded, never run. */

/** A decoded pickle value. Strings, numbers (bigint beyond 2^53), booleans and null map directly; bytes are Uint8Array views. */
export type PickleValue =
  | null | boolean | number | bigint | string | Uint8Array
  | PickleList | PickleTuple | PickleDict | PickleSet | PickleGlobal | PickleCall | PicklePersistentId;

/** A Python list. */
export class PickleList {
  /** The items, in order. */
  readonly items: PickleValue[] = [];
}

/** A Python tuple. */
export class PickleTuple {
  /** Wraps the items. */
  constructor(readonly items: readonly PickleValue[]) {}
}

/** A Python dict, as key/value pairs in insertion order (keys may be any value). */
export class PickleDict {
  /** The pairs, in insertion order (a repeated key appears twice; the last one wins in Python). */
  readonly entries: [PickleValue, PickleValue][] = [];
}

/** A Python set or frozenset. */
export class PickleSet {
  /** The items, in order. */
  readonly items: PickleValue[] = [];
  /** Creates an empty set (`frozen` for frozenset). */
  constructor(readonly frozen: boolean) {}
}

/** A reference to a Python global (`module.name`), as GLOBAL / STACK_GLOBAL named it. Never resolved. */
export class PickleGlobal {
  /** Records the reference and the byte offset of its opcode. */
  constructor(readonly module: string, readonly name: string, readonly offset: number) {}
  /** `module.name`. */
  get fullName(): string { return `${this.module}.${this.name}`; }
}

/**
 * A call the pickle asks for (REDUCE: `callable(*args)`; NEWOBJ: `cls.__new__(cls, *args)`),
 * with what later opcodes did to its result: BUILD state, SETITEM(S) pairs and APPEND(S) items.
 */
export class PickleCall {
  /** BUILD's argument, if any. */
  state: PickleValue | undefined = undefined;
  /** Pairs set on the result by SETITEM(S) (e.g. an OrderedDict's entries). */
  readonly dictItems: [PickleValue, PickleValue][] = [];
  /** Items appended to the result by APPEND(S). */
  readonly listItems: PickleValue[] = [];
  /** Records the call and the byte offset of its opcode. */
  constructor(readonly kind: 'reduce' | 'newobj', readonly callable: PickleValue, readonly args: PickleValue, readonly kwargs: PickleValue, readonly offset: number) {}
}

/** A persistent id (BINPERSID): an object stored outside the pickle, e.g. a torch storage. */
export class PicklePersistentId {
  /** Records the id and the byte offset of its opcode. */
  constructor(readonly pid: PickleValue, readonly offset: number) {}
}

/** A malformed, truncated or over-limit pickle; `offset` is the byte where decoding stopped. */
export class PickleError extends Error {
  override name = 'PickleError';
  /** Creates the error. */
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

/** A short description of a value for error messages (never recurses into containers). */
export function describePickleValue(value: PickleValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'None';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value)}`;
  if (typeof value === 'number' || typeof value === 'bigint') return `the number ${value}`;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value instanceof Uint8Array) return `bytes (${value.byteLength})`;
  if (value instanceof PickleList) return `a list (${value.items.length} items)`;
  if (value instanceof PickleTuple) return `a tuple (${value.items.length} items)`;
  if (value instanceof PickleDict) return `a dict (${value.entries.length} entries)`;
  if (value instanceof PickleSet) return value.frozen ? 'a frozenset' : 'a set';
  if (value instanceof PickleGlobal) return `global '${value.fullName}'`;
  if (value instanceof PickleCall) {
    const callee = value.callable instanceof PickleGlobal ? value.callable.fullName : 'a value';
    return `a ${value.kind === 'reduce' ? 'call of' : 'new object of'} ${callee}`;
  }
  return 'a persistent id';
}
