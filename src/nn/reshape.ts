/** Layers that only move data around: Identity, Reshape, Permute, ZeroPad2d. */
import { type Tensor, functional } from '../tensor/index.js';
import { Module } from './module.js';

/** Returns its input unchanged (a placeholder, e.g. a removed head). */
export class Identity extends Module {
  override forward(x: Tensor): Tensor { return x; }
}

/** Reshapes each sample to `shape` (without the batch dim; one -1 is inferred), Keras's Reshape. */
export class Reshape extends Module {
  readonly shape: number[];
  /** Target shape per sample, e.g. [64, 7, 7] or [-1]. */
  constructor(shape: number[]) {
    super();
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || (d <= 0 && d !== -1)) || shape.filter((d) => d === -1).length > 1) {
      throw new Error(`Reshape: shape must list positive sizes (at most one -1) without the batch dim, got ${JSON.stringify(shape)}`);
    }
    this.shape = shape.slice();
  }
  override forward(x: Tensor): Tensor {
    const perSample = x.shape.slice(1).reduce((a, b) => a * b, 1);
    const known = this.shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    if (this.shape.includes(-1) ? perSample % known !== 0 : perSample !== known) {
      throw new Error(`Reshape([${this.shape.join(', ')}]) cannot reshape input of shape [${x.shape.join(', ')}] (${perSample} values per sample)`);
    }
    return x.reshape([x.shape[0], ...this.shape]);
  }
  override extraRepr(): string { return `[${this.shape.join(', ')}]`; }
}

/** Reorders dimensions like torch.permute, the batch dim first: `Permute([0, 2, 3, 1])` is NCHW -> NHWC. */
export class Permute extends Module {
  readonly dims: number[];
  /** A permutation of 0..rank-1 that keeps the batch dim (0) first. */
  constructor(dims: number[]) {
    super();
    const sorted = [...dims].sort((a, b) => a - b);
    if (!Array.isArray(dims) || dims[0] !== 0 || sorted.some((d, i) => d !== i)) {
      throw new Error(`Permute: dims must be a permutation of 0..${Array.isArray(dims) ? dims.length - 1 : 'n'} starting with the batch dim 0, got ${JSON.stringify(dims)}`);
    }
    this.dims = dims.slice();
  }
  override forward(x: Tensor): Tensor {
    if (x.rank !== this.dims.length) throw new Error(`Permute([${this.dims.join(', ')}]) expects input of rank ${this.dims.length}, got shape [${x.shape.join(', ')}]`);
    return x.permute(this.dims);
  }
  override extraRepr(): string { return `[${this.dims.join(', ')}]`; }
}

/** Zero padding of (N, C, H, W) or (C, H, W) input, asymmetric like torch.nn.ZeroPad2d((left, right, top, bottom)). */
export class ZeroPad2d extends Module {
  readonly padding: [number, number, number, number];
  /** `ZeroPad2d(p)` pads every side by p; `ZeroPad2d(left, right, top, bottom)` each side on its own. */
  constructor(left: number, right = left, top = left, bottom = left) {
    super();
    this.padding = [left, right, top, bottom];
    if (this.padding.some((p) => !Number.isInteger(p))) throw new Error(`ZeroPad2d: padding must be integers, got [${this.padding.join(', ')}]`);
  }
  override forward(x: Tensor): Tensor {
    if (x.rank !== 4 && x.rank !== 3) throw new Error(`ZeroPad2d expects NCHW input (4 dims), got shape [${x.shape.join(', ')}]`);
    return functional.pad(x, this.padding);
  }
  override extraRepr(): string { return `left=${this.padding[0]}, right=${this.padding[1]}, top=${this.padding[2]}, bottom=${this.padding[3]}`; }
}
