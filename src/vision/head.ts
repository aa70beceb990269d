/** fastai's classification head for a pretrained body: concat pooling, then batch norm, dropout and linear layers. */
import { type Tensor, cat, functional, tidy } from '../tensor/index.js';
import { AdaptiveAvgPool2d, BatchNorm1d, Dropout, Flatten, Linear, Module, ReLU, Sequential, init } from '../nn/index.js';

/** Adaptive max and average pooling concatenated on channels, max first (fastai's AdaptiveConcatPool2d): 2C channels. */
export class AdaptiveConcatPool2d extends Module {
  /** Pools to `size` x `size` (default 1). */
  constructor(readonly size = 1) {
    super();
    if (!Number.isInteger(size) || size < 1) throw new Error(`AdaptiveConcatPool2d: size must be a positive integer, got ${size}`);
  }

  override forward(x: Tensor): Tensor {
    if (x.rank !== 4) throw new Error(`AdaptiveConcatPool2d expects NCHW input (4 dims), got shape [${x.shape.join(', ')}]`);
    return tidy(() => cat([functional.adaptiveMaxPool2d(x, this.size), functional.adaptiveAvgPool2d(x, this.size)], 1));
  }

  override extraRepr(): string { return `size=${this.size}`; }
}

/** Options of createHead (fastai's create_head). */
export interface HeadOptions {
  /** Sizes of the hidden linear layers (default [512]). */
  linFtrs?: number[];
  /**
   * Dropout before each linear layer: one number p gives p / 2 before every hidden layer and p
   * before the last (default 0.5: 0.25 then 0.5), or one value per linear layer. 0 leaves it out.
   */
  ps?: number | number[];
  /** Concatenate max and average pooling (default true; false: average pooling only). */
  concatPool?: boolean;
  /** Batch norm before the first linear layer (default true). */
  firstBn?: boolean;
  /** Batch norm (momentum 0.01) after the last linear layer (default false). */
  bnFinal?: boolean;
}

/** fastai's BatchNorm(nf, ndim=1): weight 1, bias 1e-3. */
function batchNorm1d(features: number, momentum?: number): BatchNorm1d {
  const bn = new BatchNorm1d(features, momentum === undefined ? {} : { momentum });
  init.constant(bn.bias!, 1e-3);
  return bn;
}

/**
 * fastai's create_head for a body with `nf` output channels: pooling (concat: 2 * nf features),
 * Flatten, then per linear layer BatchNorm1d, Dropout, Linear (no bias after batch norm) and ReLU
 * between them. The default for nf = 512 and 10 classes: AdaptiveConcatPool2d, Flatten,
 * BatchNorm1d(1024), Dropout(0.25), Linear(1024, 512), ReLU, BatchNorm1d(512), Dropout(0.5),
 * Linear(512, 10). Initialised like fastai's apply_init: linear weights kaiming normal (fan in),
 * biases zero, batch norm weight 1 and bias 1e-3.
 */
export function createHead(nf: number, nOut: number, options: HeadOptions = {}): Sequential {
  const { linFtrs = [512], ps = 0.5, concatPool = true, firstBn = true, bnFinal = false } = options;
  for (const [name, value] of [['nf', nf], ['nOut', nOut], ...linFtrs.map((v, i) => [`linFtrs[${i}]`, v] as const)] as const) {
    if (!Number.isInteger(value) || (value as number) < 1) throw new Error(`head.ts: ${name} must be a positive integer, got ${String(value)}`);
  }
  const sizes = [concatPool ? 2 * nf : nf, ...linFtrs, nOut];
  const linears = sizes.length - 1;
  const drops = Array.isArray(ps) ? ps : [...new Array<number>(linears - 1).fill(ps / 2), ps];
  if (drops.length !== linears) throw new Error(`head.ts: ps has ${drops.length} values for ${linears} linear layers`);
  for (const p of drops) if (!(p >= 0 && p < 1)) throw new Error(`head.ts: dropout probabilities must be in [0, 1), got ${p}`);
  const layers: Module[] = [concatPool ? new AdaptiveConcatPool2d(1) : new AdaptiveAvgPool2d(1), new Flatten()];
  for (let i = 0; i < linears; i++) {
    const bn = i > 0 || firstBn;
    if (bn) layers.push(batchNorm1d(sizes[i]));
    if (drops[i] !== 0) layers.push(new Dropout(drops[i]));
    layers.push(new Linear(sizes[i], sizes[i + 1], { bias: !bn }));
    if (i < linears - 1) layers.push(new ReLU());
  }
  if (bnFinal) layers.push(batchNorm1d(nOut, 0.01));
  const head = new Sequential(...layers);
  initHead(head);
  return head;
}

/** fastai's apply_init(head, kaiming_normal_): every linear weight kaiming normal (fan in), biases zero; batch norm untouched. */
export function initHead(head: Module): void {
  for (const [, module] of head.namedModules()) {
    if (!(module instanceof Linear)) continue;
    init.kaimingNormal(module.weight);
    if (module.bias) init.constant(module.bias, 0);
  }
}
