/** Merge layers for graph models: Add, Multiply, Concatenate, and the add/multiply/concatenate helpers. */
import { type Tensor, cat } from '../tensor/index.js';
import { Module } from './module.js';
import type { SymbolicTensor } from './graph/symbolic.js';

const shapes = (xs: Tensor[]) => xs.map((t) => `[${t.shape.join(', ')}]`).join(', ');

/** Applies `fn` pairwise left to right, freeing the partial results. */
function fold(layer: string, xs: Tensor[], fn: (a: Tensor, b: Tensor) => Tensor): Tensor {
  if (xs.length < 2) throw new Error(`${layer} takes at least 2 inputs, got ${xs.length}`);
  let out = xs[0];
  try {
    for (const x of xs.slice(1)) {
      const next = fn(out, x);
      if (out !== xs[0]) out.dispose();
      out = next;
    }
  } catch (error) {
    if (out !== xs[0]) out.dispose();
    // NOTE: libtorch's broadcast message names tensors a and b; say which shapes they were.
    throw new Error(`${layer} cannot combine inputs of shapes ${shapes(xs)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return out;
}

/** Sum of its inputs (broadcasting like PyTorch): the skip connection of residual blocks. */
export class Add extends Module {
  override forward(x: Tensor, ...rest: Tensor[]): Tensor { return fold('Add', [x, ...rest], (a, b) => a.add(b)); }
}

/** Elementwise product of its inputs (broadcasting): gates, squeeze-and-excitation. */
export class Multiply extends Module {
  override forward(x: Tensor, ...rest: Tensor[]): Tensor { return fold('Multiply', [x, ...rest], (a, b) => a.mul(b)); }
}

/** Options of Concatenate. */
export interface ConcatenateOptions {
  /** Dimension to join along (default 1: channels of NCHW, features of [N, F]). */
  dim?: number;
}

/** Joins its inputs along one dimension (default the channels). */
export class Concatenate extends Module {
  readonly dim: number;
  /** Joins along `dim` (default 1). */
  constructor(options: ConcatenateOptions = {}) {
    super();
    this.dim = options.dim ?? 1;
    if (!Number.isInteger(this.dim)) throw new Error(`Concatenate: dim must be an integer, got ${this.dim}`);
  }
  override forward(x: Tensor, ...rest: Tensor[]): Tensor {
    const xs = [x, ...rest];
    if (xs.length < 2) throw new Error(`Concatenate takes at least 2 inputs, got ${xs.length}`);
    try {
      return cat(xs, this.dim);
    } catch (error) {
      throw new Error(`Concatenate(dim=${this.dim}) cannot join inputs of shapes ${shapes(xs)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  override extraRepr(): string { return `dim=${this.dim}`; }
}

type Inputs<T> = [T[]] | T[];
const flat = <T>(xs: Inputs<T>): T[] => (xs.length === 1 && Array.isArray(xs[0]) ? (xs[0] as T[]) : (xs as T[]));

/** a + b + ... as a graph call (symbolic inputs) or at once (tensors); `add(a, b)` or `add([a, b])`. */
export function add(...xs: Inputs<SymbolicTensor>): SymbolicTensor;
export function add(...xs: Inputs<Tensor>): Tensor;
export function add(...xs: Inputs<Tensor | SymbolicTensor>): Tensor | SymbolicTensor {
  return new Add().apply(flat(xs) as Tensor[]);
}

/** a * b * ... as a graph call (symbolic inputs) or at once (tensors). */
export function multiply(...xs: Inputs<SymbolicTensor>): SymbolicTensor;
export function multiply(...xs: Inputs<Tensor>): Tensor;
export function multiply(...xs: Inputs<Tensor | SymbolicTensor>): Tensor | SymbolicTensor {
  return new Multiply().apply(flat(xs) as Tensor[]);
}

/** Joins tensors along `dim` (default 1) as a graph call (symbolic inputs) or at once (tensors). */
export function concatenate(xs: SymbolicTensor[], options?: ConcatenateOptions): SymbolicTensor;
export function concatenate(xs: Tensor[], options?: ConcatenateOptions): Tensor;
export function concatenate(xs: (Tensor | SymbolicTensor)[], options: ConcatenateOptions = {}): Tensor | SymbolicTensor {
  return new Concatenate(options).apply(xs as Tensor[]);
}
