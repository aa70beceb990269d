/** Pooling layers. */
import { type Tensor, functional } from '../tensor/index.js';
import { checkPositive } from './linear.js';
import { Module } from './module.js';

type Pair = number | [number, number];

/** Options of the pooling layers. */
export interface PoolOptions {
  /** Defaults to the kernel size. */
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}

/** 2-D max pooling. */
export class MaxPool2d extends Module {
  /** Pools over `kernelSize` windows. */
  constructor(readonly kernelSize: Pair, readonly options: PoolOptions & { dilation?: Pair } = {}) { super(); }
  override forward(x: Tensor): Tensor { return functional.maxPool2d(x, this.kernelSize, this.options); }
  override extraRepr(): string { return `kernel=${String(this.kernelSize)}${this.options.stride !== undefined ? `, stride=${String(this.options.stride)}` : ''}`; }
}

/** 2-D average pooling. */
export class AvgPool2d extends Module {
  /** Averages over `kernelSize` windows. */
  constructor(readonly kernelSize: Pair, readonly options: PoolOptions & { countIncludePad?: boolean } = {}) { super(); }
  override forward(x: Tensor): Tensor { return functional.avgPool2d(x, this.kernelSize, this.options); }
  override extraRepr(): string { return `kernel=${String(this.kernelSize)}`; }
}

/** Average pooling to a fixed output size (1 gives global average pooling). */
export class AdaptiveAvgPool2d extends Module {
  /** Pools to `outputSize` (h, w). */
  constructor(readonly outputSize: Pair) { super(); }
  override forward(x: Tensor): Tensor { return functional.adaptiveAvgPool2d(x, this.outputSize); }
  override extraRepr(): string { return `output=${String(this.outputSize)}`; }
}

/** Max pooling to a fixed output size. */
export class AdaptiveMaxPool2d extends Module {
  /** Pools to `outputSize` (h, w). */
  constructor(readonly outputSize: Pair) {
    super();
    const [h, w] = Array.isArray(outputSize) ? outputSize : [outputSize, outputSize];
    checkPositive('AdaptiveMaxPool2d', { outputHeight: h, outputWidth: w });
  }
  override forward(x: Tensor): Tensor { return functional.adaptiveMaxPool2d(x, this.outputSize); }
  override extraRepr(): string { return `output=${String(this.outputSize)}`; }
}

/** Mean over height and width: (N, C, H, W) -> (N, C) (Keras's GlobalAveragePooling2D). */
export class GlobalAvgPool2d extends Module {
  /** With `keepDim`, the output is (N, C, 1, 1). */
  constructor(readonly options: { keepDim?: boolean } = {}) { super(); }
  override forward(x: Tensor): Tensor {
    if (x.rank !== 4) throw new Error(`GlobalAvgPool2d expects NCHW input (4 dims), got shape [${x.shape.join(', ')}]`);
    return x.mean([2, 3], this.options.keepDim ?? false);
  }
  override extraRepr(): string { return this.options.keepDim ? 'keepDim=true' : ''; }
}
