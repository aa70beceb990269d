/** Sequential container and Flatten. */
import type { Tensor } from '../tensor/index.js';
import { Module } from './module.js';

/** Flattens dims startDim..endDim (default: all but the batch dim). */
export class Flatten extends Module {
  /** Flattens from `startDim` to `endDim`. */
  constructor(readonly startDim = 1, readonly endDim = -1) { super(); }
  override forward(x: Tensor): Tensor { return x.flatten(this.startDim, this.endDim); }
}

/**
 * Layers applied in order. Children are named 0, 1, 2... like torch.nn.Sequential, so
 * state dicts line up with PyTorch's. Errors name the layer that failed.
 */
export class Sequential extends Module {
  [index: number]: Module;
  /** Number of layers. */
  readonly length: number;

  /** The layers, in order. */
  constructor(...layers: Module[]) {
    super();
    layers.forEach((layer, i) => {
      if (!(layer instanceof Module)) throw new Error(`Sequential: item ${i} is not a Module`);
      this[i] = layer;
    });
    this.length = layers.length;
  }

  /** The layers, in order. */
  get layers(): Module[] {
    return Array.from({ length: this.length }, (_, i) => this[i]);
  }

  override forward(x: Tensor): Tensor {
    let out = x;
    for (let i = 0; i < this.length; i++) {
      try {
        out = this[i].forward(out);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (message.startsWith('layer ')) throw error;
        throw new Error(`layer ${i} (${this[i].constructor.name}(${this[i].extraRepr()})) got input of shape [${out.shape.join(', ')}]: ${message}`);
      }
    }
    return out;
  }
}
