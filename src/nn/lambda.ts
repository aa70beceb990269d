/** Lambda: a function of tensors as a layer (Keras's Lambda), for small custom steps in graph models. */
import type { Tensor } from '../tensor/index.js';
import { Module } from './module.js';

/**
 * Wraps `fn` (no parameters) as a layer, e.g. `new Lambda((x) => x.mul(2).sub(1), 'scale')`. Its
 * shape is inferred like any layer's by running `fn` on stand-in inputs.
 */
export class Lambda extends Module {
  /** `fn` maps one or more tensors to one tensor; `description` shows in toString(). */
  constructor(readonly fn: (x: Tensor, ...rest: Tensor[]) => Tensor, readonly description = 'fn') {
    super();
    if (typeof fn !== 'function') throw new Error(`Lambda: expected a function, got ${typeof fn}`);
  }
  override forward(x: Tensor, ...rest: Tensor[]): Tensor { return this.fn(x, ...rest); }
  override extraRepr(): string { return this.description; }
}
