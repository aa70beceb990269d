/** Symbolic tensors and graph nodes: what a graph model is built from (shapes and calls, no data). */
import type { DType } from '../../tensor/index.js';
import type { Module } from '../module.js';

/** A shape with `null` where the size is not fixed (the batch dimension). */
export type SymbolicShape = (number | null)[];

let nextNodeId = 0;

/**
 * One call of a module on symbolic inputs (a vertex of the graph). A layer called twice has two
 * nodes, so sharing a layer makes no cycle.
 */
export class GraphNode {
  /** Creation order: a node is always created after the nodes it reads, so sorting by id is topological. */
  readonly id = nextNodeId++;
  /** The symbolic outputs of this call (one today: Module.forward returns one tensor). */
  readonly outputs: SymbolicTensor[] = [];

  /** Records `module` called on `inputs`; `callIndex` counts this module's earlier calls. */
  constructor(readonly module: Module, readonly inputs: readonly SymbolicTensor[], readonly callIndex: number) {}
}

/** Where a symbolic tensor comes from: output `index` of a node. */
export interface Producer {
  readonly node: GraphNode;
  readonly index: number;
}

/**
 * A placeholder for a batch of tensors while a graph is built: shape (batch dim `null`), dtype,
 * and the call that produces it (null for model inputs made by input()).
 */
export class SymbolicTensor {
  /** Name of an input (given to input() or by the GraphModel that first uses it). */
  _name: string | undefined;
  readonly shape: readonly (number | null)[];

  /** Use input() or Module.apply() rather than this constructor. */
  constructor(shape: SymbolicShape, readonly dtype: DType, readonly producer: Producer | null, name?: string) {
    this.shape = Object.freeze(shape.slice());
    this._name = name;
  }

  /** Number of dimensions. */
  get rank(): number { return this.shape.length; }

  /**
   * A name unique within a model: the input's name, or the producing layer's name (with `_k` for
   * its k-th later call, `:i` for output i > 0).
   */
  get name(): string {
    if (!this.producer) return this._name ?? 'input';
    const { node, index } = this.producer;
    const layer = node.module.name ?? snakeCase(node.module.constructor.name);
    return `${layer}${node.callIndex > 0 ? `_${node.callIndex}` : ''}${index > 0 ? `:${index}` : ''}`;
  }

  /** e.g. `SymbolicTensor(conv2d, [null, 32, 30, 30], float32)`. */
  toString(): string {
    return `SymbolicTensor(${this.name}, ${formatShape(this.shape)}, ${this.dtype})`;
  }
}

/** Options of input(). */
export interface InputOptions {
  /** Input name (default: `input`, `input_1`, ... given by the model). */
  name?: string;
  /** Element type (default float32). */
  dtype?: DType;
}

/**
 * A model input of `shape` per sample (without the batch dim, e.g. [3, 32, 32]); Keras's `Input`.
 * `null` leaves a size free, e.g. [3, null, null] for images of any size (progressive resizing).
 */
export function input(shape: (number | null)[], options: InputOptions = {}): SymbolicTensor {
  if (!Array.isArray(shape) || shape.some((d) => d !== null && (!Number.isInteger(d) || d <= 0))) {
    throw new Error(`input: shape must list positive integer sizes (or null for free ones) without the batch dimension (e.g. [3, 32, 32]), got ${JSON.stringify(shape)}`);
  }
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '' || options.name.includes('.'))) {
    throw new Error(`input: a name must be a non-empty string without '.', got ${JSON.stringify(options.name)}`);
  }
  return new SymbolicTensor([null, ...shape], options.dtype ?? 'float32', null, options.name);
}

/** `[None, 3, 32, 32]`-style text of a shape (Keras prints the batch dim as None). */
export function formatShape(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? 'None' : String(d))).join(', ')}]`;
}

/** Keras's layer-name rule: `Conv2d` -> `conv2d`, `BatchNorm2d` -> `batch_norm2d`, `ReLU6` -> `relu6`. */
export function snakeCase(className: string): string {
  // NOTE: only a capital followed by lowercase starts a new word, so acronyms stay whole (ReLU -> relu, not re_lu).
  return className.replace(/(?<=.)(?=[A-Z][a-z])/g, '_').toLowerCase();
}

/** How errors name a layer: `'conv1' (Conv2d(3 -> 8, kernel=3x3))`, or just the module when unnamed. */
export function describeLayer(module: Module): string {
  const text = `${module.constructor.name}(${module.extraRepr()})`;
  return module.name ? `'${module.name}' (${text})` : text;
}

/** How errors name where a symbolic tensor came from: `input 'img'` or `layer 'conv1' (Conv2d(...))`. */
export function describeSource(t: SymbolicTensor): string {
  return t.producer ? `layer ${describeLayer(t.producer.node.module)}` : `input '${t.name}'`;
}
