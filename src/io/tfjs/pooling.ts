/** Keras pooling semantics in NCHW: 'same' padding (possibly asymmetric) and global pooling with keepdims. */
import { type Tensor, functional, noGrad, ones, op, tidy } from '../../tensor/index.js';
import { Module } from '../../nn/index.js';
import type { Pads } from './conv.js';

/**
 * Max or average pooling with TF's 'same' padding. Padded positions never win a max (padded
 * with -Infinity) and are left out of an average (Keras divides by the number of real values),
 * which PyTorch's symmetric-only pooling padding cannot express when the padding is asymmetric.
 */
export class SamePool2d extends Module {
  /** Pools `kind` over `kernelSize` windows moved by `stride`, after padding by `pads`. */
  constructor(readonly kind: 'max' | 'avg', readonly kernelSize: [number, number], readonly stride: [number, number], readonly pads: Pads) { super(); }

  override forward(x: Tensor): Tensor {
    return tidy(() => this.pool(x));
  }

  private pool(x: Tensor): Tensor {
    const options = { stride: this.stride };
    if (this.kind === 'max') return functional.maxPool2d(functional.pad(x, this.pads, -Infinity), this.kernelSize, options);
    const sums = functional.avgPool2d(functional.pad(x, this.pads), this.kernelSize, options);
    // NOTE: the share of real (unpadded) values in each window, from a single-channel mask.
    const share = noGrad(() => {
      const mask = ones([1, 1, x.shape[x.rank - 2], x.shape[x.rank - 1]], { dtype: x.dtype });
      return functional.avgPool2d(functional.pad(mask, this.pads), this.kernelSize, options);
    });
    return sums.div(share);
  }

  override extraRepr(): string {
    return `${this.kind}, kernel=${this.kernelSize.join('x')}, stride=${this.stride.join('x')}, pads=[${this.pads.join(', ')}]`;
  }
}

/** Keras's GlobalAveragePooling2D / GlobalMaxPooling2D: NCHW -> NC (or NC11 with keepDims). */
export class GlobalPool2d extends Module {
  /** Averages or takes the max over height and width. */
  constructor(readonly kind: 'max' | 'avg', readonly keepDims = false) { super(); }

  override forward(x: Tensor): Tensor {
    if (x.rank !== 4) throw new Error(`GlobalPool2d expects NCHW input, got shape [${x.shape.join(', ')}]`);
    return this.kind === 'avg' ? x.mean([2, 3], this.keepDims) : op('aten::amax', '', [x.handle, [2, 3], this.keepDims]);
  }

  override extraRepr(): string { return `${this.kind}${this.keepDims ? ', keepDims' : ''}`; }
}
