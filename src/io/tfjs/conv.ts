/** Keras convolutions in Kestrel's NCHW layout: TF's 'same' padding, fused activations, separable convolutions. */
import { type Tensor, functional, tidy } from '../../tensor/index.js';
import { Conv2d, Module } from '../../nn/index.js';
import { applyActivation } from './activations.js';

/** Zero (or `value`) padding of NCHW input: [left, right, top, bottom]. */
export type Pads = [number, number, number, number];

/**
 * TF's 'same' padding along one dim: output size ceil(size / stride), the total padding split
 * with the smaller half first ([before, after]). Needs the input size unless stride is 1.
 */
export function samePadding(size: number | null, kernel: number, stride: number, dilation = 1): [number, number] {
  const span = (kernel - 1) * dilation + 1;
  if (size === null) {
    if (stride !== 1) throw new Error("'same' padding with stride > 1 needs the input's spatial size; give the input shape");
    return [Math.floor((span - 1) / 2), span - 1 - Math.floor((span - 1) / 2)];
  }
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + span - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** A pair with equal halves as one number (so Conv2d's description reads `stride=2`, not `stride=2,2`). */
const compact = ([a, b]: [number, number]): number | [number, number] => (a === b ? a : [a, b]);

/** Options of KerasConv2d. */
export interface KerasConv2dOptions {
  stride?: [number, number];
  dilation?: [number, number];
  groups?: number;
  bias?: boolean;
  /** Padding [left, right, top, bottom] (TF's 'same' can be asymmetric). */
  pads?: Pads;
  /** Activation name applied after the convolution (Keras's `activation`). */
  activation?: string;
}

/**
 * Conv2d with Keras's extras: asymmetric padding and a fused activation. Its parameters are
 * Conv2d's own (`weight`, `bias`), so a Keras layer `Conv1` gives `Conv1.weight`.
 */
export class KerasConv2d extends Conv2d {
  /** Padding applied before the convolution when it is asymmetric (else folded into the convolution). */
  readonly prePads: Pads | null;
  /** Activation after the convolution ('linear': none). */
  readonly activation: string;

  /** `inChannels` to `outChannels` with a [h, w] kernel. */
  constructor(inChannels: number, outChannels: number, kernelSize: [number, number], options: KerasConv2dOptions = {}) {
    const [left, right, top, bottom] = options.pads ?? [0, 0, 0, 0];
    const symmetric = left === right && top === bottom;
    super(inChannels, outChannels, kernelSize, {
      stride: compact(options.stride ?? [1, 1]), dilation: compact(options.dilation ?? [1, 1]), groups: options.groups ?? 1, bias: options.bias ?? true,
      padding: symmetric ? compact([top, left]) : 0,
    });
    // NOTE: PyTorch's convolution pads symmetrically only; TF's 'same' with an even total padding
    // (e.g. stride 2 on an even size) puts the extra row and column at the bottom and right.
    this.prePads = symmetric ? null : [left, right, top, bottom];
    this.activation = options.activation ?? 'linear';
  }

  override forward(x: Tensor): Tensor {
    // NOTE: tidy() frees the padded input and the pre-activation output as soon as they are used.
    return tidy(() => applyActivation(this.activation, super.forward(this.prePads ? functional.pad(x, this.prePads) : x), 1));
  }

  override extraRepr(): string {
    const extra = [super.extraRepr()];
    if (this.prePads) extra.push(`pads=[${this.prePads.join(', ')}]`);
    if (this.activation !== 'linear') extra.push(this.activation);
    return extra.join(', ');
  }
}

/** Options of SeparableConv2d (Keras's SeparableConv2D). */
export interface SeparableConv2dOptions extends KerasConv2dOptions {
  depthMultiplier?: number;
}

/**
 * Keras's SeparableConv2D: a depthwise convolution (stride, dilation and padding apply here, no
 * bias) followed by a 1x1 pointwise convolution with the bias and the activation.
 * Parameters: `depthwise.weight`, `pointwise.weight`, `pointwise.bias`.
 */
export class SeparableConv2d extends Module {
  readonly depthwise: KerasConv2d;
  readonly pointwise: KerasConv2d;

  /** `inChannels` to `outChannels` through `inChannels * depthMultiplier` intermediate channels. */
  constructor(inChannels: number, outChannels: number, kernelSize: [number, number], options: SeparableConv2dOptions = {}) {
    super();
    const mid = inChannels * (options.depthMultiplier ?? 1);
    this.depthwise = new KerasConv2d(inChannels, mid, kernelSize, { stride: options.stride, dilation: options.dilation, pads: options.pads, groups: inChannels, bias: false });
    this.pointwise = new KerasConv2d(mid, outChannels, [1, 1], { bias: options.bias, activation: options.activation });
  }

  override forward(x: Tensor): Tensor { return tidy(() => this.pointwise.forward(this.depthwise.forward(x))); }
}
