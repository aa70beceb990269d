/**
 * MobileNetV2 (Sandler et al. 2018) with torchvision's exact module tree, state-dict names and
 * initialisation (width 1.0): torchvision weights load by name and a seeded model starts from
 * the same weights as `torchvision.models.mobilenet_v2()` under the same seed.
 */
import { type Tensor, functional, noGrad, op, tidy } from '../tensor/index.js';
import { BatchNorm2d, Conv2d, Dropout, Linear, Module, ReLU6, Sequential, init } from '../nn/index.js';
import { applyLayers } from './resnet.js';

/** Options of mobilenetV2. */
export interface MobileNetV2Options {
  /** Input channels (3 for RGB; torchvision fixes 3). */
  inChannels?: number;
  /** Dropout before the classifier (torchvision's default 0.2). */
  dropout?: number;
}

/** torchvision's _make_divisible: rounds channels to a multiple of `divisor`, never below 90% of `value`. */
export function makeDivisible(value: number, divisor = 8, minValue = divisor): number {
  let rounded = Math.max(minValue, Math.floor((value + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * value) rounded += divisor;
  return rounded;
}

/**
 * torchvision's Conv2dNormActivation with ReLU6: conv (no bias, padding (k-1)/2), batch norm, relu6,
 * a Sequential so names are `N.0.weight` (conv) and `N.1.*` (batch norm).
 */
export class ConvBNReLU6 extends Sequential {
  /** `inChannels` to `outChannels` with a `kernelSize` kernel; `groups` = channels makes it depthwise. */
  constructor(inChannels: number, outChannels: number, kernelSize = 3, stride = 1, groups = 1) {
    super(
      new Conv2d(inChannels, outChannels, kernelSize, { stride, padding: (kernelSize - 1) / 2, groups, bias: false }),
      new BatchNorm2d(outChannels),
      new ReLU6(),
    );
  }

  override forward(x: Tensor): Tensor {
    const y = applyLayers(x, [this[0], this[1]]);
    // NOTE: relu6 in place on the fresh batch-norm output, as torchvision's ReLU6(inplace=True).
    const out = op('aten::hardtanh_', '', [y.handle, 0, 6]);
    y.dispose();
    return out;
  }
}

/** The inverted residual block: 1x1 expand (unless t = 1), 3x3 depthwise, 1x1 linear projection, skip when shapes allow. */
export class InvertedResidual extends Module {
  /** `conv.0` .. `conv.3` (or `conv.2` when there is no expansion), torchvision's names. */
  readonly conv: Sequential;
  /** Whether the input is added to the output (stride 1 and same channels). */
  readonly useResConnect: boolean;

  /** A block from `inp` to `oup` channels, `expandRatio` times wider inside. */
  constructor(readonly inp: number, readonly oup: number, readonly stride: number, readonly expandRatio: number) {
    super();
    if (stride !== 1 && stride !== 2) throw new Error(`mobilenet.ts: stride should be 1 or 2, got ${stride}`);
    // NOTE: Python's round() rounds halves to even; expand ratios are integers here, so the product is exact.
    const hidden = Math.round(inp * expandRatio);
    this.useResConnect = stride === 1 && inp === oup;
    const layers: Module[] = [];
    if (expandRatio !== 1) layers.push(new ConvBNReLU6(inp, hidden, 1));
    layers.push(new ConvBNReLU6(hidden, hidden, 3, stride, hidden), new Conv2d(hidden, oup, 1, { bias: false }), new BatchNorm2d(oup));
    this.conv = new Sequential(...layers);
  }

  override forward(x: Tensor): Tensor {
    const y = applyLayers(x, this.conv.layers);
    if (!this.useResConnect) return y;
    const out = y.add(x);
    y.dispose();
    return out;
  }

  override extraRepr(): string { return `${this.inp} -> ${this.oup}, t=${this.expandRatio}${this.stride !== 1 ? `, stride=${this.stride}` : ''}`; }
}

/** torchvision's inverted residual setting: expansion t, channels c, repeats n, first stride s. */
const SETTING: [number, number, number, number][] = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
];

/**
 * MobileNetV2: `features` (stem conv, 17 inverted residual blocks, 1x1 conv to 1280 channels),
 * global average pooling, `classifier` (Dropout, Linear). Names match torchvision
 * (`features.1.conv.0.0.weight`, `features.18.0.weight`, `classifier.1.weight`).
 */
export class MobileNetV2 extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;
  readonly inChannels: number;
  /** Channels of the last feature map (1280). */
  readonly lastChannel: number;

  /** A MobileNetV2 ending in `numClasses` logits. */
  constructor(readonly numClasses = 1000, options: MobileNetV2Options = {}) {
    super();
    this.inChannels = options.inChannels ?? 3;
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`mobilenet.ts: numClasses must be a positive integer, got ${numClasses}`);
    if (!Number.isInteger(this.inChannels) || this.inChannels < 1) throw new Error(`mobilenet.ts: inChannels must be a positive integer, got ${this.inChannels}`);
    let input = makeDivisible(32);
    this.lastChannel = makeDivisible(1280);
    const features: Module[] = [new ConvBNReLU6(this.inChannels, input, 3, 2)];
    for (const [t, c, n, s] of SETTING) {
      const output = makeDivisible(c);
      for (let i = 0; i < n; i++) {
        features.push(new InvertedResidual(input, output, i === 0 ? s : 1, t));
        input = output;
      }
    }
    features.push(new ConvBNReLU6(input, this.lastChannel, 1));
    this.features = new Sequential(...features);
    this.classifier = new Sequential(new Dropout(options.dropout ?? 0.2), new Linear(this.lastChannel, numClasses));
    this.initWeights();
  }

  // NOTE: torchvision re-initialises in module order after building: conv kaiming normal (fan out),
  // batch norm ones/zeros (already so), linear normal(0, 0.01) with zero bias; same draws, same seed.
  private initWeights(): void {
    for (const [, module] of this.namedModules()) {
      if (module instanceof Conv2d) {
        init.kaimingNormal(module.weight, { mode: 'fanOut' });
        if (module.bias) init.constant(module.bias, 0);
      } else if (module instanceof Linear) {
        noGrad(() => module.weight.normal_(0, 0.01));
        if (module.bias) init.constant(module.bias, 0);
      }
    }
  }

  /** Logits [N, numClasses] for images [N, C, H, W]. */
  override forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) {
      throw new Error(`mobilenet.ts: expects images shaped [N, ${this.inChannels}, H, W], got [${x.shape.join(', ')}]`);
    }
    const features = applyLayers(x, this.features.layers);
    const pooled = tidy(() => functional.adaptiveAvgPool2d(features, 1).flatten(1));
    features.dispose();
    const logits = applyLayers(pooled, this.classifier.layers);
    pooled.dispose();
    return logits;
  }
}

/** MobileNetV2 (3.5M parameters with 1000 classes), torchvision-compatible. */
export function mobilenetV2(numClasses = 1000, options: MobileNetV2Options = {}): MobileNetV2 {
  return new MobileNetV2(numClasses, options);
}
