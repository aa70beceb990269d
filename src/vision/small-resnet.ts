/**
 * A small residual network for small images (28-64 px), in the style of David Page's ResNet-9 for
 * CIFAR-10: few layers at full resolution, max pooling to shrink, two residual blocks, a max-pooled head.
 */
import type { Tensor } from '../tensor/index.js';
import { AdaptiveMaxPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, Module } from '../nn/index.js';

/** Options of {@link SmallResNet}. */
export interface SmallResNetOptions {
  /** Input channels (default 1). */
  inChannels?: number;
  /** Channels of the three stages (default [32, 64, 128]). */
  widths?: [number, number, number];
}

/** 3x3 convolution (no bias), batch norm, ReLU. */
export class ConvBnRelu extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;

  /** From `inChannels` to `outChannels`, same size. */
  constructor(readonly inChannels: number, readonly outChannels: number) {
    super();
    this.conv = new Conv2d(inChannels, outChannels, 3, { padding: 1, bias: false });
    this.bn = new BatchNorm2d(outChannels);
  }

  override forward(x: Tensor): Tensor { return this.bn.forward(this.conv.forward(x)).relu(); }

  override extraRepr(): string { return `${this.inChannels} -> ${this.outChannels}`; }
}

/** x + two ConvBnRelu of x (the residual block of ResNet-9, without a final ReLU). */
export class Residual extends Module {
  readonly a: ConvBnRelu;
  readonly b: ConvBnRelu;

  /** A block over `channels` channels. */
  constructor(readonly channels: number) {
    super();
    this.a = new ConvBnRelu(channels, channels);
    this.b = new ConvBnRelu(channels, channels);
  }

  override forward(x: Tensor): Tensor { return x.add(this.b.forward(this.a.forward(x))); }

  override extraRepr(): string { return String(this.channels); }
}

/**
 * stem (ConvBnRelu to widths[0]) -> max pool 2 -> residual -> ConvBnRelu to widths[1] -> max pool 2
 * -> ConvBnRelu to widths[2] -> max pool 2 -> residual -> global max pool -> linear. At 28 px the
 * stages run at 28, 14, 7 and 3 px. Weights are PyTorch's default initialisation in field order, so a
 * seeded model equals bench/recipe.py's.
 */
export class SmallResNet extends Module {
  readonly stem: ConvBnRelu;
  readonly pool1 = new MaxPool2d(2);
  readonly res1: Residual;
  readonly conv2: ConvBnRelu;
  readonly pool2 = new MaxPool2d(2);
  readonly conv3: ConvBnRelu;
  readonly pool3 = new MaxPool2d(2);
  readonly res3: Residual;
  readonly pool = new AdaptiveMaxPool2d(1);
  readonly fc: Linear;
  readonly inChannels: number;
  readonly widths: [number, number, number];

  /** A network ending in `numClasses` logits. */
  constructor(readonly numClasses: number, options: SmallResNetOptions = {}) {
    super();
    this.inChannels = options.inChannels ?? 1;
    this.widths = options.widths ?? [32, 64, 128];
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`small-resnet.ts: numClasses must be a positive integer, got ${numClasses}`);
    if (!Number.isInteger(this.inChannels) || this.inChannels < 1) throw new Error(`small-resnet.ts: inChannels must be a positive integer, got ${this.inChannels}`);
    if (this.widths.length !== 3 || !this.widths.every((w) => Number.isInteger(w) && w > 0)) {
      throw new Error(`small-resnet.ts: widths must be three positive channel counts, got ${JSON.stringify(this.widths)}`);
    }
    const [w1, w2, w3] = this.widths;
    this.stem = new ConvBnRelu(this.inChannels, w1);
    this.res1 = new Residual(w1);
    this.conv2 = new ConvBnRelu(w1, w2);
    this.conv3 = new ConvBnRelu(w2, w3);
    this.res3 = new Residual(w3);
    this.fc = new Linear(w3, numClasses);
  }

  /** Logits [N, numClasses] for images [N, C, H, W] of at least 8 x 8 pixels. */
  override forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels || x.shape[2] < 8 || x.shape[3] < 8) {
      throw new Error(`small-resnet.ts: expects images shaped [N, ${this.inChannels}, H, W] with H, W >= 8, got [${x.shape.join(', ')}]`);
    }
    let h = this.res1.forward(this.pool1.forward(this.stem.forward(x)));
    h = this.pool2.forward(this.conv2.forward(h));
    h = this.res3.forward(this.pool3.forward(this.conv3.forward(h)));
    return this.fc.forward(this.pool.forward(h).flatten(1));
  }

  override extraRepr(): string { return `widths=[${this.widths.join(', ')}], classes=${this.numClasses}`; }
}

/** A {@link SmallResNet} (409k parameters with the default widths and 10 classes). */
export function smallResNet(numClasses = 10, options: SmallResNetOptions = {}): SmallResNet {
  return new SmallResNet(numClasses, options);
}
