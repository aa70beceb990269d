/**
 * The ResNet family (He et al. 2015) with torchvision's exact module tree, state-dict names and
 * initialisation, so torchvision weights load by name and a seeded model starts from the same weights.
 */
import { type Tensor, op } from '../tensor/index.js';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, Module, ReLU, Sequential, init } from '../nn/index.js';

/** Options of the ResNet builders. */
export interface ResNetOptions {
  /** Input channels (3 for RGB; torchvision fixes 3). */
  inChannels?: number;
  /** Start each residual branch's last batch norm at zero, so blocks begin as identities (torchvision's flag). */
  zeroInitResidual?: boolean;
}

/** What a residual block type provides to ResNet. */
export interface BlockType {
  /** Output channels = planes * expansion. */
  readonly expansion: number;
  /** Builds a block from `inPlanes` channels, `planes` wide, with an optional projection shortcut. */
  new (inPlanes: number, planes: number, stride?: number, downsample?: Sequential | null): ResidualBlock;
}

/** A residual block: its last batch norm is what zeroInitResidual zeroes. */
export interface ResidualBlock extends Module {
  /** The batch norm that closes the residual branch. */
  readonly lastBatchNorm: BatchNorm2d;
}

function conv3x3(inPlanes: number, outPlanes: number, stride = 1): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 3, { stride, padding: 1, bias: false });
}

function conv1x1(inPlanes: number, outPlanes: number, stride = 1): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false });
}

/**
 * Applies layers in order and frees each intermediate as soon as the next exists (never `x`,
 * which is the caller's).
 * NOTE: Sequential keeps every intermediate alive until the enclosing tidy() ends; freeing them
 * here keeps inference memory at PyTorch's level (autograd holds its own references when training).
 */
export function applyLayers(x: Tensor, layers: Module[]): Tensor {
  let out = x;
  for (const layer of layers) {
    const next = layer.forward(out);
    if (out !== x && next !== out) out.dispose();
    out = next;
  }
  return out;
}

/** residual + shortcut, then relu, in place on `residual` like torchvision (`out += identity; relu`). */
function mergeShortcut(residual: Tensor, x: Tensor, downsample: Sequential | null): Tensor {
  const identity = downsample ? applyLayers(x, downsample.layers) : x;
  residual.add_(identity);
  if (identity !== x) identity.dispose();
  const out = op('aten::relu_', '', [residual.handle]);
  residual.dispose();
  return out;
}

/** relu in place (the input must be a fresh intermediate that nothing else reads). */
function reluInPlace(x: Tensor): Tensor {
  const out = op('aten::relu_', '', [x.handle]);
  x.dispose();
  return out;
}

/** Two 3x3 convolutions with a skip connection (ResNet-18/34). */
export class BasicBlock extends Module implements ResidualBlock {
  /** Output channels per unit of `planes`. */
  static readonly expansion = 1;
  // NOTE: fields in torchvision's order: state dicts and seeded initialisation follow it.
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu = new ReLU();
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;

  /** A block from `inPlanes` to `planes` channels; `stride` 2 halves the resolution. */
  constructor(readonly inPlanes: number, readonly planes: number, readonly stride = 1, downsample: Sequential | null = null) {
    super();
    this.conv1 = conv3x3(inPlanes, planes, stride);
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = conv3x3(planes, planes);
    this.bn2 = new BatchNorm2d(planes);
    this.downsample = downsample;
  }

  /** The batch norm that closes the residual branch. */
  get lastBatchNorm(): BatchNorm2d { return this.bn2; }

  /** Convolutions feeding only a batch norm (for foldBatchNorm). */
  convBatchNormPairs(): [Conv2d, BatchNorm2d][] { return [[this.conv1, this.bn1], [this.conv2, this.bn2]]; }

  override forward(x: Tensor): Tensor {
    const a = reluInPlace(applyLayers(x, [this.conv1, this.bn1]));
    const b = applyLayers(a, [this.conv2, this.bn2]);
    a.dispose();
    return mergeShortcut(b, x, this.downsample);
  }

  override extraRepr(): string { return `${this.inPlanes} -> ${this.planes}${this.stride !== 1 ? `, stride=${this.stride}` : ''}`; }
}

/** 1x1 reduce, 3x3 (carrying the stride, torchvision's "v1.5"), 1x1 expand, with a skip connection (ResNet-50+). */
export class Bottleneck extends Module implements ResidualBlock {
  /** Output channels per unit of `planes`. */
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly relu = new ReLU();
  readonly downsample: Sequential | null;

  /** A block from `inPlanes` to `planes * 4` channels; `stride` 2 halves the resolution. */
  constructor(readonly inPlanes: number, readonly planes: number, readonly stride = 1, downsample: Sequential | null = null) {
    super();
    this.conv1 = conv1x1(inPlanes, planes);
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = conv3x3(planes, planes, stride);
    this.bn2 = new BatchNorm2d(planes);
    this.conv3 = conv1x1(planes, planes * Bottleneck.expansion);
    this.bn3 = new BatchNorm2d(planes * Bottleneck.expansion);
    this.downsample = downsample;
  }

  /** The batch norm that closes the residual branch. */
  get lastBatchNorm(): BatchNorm2d { return this.bn3; }

  /** Convolutions feeding only a batch norm (for foldBatchNorm). */
  convBatchNormPairs(): [Conv2d, BatchNorm2d][] { return [[this.conv1, this.bn1], [this.conv2, this.bn2], [this.conv3, this.bn3]]; }

  override forward(x: Tensor): Tensor {
    const a = reluInPlace(applyLayers(x, [this.conv1, this.bn1]));
    const b = reluInPlace(applyLayers(a, [this.conv2, this.bn2]));
    a.dispose();
    const c = applyLayers(b, [this.conv3, this.bn3]);
    b.dispose();
    return mergeShortcut(c, x, this.downsample);
  }

  override extraRepr(): string { return `${this.inPlanes} -> ${this.planes * Bottleneck.expansion}${this.stride !== 1 ? `, stride=${this.stride}` : ''}`; }
}

/**
 * A ResNet: 7x7/2 stem, 3x3/2 max pool, four stages of residual blocks (64, 128, 256, 512 planes),
 * global average pool and a linear classifier `fc`. Names match torchvision (`layer1.0.conv1.weight`).
 */
export class ResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu = new ReLU();
  readonly maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly avgpool = new AdaptiveAvgPool2d(1);
  readonly fc: Linear;
  readonly inChannels: number;
  private inPlanes = 64;

  /** A ResNet of `block`s, `layers[i]` blocks in stage i, ending in `numClasses` logits. */
  constructor(block: BlockType, layers: [number, number, number, number], numClasses = 1000, options: ResNetOptions = {}) {
    super();
    this.inChannels = options.inChannels ?? 3;
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`resnet.ts: numClasses must be a positive integer, got ${numClasses}`);
    if (!Number.isInteger(this.inChannels) || this.inChannels < 1) throw new Error(`resnet.ts: inChannels must be a positive integer, got ${this.inChannels}`);
    if (layers.length !== 4 || layers.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new Error(`resnet.ts: layers must be four positive block counts, got [${layers.join(', ')}]`);
    }
    this.conv1 = new Conv2d(this.inChannels, 64, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = new BatchNorm2d(64);
    this.layer1 = this.makeLayer(block, 64, layers[0], 1);
    this.layer2 = this.makeLayer(block, 128, layers[1], 2);
    this.layer3 = this.makeLayer(block, 256, layers[2], 2);
    this.layer4 = this.makeLayer(block, 512, layers[3], 2);
    this.fc = new Linear(512 * block.expansion, numClasses);
    this.initWeights(options.zeroInitResidual ?? false);
  }

  private makeLayer(block: BlockType, planes: number, blocks: number, stride: number): Sequential {
    const out = planes * block.expansion;
    const downsample = stride !== 1 || this.inPlanes !== out ? new Sequential(conv1x1(this.inPlanes, out, stride), new BatchNorm2d(out)) : null;
    const items: Module[] = [new block(this.inPlanes, planes, stride, downsample)];
    this.inPlanes = out;
    for (let i = 1; i < blocks; i++) items.push(new block(this.inPlanes, planes));
    return new Sequential(...items);
  }

  // NOTE: torchvision re-initialises every conv (kaiming normal, fan out, relu) in module order
  // after building; doing the same draws the same numbers from a seeded generator.
  private initWeights(zeroInitResidual: boolean): void {
    for (const [, module] of this.namedModules()) {
      if (module instanceof Conv2d) init.kaimingNormal(module.weight, { mode: 'fanOut', nonlinearity: 'relu' });
    }
    if (!zeroInitResidual) return;
    for (const [, module] of this.namedModules()) {
      if (module instanceof BasicBlock || module instanceof Bottleneck) init.constant(module.lastBatchNorm.weight!, 0);
    }
  }

  /** The stem convolution feeds only its batch norm (for foldBatchNorm). */
  convBatchNormPairs(): [Conv2d, BatchNorm2d][] { return [[this.conv1, this.bn1]]; }

  /** Logits [N, numClasses] for images [N, C, H, W]. */
  override forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) {
      throw new Error(`resnet.ts: expects images shaped [N, ${this.inChannels}, H, W], got [${x.shape.join(', ')}]`);
    }
    const stem = reluInPlace(applyLayers(x, [this.conv1, this.bn1]));
    const features = applyLayers(stem, [this.maxpool,
      ...this.layer1.layers, ...this.layer2.layers, ...this.layer3.layers, ...this.layer4.layers, this.avgpool]);
    stem.dispose();
    const flat = features.flatten(1);
    features.dispose();
    const logits = this.fc.forward(flat);
    flat.dispose();
    return logits;
  }
}

/** ResNet-18 (11.7M parameters with 1000 classes), torchvision-compatible. */
export function resnet18(numClasses = 1000, options: ResNetOptions = {}): ResNet {
  return new ResNet(BasicBlock, [2, 2, 2, 2], numClasses, options);
}

/** ResNet-34 (21.8M parameters with 1000 classes), torchvision-compatible. */
export function resnet34(numClasses = 1000, options: ResNetOptions = {}): ResNet {
  return new ResNet(BasicBlock, [3, 4, 6, 3], numClasses, options);
}

/** ResNet-50 (25.6M parameters with 1000 classes, bottleneck blocks), torchvision-compatible. */
export function resnet50(numClasses = 1000, options: ResNetOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 6, 3], numClasses, options);
}
