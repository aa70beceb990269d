/** The Tensor class: a typed handle to a libtorch tensor, with chainable ops and autograd. */
import { callOp, native } from './native.js';
import { type AnyTypedArray, type DType, type TypedArrayFor, dtypeCode, dtypeFromCode, typedArrayOf } from './dtype.js';
import { type Trackable, track } from './scope.js';

/** Memory layouts of 4-D tensors: row-major NCHW, or NHWC (what oneDNN convolutions run fastest on). */
export type MemoryFormat = 'contiguous' | 'channels-last';

// NOTE: c10::MemoryFormat codes.
const MEMORY_FORMATS: Record<MemoryFormat, number> = { contiguous: 0, 'channels-last': 2 };

/** A tensor or a plain number (numbers broadcast as scalars). */
export type TensorLike = Tensor | number;

// NOTE: a backstop only. N-API finalizers run when the event loop turns, never inside a
// synchronous training loop, so Kestrel frees deterministically through tidy()/dispose().
const registry = new FinalizationRegistry<number>((handle) => {
  if (native.isLive(handle)) native.dispose(handle);
});

/** Wraps a native handle returned by an op. */
export function wrap(handle: unknown): Tensor {
  if (typeof handle !== 'number') throw new Error(`expected a tensor from the engine, got ${String(handle)}`);
  return new Tensor(handle);
}

/** Calls an ATen operator that returns one tensor. */
export function op(name: string, overload: string, args: unknown[]): Tensor {
  return wrap(callOp(name, overload, args));
}

/** Calls an ATen operator that returns several tensors. */
export function opMany(name: string, overload: string, args: unknown[]): Tensor[] {
  const out = callOp(name, overload, args);
  if (!Array.isArray(out)) throw new Error(`${name} returned no tuple`);
  return out.map(wrap);
}

/** Calls an ATen operator that returns nothing (in-place list operators such as `_foreach_mul_`). */
export function opInPlace(name: string, overload: string, args: unknown[]): void {
  callOp(name, overload, args);
}

/** A handle to a libtorch tensor. Free it with dispose() or create it inside tidy(). */
export class Tensor implements Trackable {
  #handle: number;
  #shape: number[] | undefined;
  #dtype: DType | undefined;

  /** Wraps an existing native handle (use the creation functions instead). */
  constructor(handle: number) {
    this.#handle = handle;
    track(this);
    registry.register(this, handle, this);
  }

  /** The native handle, for passing to the engine. */
  get handle(): number {
    if (this.#handle < 0) throw new Error('tensor used after dispose');
    return this.#handle;
  }

  /** Whether dispose() has run. */
  get isDisposed(): boolean {
    return this.#handle < 0;
  }

  /** Frees the native tensor now. */
  dispose(): void {
    if (this.#handle < 0) return;
    registry.unregister(this);
    native.dispose(this.#handle);
    this.#handle = -1;
  }

  /**
   * Moves the native handle out of this wrapper (which becomes disposed without freeing) so
   * another wrapper, such as a Parameter, can own it.
   */
  takeHandle(): number {
    const handle = this.handle;
    registry.unregister(this);
    this.#handle = -1;
    return handle;
  }

  private describe(): void {
    const [code, , , ...shape] = native.describe(this.handle);
    this.#dtype = dtypeFromCode(code);
    this.#shape = shape;
  }

  /** Sizes of each dimension. */
  get shape(): number[] {
    if (this.#shape === undefined) this.describe();
    return this.#shape!.slice();
  }

  /** Element type. */
  get dtype(): DType {
    if (this.#dtype === undefined) this.describe();
    return this.#dtype!;
  }

  /** Number of dimensions. */
  get rank(): number { return this.shape.length; }

  /** Number of elements. */
  get size(): number { return this.shape.reduce((a, b) => a * b, 1); }

  /** Device the data lives on (`cpu`, `cuda:0`). */
  get device(): string { return native.describe(this.handle)[1]; }

  /** Whether this is a leaf of the autograd graph (created by the user, not computed). */
  get isLeaf(): boolean { return callOp('aten::is_leaf', '', [this.handle]) === true; }

  /** Version counter: grows with every in-place change of the data (for caches of derived tensors). */
  get version(): number { return native.version(this.handle); }

  /** Whether this tensor was created in inference mode (see inferenceMode). */
  get isInference(): boolean { return callOp('aten::is_inference', '', [this.handle]) === true; }

  /** Whether the data is laid out densely in row-major (NCHW) order. */
  get isContiguous(): boolean {
    const shape = this.shape;
    const strides = this.strides;
    let expected = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (shape[d] !== 1 && strides[d] !== expected) return false;
      expected *= shape[d];
    }
    return true;
  }

  /** Elements to step in memory per index of each dimension. */
  get strides(): number[] { return this.shape.map((_, d) => callOp('aten::stride', 'int', [this.handle, d]) as number); }

  /** Whether autograd records operations on this tensor. */
  get requiresGrad(): boolean { return native.describe(this.handle)[2]; }

  /** Turns gradient recording on or off for this leaf tensor. */
  setRequiresGrad(value = true): this { native.setRequiresGrad(this.handle, value); return this; }

  /** The accumulated gradient (a new handle each call), or null. */
  get grad(): Tensor | null {
    const handle = native.grad(this.handle);
    return handle === null ? null : new Tensor(handle);
  }

  /** Replaces (or with null, clears) the accumulated gradient. */
  setGrad(grad: Tensor | null): void { native.setGrad(this.handle, grad === null ? null : grad.handle); }

  /** Back-propagates from this tensor (a scalar unless `grad` is given). */
  backward(grad?: Tensor, options: { retainGraph?: boolean } = {}): void {
    native.backward(this.handle, grad ? grad.handle : null, options.retainGraph ?? false);
  }

  /** Copies the data out as a flat typed array of this dtype. */
  toArray<D extends DType = DType>(): TypedArrayFor[D] {
    return typedArrayOf(this.dtype, native.toBuffer(this.handle)) as TypedArrayFor[D];
  }

  /** Copies the data out as plain numbers (nested arrays following the shape). */
  toList(): unknown {
    const flat: AnyTypedArray = this.toArray();
    const numbers = Array.from(flat as ArrayLike<number | bigint>, Number);
    const nest = (offset: number, dims: number[]): unknown => {
      if (dims.length === 0) return numbers[offset];
      const [first, ...rest] = dims;
      const stride = rest.reduce((a, b) => a * b, 1);
      return Array.from({ length: first }, (_, i) => nest(offset + i * stride, rest));
    };
    return nest(0, this.shape);
  }

  /** The value of a one-element tensor. */
  item(): number { return native.item(this.handle); }

  /** PyTorch-style description of dtype and shape. */
  toString(): string { return this.isDisposed ? 'Tensor(disposed)' : `Tensor(${this.dtype}, [${this.shape.join(', ')}])`; }

  // ---- elementwise and broadcasting --------------------------------------------------

  /** this + other (broadcasting). */
  add(other: TensorLike, alpha = 1): Tensor { return binary('aten::add', this, other, [alpha]); }
  /** this - other (broadcasting). */
  sub(other: TensorLike, alpha = 1): Tensor { return binary('aten::sub', this, other, [alpha]); }
  /** this * other (broadcasting). */
  mul(other: TensorLike): Tensor { return binary('aten::mul', this, other); }
  /** this / other (true division, broadcasting). */
  div(other: TensorLike): Tensor { return binary('aten::div', this, other); }
  /** Remainder of division, with the sign of the divisor (Python's %). */
  remainder(other: TensorLike): Tensor { return binary('aten::remainder', this, other); }
  /** this ** exponent. */
  pow(exponent: TensorLike): Tensor {
    return typeof exponent === 'number' ? op('aten::pow', 'Tensor_Scalar', [this.handle, exponent]) : op('aten::pow', 'Tensor_Tensor', [this.handle, exponent.handle]);
  }
  /** Elementwise maximum with another tensor. */
  maximum(other: Tensor): Tensor { return op('aten::maximum', '', [this.handle, other.handle]); }
  /** Elementwise minimum with another tensor. */
  minimum(other: Tensor): Tensor { return op('aten::minimum', '', [this.handle, other.handle]); }
  /** -this. */
  neg(): Tensor { return op('aten::neg', '', [this.handle]); }
  /** e ** this. */
  exp(): Tensor { return op('aten::exp', '', [this.handle]); }
  /** Natural logarithm. */
  log(): Tensor { return op('aten::log', '', [this.handle]); }
  /** Square root. */
  sqrt(): Tensor { return op('aten::sqrt', '', [this.handle]); }
  /** Absolute value. */
  abs(): Tensor { return op('aten::abs', '', [this.handle]); }
  /** Elementwise square. */
  square(): Tensor { return op('aten::square', '', [this.handle]); }
  /** max(this, 0). */
  relu(): Tensor { return op('aten::relu', '', [this.handle]); }
  /** Logistic sigmoid. */
  sigmoid(): Tensor { return op('aten::sigmoid', '', [this.handle]); }
  /** Hyperbolic tangent. */
  tanh(): Tensor { return op('aten::tanh', '', [this.handle]); }
  /** Clamps values into [min, max]; either bound may be null. */
  clamp(min: number | null, max: number | null = null): Tensor { return op('aten::clamp', '', [this.handle, min, max]); }
  /** Elementwise test for NaN. */
  isNaN(): Tensor { return op('aten::isnan', '', [this.handle]); }
  /** Elementwise test for finite values. */
  isFinite(): Tensor { return op('aten::isfinite', '', [this.handle]); }

  // ---- comparisons (bool results) ----------------------------------------------------

  /** this == other. */
  eq(other: TensorLike): Tensor { return binary('aten::eq', this, other); }
  /** this != other. */
  ne(other: TensorLike): Tensor { return binary('aten::ne', this, other); }
  /** this < other. */
  lt(other: TensorLike): Tensor { return binary('aten::lt', this, other); }
  /** this <= other. */
  le(other: TensorLike): Tensor { return binary('aten::le', this, other); }
  /** this > other. */
  gt(other: TensorLike): Tensor { return binary('aten::gt', this, other); }
  /** this >= other. */
  ge(other: TensorLike): Tensor { return binary('aten::ge', this, other); }

  // ---- linear algebra ----------------------------------------------------------------

  /** Matrix product (batched and broadcasting like torch.matmul). */
  matmul(other: Tensor): Tensor { return op('aten::matmul', '', [this.handle, other.handle]); }
  /** Transpose of a 2-D tensor. */
  t(): Tensor { return op('aten::t', '', [this.handle]); }

  // ---- reductions --------------------------------------------------------------------

  /** Sum over all elements, or over `dim`. */
  sum(dim?: number | number[], keepDim = false): Tensor {
    return dim === undefined ? op('aten::sum', '', [this.handle]) : op('aten::sum', 'dim_IntList', [this.handle, dims(dim), keepDim]);
  }
  /** Mean over all elements, or over `dim`. */
  mean(dim?: number | number[], keepDim = false): Tensor {
    return dim === undefined ? op('aten::mean', '', [this.handle]) : op('aten::mean', 'dim', [this.handle, dims(dim), keepDim]);
  }
  /** Variance (unbiased by default) over all elements or `dim`. */
  var(dim?: number | number[], options: { unbiased?: boolean; keepDim?: boolean } = {}): Tensor {
    return op('aten::var', 'correction', [this.handle, dim === undefined ? null : dims(dim), options.unbiased === false ? 0 : 1, options.keepDim ?? false]);
  }
  /** Standard deviation (unbiased by default) over all elements or `dim`. */
  std(dim?: number | number[], options: { unbiased?: boolean; keepDim?: boolean } = {}): Tensor {
    return op('aten::std', 'correction', [this.handle, dim === undefined ? null : dims(dim), options.unbiased === false ? 0 : 1, options.keepDim ?? false]);
  }
  /** Largest element overall. */
  max(): Tensor { return op('aten::max', '', [this.handle]); }
  /** Smallest element overall. */
  min(): Tensor { return op('aten::min', '', [this.handle]); }
  /** Largest values and their indices along `dim`. */
  maxAlong(dim: number, keepDim = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = opMany('aten::max', 'dim', [this.handle, dim, keepDim]);
    return { values, indices };
  }
  /** Index of the largest value (overall, or along `dim`). */
  argmax(dim?: number, keepDim = false): Tensor { return op('aten::argmax', '', [this.handle, dim ?? null, keepDim]); }
  /** Index of the smallest value (overall, or along `dim`). */
  argmin(dim?: number, keepDim = false): Tensor { return op('aten::argmin', '', [this.handle, dim ?? null, keepDim]); }
  /** k largest values and their indices along `dim` (default last). */
  topk(k: number, dim = -1): { values: Tensor; indices: Tensor } {
    const [values, indices] = opMany('aten::topk', '', [this.handle, k, dim, true, true]);
    return { values, indices };
  }

  // ---- shape -------------------------------------------------------------------------

  /** Same data, new shape (-1 infers one dimension); copies only when needed. */
  reshape(...shape: number[] | [number[]]): Tensor { return op('aten::reshape', '', [this.handle, flatShape(shape)]); }
  /** View with a new shape (data must be contiguous). */
  view(...shape: number[] | [number[]]): Tensor { return op('aten::view', '', [this.handle, flatShape(shape)]); }
  /** Flattens dims startDim..endDim into one. */
  flatten(startDim = 0, endDim = -1): Tensor { return op('aten::flatten', 'using_ints', [this.handle, startDim, endDim]); }
  /** Reorders dimensions. */
  permute(...order: number[] | [number[]]): Tensor { return op('aten::permute', '', [this.handle, flatShape(order)]); }
  /** Swaps two dimensions. */
  transpose(dim0: number, dim1: number): Tensor { return op('aten::transpose', 'int', [this.handle, dim0, dim1]); }
  /** Removes a size-1 dimension (or all of them). */
  squeeze(dim?: number): Tensor { return dim === undefined ? op('aten::squeeze', '', [this.handle]) : op('aten::squeeze', 'dim', [this.handle, dim]); }
  /** Inserts a size-1 dimension. */
  unsqueeze(dim: number): Tensor { return op('aten::unsqueeze', '', [this.handle, dim]); }
  /** Broadcasts to a larger shape without copying. */
  expand(...shape: number[] | [number[]]): Tensor { return op('aten::expand', '', [this.handle, flatShape(shape)]); }
  /** Repeats the data along each dimension. */
  repeat(...times: number[] | [number[]]): Tensor { return op('aten::repeat', '', [this.handle, flatShape(times)]); }
  /** A dense copy in row-major order, or with 'channels-last' in NHWC order (same shape), if needed. */
  contiguous(memoryFormat: MemoryFormat = 'contiguous'): Tensor {
    const code = MEMORY_FORMATS[memoryFormat];
    if (code === undefined) throw new Error(`contiguous: memory format must be 'contiguous' or 'channels-last', got '${String(memoryFormat)}'`);
    return op('aten::contiguous', '', [this.handle, code]);
  }
  /** Whether a 4-D tensor is laid out densely in NHWC order (torch.channels_last). */
  get isChannelsLast(): boolean {
    const shape = this.shape;
    if (shape.length !== 4) return false;
    const strides = this.strides;
    let expected = 1;
    // NOTE: c10's channels-last check: dims in C, W, H, N order, size-1 dims ignored.
    for (const d of [1, 3, 2, 0]) {
      if (shape[d] === 1) continue;
      if (strides[d] !== expected) return false;
      expected *= shape[d];
    }
    return true;
  }

  // ---- indexing ----------------------------------------------------------------------

  /** Elements start..end (exclusive, negatives count from the end) along `dim`. */
  slice(dim: number, start: number | null = null, end: number | null = null, step = 1): Tensor {
    return op('aten::slice', 'Tensor', [this.handle, dim, start, end, step]);
  }
  /** The sub-tensor at `index` along `dim` (that dim removed). */
  select(dim: number, index: number): Tensor { return op('aten::select', 'int', [this.handle, dim, index]); }
  /** The sub-tensor at `index` of the first dimension. */
  at(index: number): Tensor { return this.select(0, index); }
  /** Rows (along `dim`) picked by an int64 index tensor. */
  indexSelect(dim: number, index: Tensor): Tensor { return op('aten::index_select', '', [this.handle, dim, index.handle]); }
  /** Values gathered along `dim` at int64 `index` (torch.gather). */
  gather(dim: number, index: Tensor): Tensor { return op('aten::gather', '', [this.handle, dim, index.handle, false]); }
  /** Elements where a bool mask is true, flattened. */
  maskedSelect(mask: Tensor): Tensor { return op('aten::masked_select', '', [this.handle, mask.handle]); }
  /** Advanced indexing by a list of index tensors (null = take the whole dim). */
  index(indices: (Tensor | null)[]): Tensor { return op('aten::index', 'Tensor', [this.handle, indices.map((t) => (t ? t.handle : null))]); }

  // ---- conversion --------------------------------------------------------------------

  /** Converts to another dtype (no copy when it already is). */
  to(dtype: DType): Tensor { return op('aten::to', 'dtype', [this.handle, dtypeCode(dtype), false, false, null]); }
  /** Moves to a device (`cpu`, `cuda`, `cuda:1`). */
  toDevice(device: string): Tensor { return op('aten::to', 'device', [this.handle, device, dtypeCode(this.dtype), false, false, null]); }
  /** As float32. */
  float(): Tensor { return this.to('float32'); }
  /** As int64. */
  long(): Tensor { return this.to('int64'); }
  /** A copy with its own storage (gradient flows through it). */
  clone(): Tensor { return op('aten::clone', '', [this.handle, null]); }
  /** Same data, cut from the autograd graph. */
  detach(): Tensor { return op('aten::detach', '', [this.handle]); }

  // ---- softmax family ------------------------------------------------------------------

  /** Softmax along `dim`. */
  softmax(dim: number): Tensor { return op('aten::softmax', 'int', [this.handle, dim, null]); }
  /** Log-softmax along `dim`. */
  logSoftmax(dim: number): Tensor { return op('aten::log_softmax', 'int', [this.handle, dim, null]); }

  // ---- in place (for optimizers and initialisers; run under noGrad) ------------------

  /** this += alpha * other, in place. */
  add_(other: TensorLike, alpha = 1): this {
    return typeof other === 'number' ? inPlaceOp(this, 'aten::add_', 'Scalar', [this.handle, other, alpha]) : inPlaceOp(this, 'aten::add_', 'Tensor', [this.handle, other.handle, alpha]);
  }
  /** this *= other, in place. */
  mul_(other: TensorLike): this {
    return typeof other === 'number' ? inPlaceOp(this, 'aten::mul_', 'Scalar', [this.handle, other]) : inPlaceOp(this, 'aten::mul_', 'Tensor', [this.handle, other.handle]);
  }
  /** this += value * t1 * t2, in place. */
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this { return inPlaceOp(this, 'aten::addcmul_', '', [this.handle, t1.handle, t2.handle, value]); }
  /** this += value * t1 / t2, in place. */
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this { return inPlaceOp(this, 'aten::addcdiv_', '', [this.handle, t1.handle, t2.handle, value]); }
  /** this += weight * (end - this), in place. */
  lerp_(end: Tensor, weight: number): this { return inPlaceOp(this, 'aten::lerp_', 'Scalar', [this.handle, end.handle, weight]); }
  /** Copies values from `source` (broadcasting), in place. */
  copy_(source: Tensor): this { return inPlaceOp(this, 'aten::copy_', '', [this.handle, source.handle, false]); }
  /** Sets every element to zero, in place. */
  zero_(): this { return inPlaceOp(this, 'aten::zero_', '', [this.handle]); }
  /** Sets every element to `value`, in place. */
  fill_(value: number): this { return inPlaceOp(this, 'aten::fill_', 'Scalar', [this.handle, value]); }
  /** Fills with U(low, high) from the global generator, in place. */
  uniform_(low = 0, high = 1): this { return inPlaceOp(this, 'aten::uniform_', '', [this.handle, low, high, null]); }
  /** Fills with N(mean, std) from the global generator, in place. */
  normal_(mean = 0, std = 1): this { return inPlaceOp(this, 'aten::normal_', '', [this.handle, mean, std, null]); }
  /** Clamps in place. */
  clamp_(min: number | null, max: number | null = null): this { return inPlaceOp(this, 'aten::clamp_', '', [this.handle, min, max]); }
}

// NOTE: in-place ops return a second handle to `self`; free it at once without wrapping it.
function inPlaceOp<T extends Tensor>(self: T, name: string, overload: string, args: unknown[]): T {
  native.dispose(callOp(name, overload, args) as number);
  return self;
}

function binary(name: string, self: Tensor, other: TensorLike, extra: unknown[] = []): Tensor {
  if (typeof other === 'number') return op(name, 'Scalar', [self.handle, other, ...extra]);
  return op(name, 'Tensor', [self.handle, other.handle, ...extra]);
}

function dims(dim: number | number[]): number[] {
  return Array.isArray(dim) ? dim : [dim];
}

function flatShape(shape: number[] | [number[]]): number[] {
  return shape.length === 1 && Array.isArray(shape[0]) ? (shape[0] as number[]) : (shape as number[]);
}
