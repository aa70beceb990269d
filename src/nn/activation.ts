/** Activation layers. */
import { type Tensor, functional } from '../tensor/index.js';
import { Module } from './module.js';

/** max(x, 0). */
export class ReLU extends Module {
  override forward(x: Tensor): Tensor { return x.relu(); }
}

/** min(max(x, 0), 6) (MobileNet). */
export class ReLU6 extends Module {
  override forward(x: Tensor): Tensor { return functional.hardtanh(x, 0, 6); }
}

/** x * relu6(x + 3) / 6 (MobileNetV3). */
export class Hardswish extends Module {
  override forward(x: Tensor): Tensor { return functional.hardswish(x); }
}

/** x * sigmoid(x), also called Swish (EfficientNet). */
export class SiLU extends Module {
  override forward(x: Tensor): Tensor { return functional.silu(x); }
}

/** x if x > 0 else slope * x. */
export class LeakyReLU extends Module {
  /** Slope for negative inputs (PyTorch default 0.01). */
  constructor(readonly negativeSlope = 0.01) { super(); }
  override forward(x: Tensor): Tensor { return functional.leakyRelu(x, this.negativeSlope); }
  override extraRepr(): string { return `slope=${this.negativeSlope}`; }
}

/** Logistic sigmoid. */
export class Sigmoid extends Module {
  override forward(x: Tensor): Tensor { return x.sigmoid(); }
}

/** Hyperbolic tangent. */
export class Tanh extends Module {
  override forward(x: Tensor): Tensor { return x.tanh(); }
}

/** Softmax along a dimension (default: the last). */
export class Softmax extends Module {
  /** Normalises along `dim`. */
  constructor(readonly dim = -1) { super(); }
  override forward(x: Tensor): Tensor { return x.softmax(this.dim); }
  override extraRepr(): string { return `dim=${this.dim}`; }
}
