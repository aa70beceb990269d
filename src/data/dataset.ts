/** In-memory image datasets held as libtorch tensors; batches are assembled natively. */
import { type Tensor, keep, noGrad, tensor, tidy } from '../tensor/index.js';

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
    if (this.normalize && !this.normalize.std.every((v) => Number.isFinite(v) && v > 0)) {
      throw new Error(`TensorDataset: normalize std values must be positive, got [${this.normalize.std.join(', ')}]`);
    }
    // NOTE: kept only once every check has passed, so a constructor that throws inside a tidy leaks nothing.
    keep(images); keep(labels);
    this.meanTensor = this.normalize ? keep(tensor(Float32Array.from(this.normalize.mean), [1, channels, 1, 1])) : null;
    this.stdTensor = this.normalize ? keep(tensor(Float32Array.from(this.normalize.std), [1, channels, 1, 1])) : null;
  }

  /** Number of samples. */
  get length(): number { return this.images.shape[0]; }

  /** Shape of one image (C, H, W). */
  get itemShape(): number[] { return this.images.shape.slice(1); }

  /** Gathers samples, scales uint8 to [0, 1], normalises; returns new tensors. */
  getBatch(indices: Int32Array): Batch {
    this.checkIndices(indices);
    return noGrad(() => tidy(() => {
      const index = tensor(indices).long();
      let x = this.images.indexSelect(0, index);
      x = x.dtype === 'uint8' ? x.float().div(255) : x.float();
      if (this.meanTensor && this.stdTensor) x = x.sub(this.meanTensor).div(this.stdTensor);
      return { x, y: this.labels.indexSelect(0, index) };
    }));
  }

  // NOTE: checked in JS (O(batch)) so a bad index is a clear error rather than libtorch's index_select message.
  private checkIndices(indices: Int32Array): void {
    for (let i = 0; i < indices.length; i++) {
      if (indices[i] < 0 || indices[i] >= this.length) {
        throw new Error(`TensorDataset: index ${indices[i]} out of range for ${this.length} samples`);
      }
    }
  }

  /** The same images and labels with another normalisation (shares storage with this one). */
  withNormalize(normalize: Normalize | null): TensorDataset {
    return new TensorDataset(this.images, this.labels, { classes: this.classes, normalize });
  }

  /** A new dataset of the given samples (copied). */
  subset(indices: Int32Array): TensorDataset {
    this.checkIndices(indices);
    return tidy(() => {
      const index = tensor(indices).long();
      return new TensorDataset(this.images.indexSelect(0, index), this.labels.indexSelect(0, index), { classes: this.classes, normalize: this.normalize });
    });
  }

  /** Per-channel mean and standard deviation (population) of pixels scaled to [0, 1], in chunks. */
  computeStats(chunk = 8192): Normalize {
    const channels = this.images.shape[1];
    if (this.length === 0) throw new Error('TensorDataset: cannot compute statistics of an empty dataset');
    const sum = new Float64Array(channels);
    const sumSquares = new Float64Array(channels);
    for (let start = 0; start < this.length; start += chunk) {
      // NOTE: one tidy per chunk bounds peak memory to one float64 chunk (Fashion-MNIST whole would be 376 MB).
      noGrad(() => tidy(() => {
        const part = this.images.slice(0, start, Math.min(this.length, start + chunk)).to('float64');
        const x = this.images.dtype === 'uint8' ? part.div(255) : part;
        const s = x.sum([0, 2, 3]).toArray() as Float64Array;
        const q = x.square().sum([0, 2, 3]).toArray() as Float64Array;
        for (let c = 0; c < channels; c++) { sum[c] += s[c]; sumSquares[c] += q[c]; }
      }));
    }
    const count = this.length * this.images.shape[2] * this.images.shape[3];
    const mean = Array.from(sum, (v) => v / count);
    // NOTE: a constant channel has std 0; 1 keeps normalisation finite (it then only centres that channel).
    const std = Array.from(sumSquares, (v, c) => Math.sqrt(Math.max(0, v / count - mean[c] * mean[c])) || 1);
    return { mean, std };
  }

  /** Frees the images and labels (and every dataset sharing them). */
  dispose(): void {
    this.images.dispose(); this.labels.dispose();
    this.meanTensor?.dispose(); this.stdTensor?.dispose();
  }
}
