/** Creating tensors: from data, constants, ranges and random draws. */
import { native } from './native.js';
import { type DType, dtypeCode, dtypeOfTypedArray } from './dtype.js';
import { Tensor, op } from './tensor.js';

/** Options shared by creation functions. */
export interface CreateOptions {
  /** Element type (default float32). */
  dtype?: DType;
  /** Device (default cpu). */
  device?: string;
  /** Make it a leaf that records gradients. */
  requiresGrad?: boolean;
}

type Nested = number | boolean | Nested[];

function finish(tensor: Tensor, options: CreateOptions): Tensor {
  let result = tensor;
  if (options.device && options.device !== 'cpu') {
    try {
      result = tensor.toDevice(options.device);
    } finally {
      tensor.dispose(); // NOTE: also when the device is unavailable, so a failed call leaks nothing.
    }
  }
  return withGrad(result, options);
}

function flatten(data: Nested, shape: number[], out: number[], depth = 0): void {
  if (Array.isArray(data)) {
    if (shape.length === depth) {
      // NOTE: the first leaf fixes the shape; a deeper array after it (as in [1, [2]]) is ragged.
      if (out.length > 0) throw new Error(`ragged nested array: an array at depth ${depth} where a number was expected`);
      shape.push(data.length);
    }
    else if (shape[depth] !== data.length) throw new Error(`ragged nested array: expected length ${shape[depth]} at depth ${depth}, got ${data.length}`);
    for (const item of data) flatten(item, shape, out, depth + 1);
  } else {
    if (depth !== shape.length) throw new Error('ragged nested array: a number where an array was expected');
    out.push(Number(data));
  }
}

function firstLeaf(data: Nested): Nested | undefined {
  let value: Nested | undefined = data;
  while (Array.isArray(value)) value = value[0];
  return value;
}

function typedArrayFor(dtype: DType, source: ArrayLike<number | bigint>): ArrayBufferView {
  // NOTE: BigInt64Array sources (int64 data converted to another dtype) need Number() first.
  const values: ArrayLike<number> = source instanceof BigInt64Array ? Array.from(source, Number) : (source as ArrayLike<number>);
  switch (dtype) {
    case 'float32': return Float32Array.from(values);
    case 'float64': return Float64Array.from(values);
    case 'int64': return BigInt64Array.from(Array.from(values, (v) => BigInt(Math.trunc(v))));
    case 'int32': return Int32Array.from(values);
    case 'int16': return Int16Array.from(values);
    case 'int8': return Int8Array.from(values);
    case 'uint8': return Uint8Array.from(values);
    case 'bool': {
      // NOTE: a plain loop: Uint8Array.from with a map function costs ~100 ns an element (25 ms for a
      // 256x28x28 mask, which made random erasing the slowest step of the recipe's data path).
      const out = new Uint8Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = values[i] ? 1 : 0;
      return out;
    }
    default: throw new Error(`cannot create a ${dtype} tensor from numbers`);
  }
}

/**
 * A tensor from nested arrays or a typed array (with `shape`). Typed arrays keep their dtype
 * unless `dtype` says otherwise; nested numbers default to float32, nested booleans to bool.
 */
export function tensor(data: Nested | ArrayBufferView, shapeOrOptions?: number[] | CreateOptions, maybeOptions: CreateOptions = {}): Tensor {
  const options = Array.isArray(shapeOrOptions) ? maybeOptions : (shapeOrOptions ?? {});
  if (ArrayBuffer.isView(data)) {
    const shape = Array.isArray(shapeOrOptions) ? shapeOrOptions : [(data as unknown as ArrayLike<number>).length];
    const own = dtypeOfTypedArray(data);
    const dtype = options.dtype ?? own;
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== (data as unknown as ArrayLike<number>).length) {
      throw new Error(`shape [${shape.join(', ')}] needs ${count} values but the array has ${(data as unknown as ArrayLike<number>).length}`);
    }
    // NOTE: bool data (a Uint8Array) always goes through typedArrayFor, so bytes other than 0/1
    // become 1; a raw 2 would be a corrupt bool that compares unequal to true.
    const source = dtype === own ? data : typedArrayFor(dtype, data as unknown as ArrayLike<number>);
    return finish(new Tensor(native.fromBuffer(source, shape, dtypeCode(dtype))), options);
  }
  const shape: number[] = [];
  const values: number[] = [];
  flatten(data, shape, values);
  const dtype = options.dtype ?? (typeof firstLeaf(data) === 'boolean' ? 'bool' : 'float32');
  return finish(new Tensor(native.fromBuffer(typedArrayFor(dtype, values), shape, dtypeCode(dtype))), options);
}

/** A scalar (0-d) tensor. */
export function scalar(value: number, options: CreateOptions = {}): Tensor {
  return finish(new Tensor(native.fromBuffer(typedArrayFor(options.dtype ?? 'float32', [value]), [], dtypeCode(options.dtype ?? 'float32'))), options);
}

function withGrad(t: Tensor, options: CreateOptions): Tensor {
  if (!options.requiresGrad) return t;
  try {
    return t.setRequiresGrad(true);
  } catch (error) {
    t.dispose(); // NOTE: e.g. an int64 tensor cannot require gradients; free it before rethrowing.
    throw error;
  }
}

function filled(name: string, shape: number[], options: CreateOptions, extra: unknown[] = []): Tensor {
  const dtype = dtypeCode(options.dtype ?? 'float32');
  return withGrad(op(name, '', [shape, ...extra, dtype, null, options.device ?? null, null]), options);
}

/** Zeros of a shape. */
export function zeros(shape: number[], options: CreateOptions = {}): Tensor { return filled('aten::zeros', shape, options); }
/** Ones of a shape. */
export function ones(shape: number[], options: CreateOptions = {}): Tensor { return filled('aten::ones', shape, options); }
/** A constant of a shape. */
export function full(shape: number[], value: number, options: CreateOptions = {}): Tensor { return filled('aten::full', shape, options, [value]); }
/** Uninitialised memory of a shape (fast; fill it before reading). */
export function empty(shape: number[], options: CreateOptions = {}): Tensor {
  return withGrad(op('aten::empty', 'memory_format', [shape, dtypeCode(options.dtype ?? 'float32'), null, options.device ?? null, null, null]), options);
}
/** Uniform samples in [0, 1) from the global (seeded) generator. */
export function rand(shape: number[], options: CreateOptions = {}): Tensor { return filled('aten::rand', shape, options); }
/** Standard normal samples from the global (seeded) generator. */
export function randn(shape: number[], options: CreateOptions = {}): Tensor { return filled('aten::randn', shape, options); }
/** Random integers in [low, high). */
export function randint(low: number, high: number, shape: number[], options: CreateOptions = {}): Tensor {
  return op('aten::randint', 'low', [low, high, shape, dtypeCode(options.dtype ?? 'int64'), null, options.device ?? null, null]);
}
/** A random permutation of 0..n-1 (int64). */
export function randperm(n: number): Tensor {
  return op('aten::randperm', '', [n, dtypeCode('int64'), null, null, null]);
}
/** Values start, start+step, ... below end (int64 when all arguments are integers). */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  const [from, to] = end === undefined ? [0, start] : [start, end];
  const integral = Number.isInteger(from) && Number.isInteger(to) && Number.isInteger(step);
  const dtype = dtypeCode(options.dtype ?? (integral ? 'int64' : 'float32'));
  return withGrad(op('aten::arange', 'start_step', [from, to, step, dtype, null, options.device ?? null, null]), options);
}
/** n evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, options: CreateOptions = {}): Tensor {
  return withGrad(op('aten::linspace', '', [start, end, steps, dtypeCode(options.dtype ?? 'float32'), null, options.device ?? null, null]), options);
}
/** Identity matrix. */
export function eye(n: number, options: CreateOptions = {}): Tensor {
  return withGrad(op('aten::eye', '', [n, dtypeCode(options.dtype ?? 'float32'), null, options.device ?? null, null]), options);
}
/** Zeros shaped like another tensor. */
export function zerosLike(t: Tensor): Tensor { return op('aten::zeros_like', '', [t.handle, null, null, null, null, null]); }
/** Ones shaped like another tensor. */
export function onesLike(t: Tensor): Tensor { return op('aten::ones_like', '', [t.handle, null, null, null, null, null]); }
