/** Dropout layer. */
import { type Tensor, functional } from '../tensor/index.js';
import { Module } from './module.js';

/** Zeroes activations with probability p in training; identity in eval. */
export class Dropout extends Module {
  /** Drop probability p in [0, 1). */
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
  }
  override forward(x: Tensor): Tensor { return functional.dropout(x, this.p, this.training); }
  override extraRepr(): string { return `p=${this.p}`; }
}
