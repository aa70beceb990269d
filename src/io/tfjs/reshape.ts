/**
 * Keras layers whose meaning depends on NHWC order (Flatten, Reshape, Dense on images) and Rescaling.
 * Kestrel keeps rank-4 tensors as NCHW, so these move channels last around the operation.
 */
import { type Tensor, tidy } from '../../tensor/index.js';
import { Linear, Module } from '../../nn/index.js';
import { applyActivation, channelDimOf } from './activations.js';

/** NCHW -> NHWC. */
function channelsLast(x: Tensor): Tensor { return x.permute(0, 2, 3, 1); }

/** NHWC -> NCHW. */
function channelsFirst(x: Tensor): Tensor { return x.permute(0, 3, 1, 2); }

/**
 * Keras's Flatten: flattens in NHWC order, so a following Dense layer's kernel (trained on
 * channels-last features) lines up without reordering its rows.
 */
export class KerasFlatten extends Module {
  override forward(x: Tensor): Tensor {
    return tidy(() => (x.rank === 4 ? channelsLast(x) : x).flatten(1));
  }
}

/** Keras's Reshape: `targetShape` (without the batch dim) in Keras's channels-last order. */
export class KerasReshape extends Module {
  /** Reshapes to `targetShape` (one entry may be -1). */
  constructor(readonly targetShape: number[]) { super(); }

  override forward(x: Tensor): Tensor {
    return tidy(() => {
      const y = (x.rank === 4 ? channelsLast(x) : x).reshape([x.shape[0], ...this.targetShape]);
      return y.rank === 4 ? channelsFirst(y) : y;
    });
  }

  override extraRepr(): string { return `[${this.targetShape.join(', ')}]`; }
}

/** Keras's Dense: Linear plus a fused activation, applied along the channels of image tensors. */
export class KerasDense extends Linear {
  /** Activation after the affine map ('linear': none). */
  readonly activation: string;

  /** `inFeatures` to `outFeatures`. */
  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean; activation?: string } = {}) {
    super(inFeatures, outFeatures, { bias: options.bias });
    this.activation = options.activation ?? 'linear';
  }

  override forward(x: Tensor): Tensor {
    return tidy(() => {
      if (x.rank === 4) return channelsFirst(applyActivation(this.activation, super.forward(channelsLast(x)), -1));
      return applyActivation(this.activation, super.forward(x), channelDimOf(x.rank));
    });
  }

  override extraRepr(): string {
    return `${super.extraRepr()}${this.activation === 'linear' ? '' : `, ${this.activation}`}`;
  }
}

/** Keras's Rescaling: x * scale + offset. */
export class Rescaling extends Module {
  /** Multiplies by `scale`, then adds `offset`. */
  constructor(readonly scale: number, readonly offset = 0) { super(); }
  override forward(x: Tensor): Tensor { return tidy(() => x.mul(this.scale).add(this.offset)); }
  override extraRepr(): string { return `scale=${this.scale}, offset=${this.offset}`; }
}
