/** NamedSequential: layers applied in order under names of your choosing (torch.nn.Sequential(OrderedDict)). */
import type { Tensor } from '../tensor/index.js';
import { Module } from './module.js';

const NAME = /^(?:[A-Za-z][A-Za-z0-9_]*|\d+)$/;

/**
 * Layers applied in order, each a child under its own name, so state-dict names keep them
 * (`conv1.weight`, `layer1.0.conv1.weight`): the body of a network cut from its head keeps the
 * original model's names. Intermediate outputs are freed as soon as the next layer has run.
 */
export class NamedSequential extends Module {
  [name: string]: unknown;
  private readonly _names: string[];

  /** The layers, in order, as [name, module] pairs. */
  constructor(layers: [string, Module][]) {
    super();
    this._names = [];
    for (const [name, layer] of layers) {
      if (typeof name !== 'string' || !NAME.test(name)) throw new Error(`NamedSequential: layer name ${JSON.stringify(name)} must be an identifier or a number`);
      if (name in this) throw new Error(`NamedSequential: layer name '${name}' is used twice or clashes with a Module member`);
      if (!(layer instanceof Module)) throw new Error(`NamedSequential: layer '${name}' is not a Module`);
      this[name] = layer;
      this._names.push(name);
    }
    if (this._names.length === 0) throw new Error('NamedSequential: needs at least one layer');
  }

  /** The layers, in order, with their names. */
  get entries(): [string, Module][] {
    return this._names.map((name) => [name, this[name] as Module]);
  }

  override forward(x: Tensor): Tensor {
    let out = x;
    for (const [name, layer] of this.entries) {
      let next: Tensor;
      try {
        next = layer.forward(out);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (message.startsWith('layer ')) throw error;
        throw new Error(`layer '${name}' (${layer.constructor.name}) got input of shape [${out.shape.join(', ')}]: ${message}`);
      }
      // NOTE: like ResNet's forward, each intermediate is freed once used (never `x`, the caller's):
      // inference memory stays at PyTorch's level; autograd keeps what it needs on its own.
      if (out !== x && next !== out) out.dispose();
      out = next;
    }
    return out;
  }
}
