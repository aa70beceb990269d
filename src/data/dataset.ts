/** In-memory image datasets held as libtorch tensors; batches are assembled natively. */
import { type Tensor, keep, noGrad, tensor, tidy, zeros } from '../tensor/index.js';

/** One batch: inputs (float32 NCHW) and targets (int64 class indices). The consumer disposes it. */
export interface Batch {
  x: Tensor;
  y: Tensor;
}

/** Per-channel normalisation applied after scaling pixels to [0, 1]. */
export interface Normalize {
  mean: number[];
  std: number[];
}

/** Anything that can assemble a batch from sample indices. */
export interface Dataset {
  /** Number of samples. */
  readonly length: number;
  /** Class names by label index. */
  readonly classes: string[];
  /** Shape of one input (C, H, W). */
  readonly itemShape: number[];
  /** Builds the batch of the given samples (new tensors the caller owns). */
  getBatch(indices: Int32Array): Batch;
}

/** Options of a TensorDataset. */
export interface TensorDatasetOptions {
  /** Class names (default '0'..'K-1' from the largest label). */
  classes?: string[];
  /** Per-channel normalisation after scaling to [0, 1]. */
  normalize?: Normalize | null;
}

/**
 * Images [N, C, H, W] (uint8 pixels, or float already in [0, 1]) and int64 labels [N], kept in
 * libtorch memory. Batches are gathered with index_select, converted and normalised natively.
 */
export class TensorDataset implements Dataset {
  readonly classes: string[];
  readonly normalize: Normalize | null;
  private readonly meanTensor: Tensor | null;
  private readonly stdTensor: Tensor | null;

  /** Takes ownership of `images` and `labels` (they survive scopes until dispose()). */
  constructor(readonly images: Tensor, readonly labels: Tensor, options: TensorDatasetOptions = {}) {
    if (images.rank !== 4) throw new Error(`TensorDataset: images must be [N, C, H, W], got [${images.shape.join(', ')}]`);
    if (labels.rank !== 1 || labels.shape[0] !== images.shape[0]) {
      throw new Error(`TensorDataset: ${images.shape[0]} images but labels of shape [${labels.shape.join(', ')}]`);
    }
    if (labels.dtype !== 'int64') throw new Error(`TensorDataset: labels must be int64, got ${labels.dtype}`);
    keep(images); keep(labels);
    const maxLabel = labels.shape[0] > 0 ? tidy(() => labels.max().item()) : -1;
    this.classes = options.classes ?? Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
    if (maxLabel >= this.classes.length) {
      throw new Error(`TensorDataset: label ${maxLabel} out of range for ${this.classes.length} classes`);
    }
    this.normalize = options.normalize ?? null;
    const channels = images.shape[1];
    if (this.normalize && (this.normalize.mean.length !== channels || this.normalize.std.length !== channels)) {
      throw new Error(`TensorDataset: normalize needs ${channels} mean and std values, got ${this.normalize.mean.length} and ${this.normalize.std.length}`);
    }
    this.meanTensor = this.normalize ? keep(tensor(Float32Array.from(this.normalize.mean), [1, channels, 1, 1])) : null;
    this.stdTensor = this.normalize ? keep(tensor(Float32Array.from(this.normalize.std), [1, channels, 1, 1])) : null;
  }

  /** Number of samples. */
  get length(): number { return this.images.shape[0]; }

  /** Shape of one image (C, H, W). */
  get itemShape(): number[] { return this.images.shape.slice(1); }

  /** Gathers samples, scales uint8 to [0, 1], normalises; returns new tensors. */
  getBatch(indices: Int32Array): Batch {
    return noGrad(() => tidy(() => {
      const index = tensor(indices).long();
      let x = this.images.indexSelect(0, index);
      x = x.dtype === 'uint8' ? x.float().div(255) : x.float();
      if (this.meanTensor && this.stdTensor) x = x.sub(this.meanTensor).div(this.stdTensor);
      return { x, y: this.labels.indexSelect(0, index) };
    }));
  }

  /** The same images and labels with another normalisation (shares storage with this one). */
  withNormalize(normalize: Normalize | null): TensorDataset {
    return new TensorDataset(this.images, this.labels, { classes: this.classes, normalize });
  }

  /** A new dataset of the given samples (copied). */
  subset(indices: Int32Array): TensorDataset {
    return tidy(() => {
      const index = tensor(indices).long();
      return new TensorDataset(this.images.indexSelect(0, index), this.labels.indexSelect(0, index), { classes: this.classes, normalize: this.normalize });
    });
  }

  /** Per-channel mean and standard deviation of pixels scaled to [0, 1] (in chunks). */
  computeStats(chunk = 8192): Normalize {
    const channels = this.images.shape[1];
    return noGrad(() => tidy(() => {
      let sum = zeros([channels], { dtype: 'float64' });
      let sumSquares = zeros([channels], { dtype: 'float64' });
      for (let start = 0; start < this.length; start += chunk) {
        const part = this.images.slice(0, start, Math.min(this.length, start + chunk)).to('float64');
        const x = this.images.dtype === 'uint8' ? part.div(255) : part;
        sum = sum.add(x.sum([0, 2, 3]));
        sumSquares = sumSquares.add(x.square().sum([0, 2, 3]));
      }
      const count = this.length * this.images.shape[2] * this.images.shape[3];
      const mean = sum.div(count);
      const variance = sumSquares.div(count).sub(mean.square());
      const std = variance.clamp(0).sqrt();
      return { mean: Array.from(mean.toArray() as Float64Array), std: Array.from(std.toArray() as Float64Array, (s) => s || 1) };
    }));
  }

  /** Frees the images and labels (and every dataset sharing them). */
  dispose(): void {
    this.images.dispose(); this.labels.dispose();
    this.meanTensor?.dispose(); this.stdTensor?.dispose();
  }
}
