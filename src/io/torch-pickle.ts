/**
 * Reads the value a torch.save pickle describes against an allow-list, the way PyTorch's own
 * `weights_only` loader does: only the globals a state dict needs are accepted, calls are
 * interpreted (never executed) and tensors become records pointing into storages.
 */
import type { RawDType } from '../tensor/index.js';
import {
  type PickleValue, PickleCall, PickleDict, PickleGlobal, PickleList, PicklePersistentId, PickleSet, PickleTuple, describePickleValue,
} from './pickle-values.js';

/** Storage classes torch.save names, and the element type of each. */
export const TORCH_STORAGE_DTYPES: Readonly<Record<string, RawDType>> = Object.freeze({
  'torch.FloatStorage': 'float32', 'torch.DoubleStorage': 'float64', 'torch.HalfStorage': 'float16',
  'torch.BFloat16Storage': 'bfloat16', 'torch.LongStorage': 'int64', 'torch.IntStorage': 'int32',
  'torch.ShortStorage': 'int16', 'torch.CharStorage': 'int8', 'torch.ByteStorage': 'uint8', 'torch.BoolStorage': 'bool',
});

const REBUILD_TENSOR_V2 = 'torch._utils._rebuild_tensor_v2';
const REBUILD_TENSOR = 'torch._utils._rebuild_tensor';
const REBUILD_PARAMETER = 'torch._utils._rebuild_parameter';
const REBUILD_PARAMETER_WITH_STATE = 'torch._utils._rebuild_parameter_with_state';
const ORDERED_DICT = 'collections.OrderedDict';

/** Every global a torch.save file may name; any other is refused before anything is interpreted. */
export const ALLOWED_TORCH_GLOBALS: ReadonlySet<string> = new Set([
  ORDERED_DICT, REBUILD_TENSOR_V2, REBUILD_TENSOR, REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE,
  ...Object.keys(TORCH_STORAGE_DTYPES),
]);

/** A storage a tensor views: a persistent id of the file. */
export interface StorageRef {
  /** Key of the storage's data (zip: `data/<key>`; legacy: the order list). */
  key: string;
  /** Element type. */
  dtype: RawDType;
  /** Elements in the storage. */
  numel: number;
  /** Where it lived when saved (`cpu`, `cuda:0`); data always loads on the CPU. */
  location: string;
  /** For legacy storage views: the view's first element in the root storage. */
  viewOffset: number;
}

/** A tensor of the file: a strided view of a storage. */
export class TensorRecord {
  /** Records the view (already checked to lie inside the storage). */
  constructor(readonly storage: StorageRef, readonly offset: number, readonly size: number[], readonly stride: number[], readonly requiresGrad: boolean) {}
}

/** The interpreted value: plain JS data with tensors as records. */
export type TorchValue = null | boolean | number | bigint | string | Uint8Array | TorchValue[] | Map<unknown, TorchValue> | TensorRecord;

/**
 * Refuses the file when its pickle names any global outside the allow-list (even an unreachable
 * one). The error names the global, the file and the byte offset; nothing is ever executed.
 */
export function checkTorchGlobals(globals: readonly PickleGlobal[], label: string): void {
  for (const global of globals) {
    if (!ALLOWED_TORCH_GLOBALS.has(global.fullName)) {
      throw new Error(`${label} refers to the Python global '${global.fullName}' (byte ${global.offset} of its pickle), which is not allowed in a weights file; ` +
        'Kestrel loads only state dicts (tensors, storages, OrderedDict) and refuses it. Nothing was executed.');
    }
  }
}

/** Limits of {@link interpretTorchPickle}. */
export interface InterpretOptions {
  /** Deepest nesting of containers accepted (default 100). */
  maxDepth?: number;
}

/** What a torch.save pickle holds, interpreted. */
export interface InterpretedPickle {
  /** The saved object. */
  value: TorchValue;
  /** Every storage its tensors view, by key (one dtype and size per key, checked). */
  storages: Map<string, StorageRef>;
}

/**
 * Interprets a decoded torch.save pickle (whose globals {@link checkTorchGlobals} accepted):
 * dicts become Maps, lists and tuples arrays, `_rebuild_tensor_v2` calls TensorRecords.
 */
export function interpretTorchPickle(value: PickleValue, label: string, options: InterpretOptions = {}): InterpretedPickle {
  const interpreter = new Interpreter(label, options.maxDepth ?? 100);
  return { value: interpreter.value(value, 0), storages: interpreter.storages };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

class Interpreter {
  // NOTE: shared sub-values are converted once (memo references can make a small pickle describe
  // an exponentially large tree); `active` catches self-containing values.
  private readonly done = new Map<object, TorchValue>();
  private readonly active = new Set<object>();
  /** Storages seen, by key. */
  readonly storages = new Map<string, StorageRef>();

  constructor(private readonly label: string, private readonly maxDepth: number) {}

  private fail(message: string): never {
    throw new Error(`${this.label}: ${message}`);
  }

  value(v: PickleValue, depth: number): TorchValue {
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
    const cached = this.done.get(v);
    if (cached !== undefined) return cached;
    if (this.active.has(v)) this.fail('the pickle describes a value that contains itself (not a state dict)');
    if (depth > this.maxDepth) this.fail(`values are nested deeper than ${this.maxDepth} levels (not a state dict)`);
    this.active.add(v);
    const result = this.convert(v, depth + 1);
    this.active.delete(v);
    this.done.set(v, result);
    return result;
  }

  private convert(v: Exclude<PickleValue, null | boolean | number | bigint | string | Uint8Array>, depth: number): TorchValue {
    if (v instanceof PickleList) return v.items.map((item) => this.value(item, depth));
    if (v instanceof PickleTuple || v instanceof PickleSet) return v.items.map((item) => this.value(item, depth));
    if (v instanceof PickleDict) return this.map(v.entries, depth);
    if (v instanceof PickleCall) return this.call(v, depth);
    if (v instanceof PicklePersistentId) this.fail(`a storage (persistent id at byte ${v.offset}) appears outside a tensor`);
    return this.fail(`${describePickleValue(v)} at byte ${v.offset} is used as a value`);
  }

  private map(entries: [PickleValue, PickleValue][], depth: number): Map<unknown, TorchValue> {
    const out = new Map<unknown, TorchValue>();
    for (const [key, item] of entries) {
      if (key !== null && typeof key === 'object' && !(key instanceof PickleTuple)) this.fail(`a dict key is ${describePickleValue(key)}`);
      const plainKey = key instanceof PickleTuple ? JSON.stringify(this.value(key, depth), (_, x) => (typeof x === 'bigint' ? String(x) : x)) : key;
      out.set(plainKey, this.value(item, depth));
    }
    return out;
  }

  private call(call: PickleCall, depth: number): TorchValue {
    const callee = call.callable instanceof PickleGlobal ? call.callable.fullName : undefined;
    const at = `byte ${call.offset}`;
    if (call.kind === 'newobj') this.fail(`the pickle constructs an object of ${callee ?? 'a computed class'} (${at}); only state dicts are read`);
    const args = call.args instanceof PickleTuple ? call.args.items : this.fail(`the arguments of the call at ${at} are ${describePickleValue(call.args)}, not a tuple`);
    switch (callee) {
      case ORDERED_DICT: {
        if (call.listItems.length > 0) this.fail(`OrderedDict at ${at} has list items appended`);
        const initial = args.length === 0 ? [] : args.length === 1 && (args[0] instanceof PickleList || args[0] instanceof PickleTuple) ? args[0].items : this.fail(`OrderedDict at ${at} takes no or one list argument`);
        const pairs = initial.map((pair): [PickleValue, PickleValue] => {
          const items = pair instanceof PickleTuple || pair instanceof PickleList ? pair.items : [];
          return items.length === 2 ? [items[0], items[1]] : this.fail(`OrderedDict at ${at} is given ${describePickleValue(pair)} instead of a (key, value) pair`);
        });
        // NOTE: BUILD state on a state dict is its `_metadata` (module versions): not needed.
        return this.map([...pairs, ...call.dictItems], depth);
      }
      case REBUILD_TENSOR_V2:
      case REBUILD_TENSOR:
        return this.tensor(args, at);
      case REBUILD_PARAMETER:
      case REBUILD_PARAMETER_WITH_STATE: {
        const data = this.value(args[0] ?? null, depth);
        if (!(data instanceof TensorRecord)) this.fail(`_rebuild_parameter at ${at} is given ${describePickleValue(args[0])}, not a tensor`);
        return new TensorRecord(data.storage, data.offset, data.size, data.stride, args[1] === true);
      }
      default:
        return this.fail(`the pickle calls ${callee ? `'${callee}'` : 'a computed value'} (${at}), which is not a tensor or dict constructor`);
    }
  }

  private storage(value: PickleValue, at: string): StorageRef {
    if (!(value instanceof PicklePersistentId)) this.fail(`the tensor at ${at} has ${describePickleValue(value)} as its storage`);
    const pid = value.pid instanceof PickleTuple ? value.pid.items : [];
    const [kind, type, key, location, numel, view] = pid;
    if (kind !== 'storage' || (pid.length !== 5 && pid.length !== 6)) {
      this.fail(`persistent id at byte ${value.offset} is not ('storage', type, key, location, numel): got ${describePickleValue(value.pid)}${typeof kind === 'string' ? ` of kind '${kind}'` : ''}`);
    }
    const typeName = type instanceof PickleGlobal ? type.fullName : '';
    const dtype = TORCH_STORAGE_DTYPES[typeName];
    if (dtype === undefined) this.fail(`persistent id at byte ${value.offset} has storage type ${describePickleValue(type)}`);
    if (typeof key !== 'string' || key === '' || typeof location !== 'string' || !isCount(numel)) {
      this.fail(`persistent id at byte ${value.offset} has an invalid key, location or element count`);
    }
    let viewOffset = 0;
    if (view !== undefined && view !== null) {
      const items = view instanceof PickleTuple ? view.items : [];
      if (items.length !== 3 || !isCount(items[1]) || !isCount(items[2]) || items[1] + items[2] > numel) {
        this.fail(`persistent id at byte ${value.offset} has an invalid storage view ${describePickleValue(view)}`);
      }
      viewOffset = items[1] as number;
    }
    const seen = this.storages.get(key);
    if (seen !== undefined && (seen.dtype !== dtype || seen.numel !== numel)) {
      this.fail(`storage '${key}' is described twice, as ${seen.numel} ${seen.dtype} and as ${numel} ${dtype} elements`);
    }
    const ref = { key, dtype, numel, location, viewOffset };
    if (seen === undefined) this.storages.set(key, { ...ref, viewOffset: 0 });
    return ref;
  }

  private tensor(args: readonly PickleValue[], at: string): TensorRecord {
    if (args.length < 4) this.fail(`_rebuild_tensor at ${at} needs (storage, offset, size, stride), got ${args.length} arguments`);
    const storage = this.storage(args[0], at);
    const [, offset, sizeArg, strideArg, requiresGrad] = args;
    const ints = (v: PickleValue): number[] | undefined => (v instanceof PickleTuple && v.items.every(isCount) ? [...v.items as number[]] : undefined);
    const size = ints(sizeArg);
    const stride = ints(strideArg);
    if (!isCount(offset) || size === undefined || stride === undefined || size.length !== stride.length) {
      this.fail(`the tensor at ${at} has an invalid offset, size or stride (${describePickleValue(offset)}, ${describePickleValue(sizeArg)}, ${describePickleValue(strideArg)})`);
    }
    const start = storage.viewOffset + offset;
    checkInside(storage, start, size, stride, (message) => this.fail(`the tensor at ${at}: ${message}`));
    return new TensorRecord(storage, start, size, stride, requiresGrad === true);
  }
}

// NOTE: BigInt arithmetic, so sizes crafted to overflow doubles cannot pass the check.
function checkInside(storage: StorageRef, offset: number, size: number[], stride: number[], fail: (message: string) => never): void {
  const count = size.reduce((a, b) => a * BigInt(b), 1n);
  if (count > BigInt(Number.MAX_SAFE_INTEGER)) fail(`shape [${size.join(', ')}] has too many elements`);
  if (count === 0n) return;
  const last = size.reduce((sum, s, i) => sum + BigInt(s - 1) * BigInt(stride[i]), BigInt(offset));
  if (last >= BigInt(storage.numel)) {
    fail(`shape [${size.join(', ')}] with strides [${stride.join(', ')}] from element ${offset} reaches element ${last}, beyond storage '${storage.key}' of ${storage.numel} elements`);
  }
}
