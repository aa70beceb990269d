/** Fully connected layer. */
import { type Tensor, empty, functional } from '../tensor/index.js';
import { kaimingUniform, uniform } from './init.js';
import { Module, Parameter } from './module.js';

/** y = x W^T + b, initialised like torch.nn.Linear. */
export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  /** A layer from `inFeatures` to `outFeatures`. */
  constructor(readonly inFeatures: number, readonly outFeatures: number, options: { bias?: boolean } = {}) {
    super();
    checkPositive('Linear', { inFeatures, outFeatures });
    this.weight = new Parameter(kaimingUniform(empty([outFeatures, inFeatures]), { a: Math.sqrt(5) }));
    const bound = 1 / Math.sqrt(inFeatures);
    this.bias = options.bias === false ? null : new Parameter(uniform(empty([outFeatures]), -bound, bound));
  }

  override forward(x: Tensor): Tensor {
    const last = x.shape[x.rank - 1];
    if (last !== this.inFeatures) {
      throw new Error(`Linear(${this.inFeatures} -> ${this.outFeatures}) expects ${this.inFeatures} input features in the last dimension, got input of shape [${x.shape.join(', ')}]`);
    }
    return functional.linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `${this.inFeatures} -> ${this.outFeatures}${this.bias ? '' : ', bias=false'}`;
  }
}

/** Throws a clear error unless every size is a positive integer. */
export function checkPositive(layer: string, sizes: Record<string, number>): void {
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isInteger(value) || value <= 0) throw new Error(`${layer}: ${name} must be a positive integer, got ${value}`);
  }
}
