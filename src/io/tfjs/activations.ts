/** Keras activations (by the names Keras and TF.js write in configs) and Keras's general ReLU layer. */
import { type Tensor, op, tidy } from '../../tensor/index.js';
import { Module } from '../../nn/index.js';

/** Applies an activation; `channelDim` is where Keras's last axis (channels) lives in Kestrel's layout. */
type ActivationFn = (x: Tensor, channelDim: number) => Tensor;

// NOTE: hard_sigmoid is Keras 2.x's and TF.js's clip(0.2x + 0.5, 0, 1); Keras 3 changed it to
// relu6(x + 3) / 6, but Keras 3 models are not written as TF.js layers models.
function hardSigmoid(x: Tensor): Tensor { return x.mul(0.2).add(0.5).clamp(0, 1); }

const ACTIVATIONS: Readonly<Record<string, ActivationFn>> = Object.freeze({
  linear: (x) => x,
  relu: (x) => x.relu(),
  relu6: (x) => x.clamp(0, 6),
  sigmoid: (x) => x.sigmoid(),
  tanh: (x) => x.tanh(),
  softmax: (x, dim) => x.softmax(dim),
  swish: (x) => op('aten::silu', '', [x.handle]),
  silu: (x) => op('aten::silu', '', [x.handle]),
  hard_sigmoid: hardSigmoid,
  hardSigmoid, // TF.js's spelling
  elu: (x) => op('aten::elu', '', [x.handle, 1, 1, 1]),
  selu: (x) => op('aten::selu', '', [x.handle]),
  softplus: (x) => op('aten::softplus', '', [x.handle, 1, 20]),
  softsign: (x) => x.div(x.abs().add(1)),
  mish: (x) => op('aten::mish', '', [x.handle]),
  gelu: (x) => op('aten::gelu', '', [x.handle, 'none']),
  gelu_new: (x) => op('aten::gelu', '', [x.handle, 'tanh']),
});

/** Activation names Kestrel reads from Keras configs. */
export const KERAS_ACTIVATIONS: readonly string[] = Object.keys(ACTIVATIONS);

/** Checks an activation name from a config (a string; Keras writes null or absent as linear). */
export function activationName(value: unknown): string {
  const name = value === undefined || value === null ? 'linear' : value;
  if (typeof name !== 'string' || !Object.hasOwn(ACTIVATIONS, name)) {
    throw new Error(`activation ${JSON.stringify(name)} is not supported (${KERAS_ACTIVATIONS.join(', ')})`);
  }
  return name;
}

/** Applies the activation `name` (a name checked by activationName); its temporaries are freed. */
export function applyActivation(name: string, x: Tensor, channelDim: number): Tensor {
  return tidy(() => ACTIVATIONS[name](x, channelDim));
}

/** The channel dimension in Kestrel's layout for a tensor of `rank` (NCHW for images, last otherwise). */
export function channelDimOf(rank: number): number {
  return rank === 4 ? 1 : -1;
}

/** Keras's `Activation` layer: one named activation. */
export class KerasActivation extends Module {
  /** `activation` as Keras writes it (relu, softmax, swish, ...). */
  constructor(readonly activation: string) {
    super();
    activationName(activation);
  }

  override forward(x: Tensor): Tensor { return applyActivation(this.activation, x, channelDimOf(x.rank)); }
  override extraRepr(): string { return this.activation; }
}

/**
 * Keras's general ReLU layer: x above `threshold` (capped at `maxValue`), `negativeSlope * (x - threshold)`
 * below it. The common cases (plain, ReLU6, leaky) map to nn.ReLU, nn.ReLU6 and nn.LeakyReLU instead.
 */
export class KerasReLU extends Module {
  /** Options as in Keras's ReLU layer config. */
  constructor(readonly maxValue: number | null, readonly negativeSlope: number, readonly threshold: number) { super(); }

  override forward(x: Tensor): Tensor {
    return tidy(() => this.compute(x));
  }

  private compute(x: Tensor): Tensor {
    // NOTE: the order of Keras's backend relu(): keep x where x > threshold, clip to [0, max], then
    // subtract slope * relu(threshold - x).
    let positive = this.threshold === 0 ? x.relu() : x.mul(x.gt(this.threshold).to(x.dtype));
    if (this.maxValue !== null) positive = positive.clamp(0, this.maxValue);
    if (this.negativeSlope === 0) return positive;
    return positive.sub(x.neg().add(this.threshold).relu().mul(this.negativeSlope));
  }

  override extraRepr(): string {
    return `max=${String(this.maxValue)}, slope=${this.negativeSlope}, threshold=${this.threshold}`;
  }
}
