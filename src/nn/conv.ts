/** 2-D convolution layer. */
import { type Tensor, empty, functional, noGrad, op } from '../tensor/index.js';

/** c10::MemoryFormat::ChannelsLast. */
const CHANNELS_LAST = 2;
import { fans, kaimingUniform, uniform } from './init.js';
import { checkPositive } from './linear.js';
import { Module, Parameter } from './module.js';

type Pair = number | [number, number];

/** Options of Conv2d (PyTorch's names, camelCased). */
export interface Conv2dOptions {
  stride?: Pair;
  /** Zero padding per side, or 'same' (output size = input size; stride 1) or 'valid'. */
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/** 2-D convolution over NCHW input, initialised like torch.nn.Conv2d. */
export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly options: Required<Omit<Conv2dOptions, 'bias'>>;

  /** `inChannels` to `outChannels` with a square or [h, w] kernel. */
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, options: Conv2dOptions = {}) {
    super();
    this.kernelSize = Array.isArray(kernelSize) ? kernelSize : [kernelSize, kernelSize];
    const groups = options.groups ?? 1;
    checkPositive('Conv2d', { inChannels, outChannels, kernelHeight: this.kernelSize[0], kernelWidth: this.kernelSize[1], groups });
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new Error(`Conv2d: inChannels (${inChannels}) and outChannels (${outChannels}) must be divisible by groups (${groups})`);
    }
    const stride = options.stride ?? 1;
    if (options.padding === 'same' && (Array.isArray(stride) ? stride.some((s) => s !== 1) : stride !== 1)) {
      throw new Error("Conv2d: padding 'same' needs stride 1 (as in PyTorch); give explicit padding for strided convolutions");
    }
    this.options = { stride, padding: options.padding ?? 0, dilation: options.dilation ?? 1, groups };
    const shape = [outChannels, inChannels / groups, ...this.kernelSize];
    const weight = kaimingUniform(empty(shape), { a: Math.sqrt(5) });
    // NOTE: channels-last weights make oneDNN run conv, pooling and batch norm in NHWC without
    // per-call reorders: 1.5x faster training and 2.4x faster inference on mnist-cnn (BENCHMARKS.md).
    // Values are unchanged; clone (not contiguous) also re-strides [out, 1, k, k] weights.
    this.weight = new Parameter(noGrad(() => op('aten::clone', '', [weight.handle, CHANNELS_LAST])));
    weight.dispose();
    const bound = 1 / Math.sqrt(fans(shape).fanIn);
    this.bias = options.bias === false ? null : new Parameter(uniform(empty([outChannels]), -bound, bound));
  }

  #evalWeights: { weight: Tensor; bias: Tensor } | null = null;

  /**
   * Weight and bias to use instead of the parameters in eval mode (a following batch norm folded in,
   * see foldBatchNorm), or null to stop. The caller owns the tensors.
   */
  setEvalWeights(folded: { weight: Tensor; bias: Tensor } | null): void { this.#evalWeights = folded; }

  /** Whether eval mode uses folded weights (see setEvalWeights). */
  get hasEvalWeights(): boolean { return this.#evalWeights !== null; }

  override forward(x: Tensor): Tensor {
    if (x.rank !== 4 && x.rank !== 3) throw new Error(`Conv2d expects NCHW input (4 dims), got shape [${x.shape.join(', ')}]`);
    const channels = x.shape[x.rank - 3];
    if (channels !== this.inChannels) {
      throw new Error(`Conv2d(${this.inChannels} -> ${this.outChannels}) expects ${this.inChannels} input channels, got input of shape [${x.shape.join(', ')}]`);
    }
    const folded = this.training ? null : this.#evalWeights;
    if (folded) return functional.conv2d(x, folded.weight, folded.bias, this.options);
    return functional.conv2d(x, this.weight, this.bias, this.options);
  }

  override extraRepr(): string {
    const o = this.options;
    const extra = [`kernel=${this.kernelSize.join('x')}`];
    if (String(o.stride) !== '1') extra.push(`stride=${String(o.stride)}`);
    if (String(o.padding) !== '0') extra.push(`padding=${String(o.padding)}`);
    if (String(o.dilation) !== '1') extra.push(`dilation=${String(o.dilation)}`);
    if (o.groups !== 1) extra.push(`groups=${o.groups}`);
    if (!this.bias) extra.push('bias=false');
    return `${this.inChannels} -> ${this.outChannels}, ${extra.join(', ')}`;
  }
}
