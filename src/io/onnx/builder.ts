/**
 * Building an ONNX graph in memory: nodes with typed attributes, float32 initializers, unique value names.
 * Plain data here; onnx-proto encodes it (encode.ts).
 */
import type { SymbolicShape } from '../../nn/index.js';

/** A value flowing between ONNX nodes: its name and shape (null: the dynamic batch dimension). */
export interface OnnxValue {
  name: string;
  shape: SymbolicShape;
}

/** A typed attribute (JS numbers cannot tell int from float, so every attribute says which it is). */
export type OnnxAttribute =
  | { type: 'int'; value: number }
  | { type: 'ints'; value: number[] }
  | { type: 'float'; value: number }
  | { type: 'floats'; value: number[] }
  | { type: 'string'; value: string };

/** Constructors of typed attributes. */
export const attr = {
  /** An integer attribute. */
  int: (value: number): OnnxAttribute => ({ type: 'int', value }),
  /** A list of integers. */
  ints: (value: number[]): OnnxAttribute => ({ type: 'ints', value }),
  /** A float attribute. */
  float: (value: number): OnnxAttribute => ({ type: 'float', value }),
  /** A list of floats. */
  floats: (value: number[]): OnnxAttribute => ({ type: 'floats', value }),
  /** A string attribute. */
  string: (value: string): OnnxAttribute => ({ type: 'string', value }),
};

/** One ONNX node. */
export interface OnnxNode {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, OnnxAttribute>;
}

/** A constant tensor of the graph (weights, shapes). */
export interface OnnxInitializer {
  name: string;
  dims: number[];
  /** float32 data, or int64 data as bigint. */
  data: Float32Array | BigInt64Array;
}

/** Collects the nodes and initializers of one graph. */
export class OnnxGraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers = new Map<string, OnnxInitializer>();
  /** Initializer names of tensors already exported (shared layers export their weights once). */
  readonly tensorNames = new WeakMap<object, string>();
  private readonly used = new Set<string>();

  /** A name not used yet, derived from `base` (layer names become value and node names). */
  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_.:/-]/g, '_') || 'value';
    let name = clean;
    for (let i = 1; this.used.has(name); i++) name = `${clean}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Reserves `name` exactly (graph inputs and outputs); a clash is an error. */
  reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`ONNX export: the name '${name}' is used twice`);
    this.used.add(name);
    return name;
  }

  /** Adds a float32 (or int64) initializer and returns its name. */
  constant(base: string, dims: number[], data: Float32Array | BigInt64Array): string {
    const name = this.unique(base);
    this.initializers.set(name, { name, dims: dims.slice(), data });
    return name;
  }

  /** An int64 constant (shapes, pads, axes). */
  int64s(base: string, values: number[]): string {
    return this.constant(base, [values.length], BigInt64Array.from(values, (v) => BigInt(v)));
  }

  /** Adds a node named after `base` and returns its output names. */
  op(opType: string, inputs: string[], attributes: Record<string, OnnxAttribute> = {}, base = opType, outputs = 1): string[] {
    const name = this.unique(base);
    const outNames = Array.from({ length: outputs }, (_, i) => (outputs === 1 ? this.unique(`${base}:out`) : this.unique(`${base}:out${i}`)));
    this.nodes.push({ opType, name, inputs, outputs: outNames, attributes });
    return outNames;
  }
}
