/** Batch normalisation layers. */
import { type Tensor, functional, ones, op, zeros, scalar } from '../tensor/index.js';
import { Buffer, Module, Parameter } from './module.js';
import { checkPositive } from './linear.js';

/** Options of batch normalisation (PyTorch defaults). */
export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
  trackRunningStats?: boolean;
}

abstract class BatchNorm extends Module {
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  readonly running_mean: Buffer | null;
  readonly running_var: Buffer | null;
  readonly num_batches_tracked: Buffer | null;
  readonly eps: number;
  readonly momentum: number;
  protected abstract readonly inputRanks: number[];

  constructor(readonly numFeatures: number, options: BatchNormOptions = {}) {
    super();
    checkPositive(this.constructor.name, { numFeatures });
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    const affine = options.affine ?? true;
    this.weight = affine ? new Parameter(ones([numFeatures])) : null;
    this.bias = affine ? new Parameter(zeros([numFeatures])) : null;
    const track = options.trackRunningStats ?? true;
    // NOTE: snake_case buffer names match PyTorch state dicts, so weights load by name.
    this.running_mean = track ? new Buffer(zeros([numFeatures])) : null;
    this.running_var = track ? new Buffer(ones([numFeatures])) : null;
    this.num_batches_tracked = track ? new Buffer(scalar(0, { dtype: 'int64' })) : null;
  }

  override forward(x: Tensor): Tensor {
    if (!this.inputRanks.includes(x.rank) || x.shape[1] !== this.numFeatures) {
      throw new Error(`${this.constructor.name}(${this.numFeatures}) expects input of rank ${this.inputRanks.join(' or ')} with ${this.numFeatures} channels in dim 1, got shape [${x.shape.join(', ')}]`);
    }
    // NOTE: an alias (new handle, same data), not `x`: callers may free input and output separately.
    if (!this.training && this.#foldedAway) return op('aten::alias', '', [x.handle]);
    const useBatchStats = this.training || !this.running_mean;
    const valuesPerChannel = x.size / this.numFeatures;
    if (useBatchStats && valuesPerChannel === 1) {
      // NOTE: PyTorch raises here too (F.batch_norm); the kernel would silently give NaN running variance.
      throw new Error(`${this.constructor.name}: expected more than 1 value per channel when training, got input of shape [${x.shape.join(', ')}]`);
    }
    if (this.training && this.num_batches_tracked) this.num_batches_tracked.add_(1);
    return functional.batchNorm(x, this.running_mean, this.running_var, this.weight, this.bias, {
      training: useBatchStats, momentum: this.momentum, eps: this.eps,
    });
  }

  #foldedAway = false;

  /** In eval mode, passes its input through (its statistics are folded into the convolution before it; see foldBatchNorm). */
  setFoldedAway(folded: boolean): void { this.#foldedAway = folded; }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}`;
  }
}

/** Batch norm over (N, C) or (N, C, L) input. */
export class BatchNorm1d extends BatchNorm {
  protected readonly inputRanks = [2, 3];
}

/** Batch norm over NCHW input. */
export class BatchNorm2d extends BatchNorm {
  protected readonly inputRanks = [4];
}
