/** Module: the base of layers and models; parameters are found by walking fields. */
import { Tensor, keep, noGrad, tidy } from '../tensor/index.js';
import { type Summary, summarize } from './summary.js';
import { applyModule } from './graph/call.js';
import type { SymbolicTensor } from './graph/symbolic.js';

/** A trainable tensor owned by a module (survives every scope; records gradients). */
export class Parameter extends Tensor {
  /** Takes over `value`'s native handle (value becomes disposed) and turns on gradients. */
  constructor(value: Tensor, requiresGrad = true) {
    super(value.takeHandle());
    keep(this);
    this.setRequiresGrad(requiresGrad);
  }
}

/** A non-trainable tensor saved with the model (e.g. batch-norm running statistics). */
export class Buffer extends Tensor {
  /** Takes over `value`'s native handle (value becomes disposed). */
  constructor(value: Tensor) {
    super(value.takeHandle());
    keep(this);
  }
}

const SKIPPED_FIELDS = new Set(['training']);

// NOTE: whole dotted components only, so `conv2d` does not reach `conv2d_1.weight` nor `1` reach `10.weight`.
function underPrefix(name: string, prefixes: string[]): boolean {
  return prefixes.length === 0 || prefixes.some((x) => name === x || name.startsWith(x.endsWith('.') ? x : `${x}.`));
}

/**
 * Base class of layers and models. Sizes go in the constructor, options in one object;
 * parameters, buffers and children are discovered from fields (arrays of modules too), and
 * named like PyTorch's state dicts (`features.0.weight`).
 */
export abstract class Module {
  /** Training mode (dropout active, batch norm updating statistics). */
  training = true;

  /** Layer name in graph models (see named()); `_` keeps it out of the field walk. */
  _name: string | undefined = undefined;

  /** Computes the output for an input batch (merge layers such as Add take several inputs). */
  abstract forward(x: Tensor, ...rest: Tensor[]): Tensor;

  /**
   * Calls the layer: on Tensors it is forward(); on SymbolicTensors (from nn.input()) it records
   * a call in a graph and returns a SymbolicTensor of the inferred output shape.
   */
  apply(x: Tensor | Tensor[], ...rest: Tensor[]): Tensor;
  apply(x: SymbolicTensor | SymbolicTensor[], ...rest: SymbolicTensor[]): SymbolicTensor;
  apply(x: Tensor | SymbolicTensor | (Tensor | SymbolicTensor)[], ...rest: (Tensor | SymbolicTensor)[]): Tensor | SymbolicTensor {
    return applyModule(this, Array.isArray(x) ? [...x, ...rest] : [x, ...rest]);
  }

  /** Sets this layer's name in graph models (state-dict keys `<name>.<param>`); returns this. */
  named(name: string): this {
    if (typeof name !== 'string' || name === '' || name.includes('.')) {
      throw new Error(`${this.constructor.name}: a layer name must be a non-empty string without '.', got ${JSON.stringify(name)}`);
    }
    this._name = name;
    return this;
  }

  /** The layer name given by named() or by the first GraphModel that used this layer. */
  get name(): string | undefined {
    return this._name;
  }

  /** Direct children with their field names (array items as `field.i`). */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (SKIPPED_FIELDS.has(key) || key.startsWith('_')) continue;
      if (value instanceof Module) out.push([key, value]);
      else if (Array.isArray(value)) value.forEach((item, i) => { if (item instanceof Module) out.push([`${key}.${i}`, item]); });
    }
    return out;
  }

  /** Every module in the tree, this one first, with dotted names. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren()) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  private ownTensors<T extends Tensor>(kind: abstract new (...args: never[]) => T): [string, T][] {
    const out: [string, T][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (SKIPPED_FIELDS.has(key) || key.startsWith('_')) continue;
      if (value instanceof kind) out.push([key, value]);
    }
    return out;
  }

  /** Parameters of this module and its descendants, with dotted names (a shared one once, under its first name). */
  namedParameters(prefix = ''): [string, Parameter][] {
    // NOTE: like PyTorch's named_parameters(), a parameter reached twice (a layer used twice) is listed once,
    // so optimizers step it once and numParameters() counts it once; stateDict() still lists every name.
    const out: [string, Parameter][] = [];
    const seen = new Set<Parameter>();
    for (const [name, module] of this.namedModules(prefix)) {
      for (const [key, p] of module.ownTensors(Parameter)) {
        if (!seen.has(p)) out.push([name ? `${name}.${key}` : key, p]);
        seen.add(p);
      }
    }
    return out;
  }

  /** Buffers of this module and its descendants, with dotted names. */
  namedBuffers(prefix = ''): [string, Buffer][] {
    const out: [string, Buffer][] = [];
    for (const [name, module] of this.namedModules(prefix)) {
      for (const [key, b] of module.ownTensors(Buffer)) out.push([name ? `${name}.${key}` : key, b]);
    }
    return out;
  }

  /** All parameters (trainable or frozen). */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Parameters and buffers by name, in PyTorch's state-dict order (the live tensors, not copies). */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [name, module] of this.namedModules()) {
      const prefix = name ? `${name}.` : '';
      for (const [key, p] of module.ownTensors(Parameter)) out.set(prefix + key, p);
      for (const [key, b] of module.ownTensors(Buffer)) out.set(prefix + key, b);
    }
    return out;
  }

  /**
   * Copies tensors into parameters and buffers by name. With `strict` (default), missing or
   * unexpected names and shape mismatches throw an error that lists them.
   */
  loadStateDict(tensors: Map<string, Tensor> | Record<string, Tensor>, options: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
    const source = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !source.has(k));
    const unexpected = [...source.keys()].filter((k) => !own.has(k));
    const mismatched: string[] = [];
    for (const [name, target] of own) {
      const value = source.get(name);
      if (value && value.shape.join(',') !== target.shape.join(',')) {
        mismatched.push(`${name}: model [${target.shape.join(', ')}] vs given [${value.shape.join(', ')}]`);
      }
    }
    const strict = options.strict ?? true;
    if (mismatched.length > 0 || (strict && (missing.length > 0 || unexpected.length > 0))) {
      const lines = [
        ...mismatched.map((m) => `shape mismatch ${m}`),
        ...(strict ? missing.map((m) => `missing ${m}`) : []),
        ...(strict ? unexpected.map((u) => `unexpected ${u}`) : []),
      ];
      throw new Error(`cannot load state dict into ${this.constructor.name}:\n  ${lines.join('\n  ')}`);
    }
    noGrad(() => tidy(() => {
      for (const [name, target] of own) {
        const value = source.get(name);
        if (value) target.copy_(value.dtype === target.dtype ? value : value.to(target.dtype));
      }
    }));
    return { missing, unexpected };
  }

  /** Sets training mode on this module and all descendants. */
  train(mode = true): this {
    for (const [, module] of this.namedModules()) module.training = mode;
    return this;
  }

  /** Sets evaluation mode (dropout off, batch norm uses running statistics). */
  eval(): this {
    return this.train(false);
  }

  /** Stops gradients for all parameters (or those under one of `prefixes`: `conv2d` is `conv2d.*`, not `conv2d_1.*`). */
  freeze(...prefixes: string[]): this {
    for (const [name, p] of this.namedParameters()) if (underPrefix(name, prefixes)) p.setRequiresGrad(false);
    return this;
  }

  /** Turns gradients back on (all, or those under one of `prefixes`). */
  unfreeze(...prefixes: string[]): this {
    for (const [name, p] of this.namedParameters()) if (underPrefix(name, prefixes)) p.setRequiresGrad(true);
    return this;
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.setGrad(null);
  }

  /** Number of parameter elements (only trainable ones with `trainableOnly`). */
  numParameters(trainableOnly = false): number {
    return this.parameters().filter((p) => !trainableOnly || p.requiresGrad).reduce((sum, p) => sum + p.size, 0);
  }

  /** Prints and returns a Keras-style table of layers, output shapes and parameters. */
  summary(inputShape: number[], options: { print?: boolean } = {}): Summary {
    const result = summarize(this, inputShape);
    if (options.print ?? true) console.log(result.text);
    return result;
  }

  /** Frees every parameter and buffer. */
  dispose(): void {
    for (const t of this.stateDict().values()) t.dispose();
  }

  /** One-line description of this layer's own configuration (override in layers). */
  extraRepr(): string {
    return '';
  }

  /** PyTorch-style tree of modules with parameter counts. */
  toString(): string {
    return this.describe('');
  }

  private describe(indent: string): string {
    const count = this.numParameters();
    const params = count > 0 ? `  # ${count.toLocaleString('en-US')} params` : '';
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    const children = this.namedChildren();
    if (children.length === 0) return `${head})${params}`;
    const inner = children.map(([name, child]) => `${indent}  (${name}): ${child.describe(indent + '  ')}`);
    return `${head}${params}\n${inner.join('\n')}\n${indent})`;
  }
}
