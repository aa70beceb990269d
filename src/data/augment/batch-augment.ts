/**
 * Batch augmentation of in-memory image batches: random crops with padding, horizontal flips and
 * random erasing, drawn per sample from a seeded generator and applied with a few libtorch ops per batch.
 */
import { Random, type Tensor, noGrad, ones, op, tensor, tidy, where } from '../../tensor/index.js';

/** Options of {@link BatchAugment}; everything is off unless asked for. */
export interface BatchAugmentOptions {
  /** Random crops of the input size from the batch padded by this many pixels on each side (default 0: none). */
  padding?: number;
  /** Padding value per channel (or one for all), in the batch's units (default 0). */
  fill?: number | number[];
  /** Mirror each image left-right with probability 0.5 (default false). */
  flip?: boolean;
  /** Probability of erasing one random rectangle per image (Zhong et al.'s random erasing; default 0). */
  erasing?: number;
  /** Erased area as a fraction of the image, [min, max] (default [0.02, 0.25]). */
  erasingScale?: [number, number];
  /** Aspect ratio (height / width) of the erased rectangle, [min, max], drawn log-uniformly (default [0.3, 3.3]). */
  erasingRatio?: [number, number];
  /** Value written into erased rectangles per channel (or one for all; default 0, the mean after normalisation). */
  erasingValue?: number | number[];
  /** Seed of the generator (default 0). */
  seed?: number;
}

/** The random draws of one batch, one entry per sample (what {@link BatchAugment.apply} does). */
export interface AugmentDraws {
  /** Top-left corner of each crop in the padded image (0 .. 2 * padding). */
  dy: Int32Array;
  dx: Int32Array;
  /** 1 where the sample is mirrored. */
  flip: Uint8Array;
  /** The erased rectangle of each sample (height 0 where none): top, left, height, width. */
  erase: { top: Int32Array; left: Int32Array; height: Int32Array; width: Int32Array };
}

function checkRange(name: string, range: [number, number], low: number, high: number): void {
  if (!(Array.isArray(range) && range.length === 2 && range[0] >= low && range[1] <= high && range[0] <= range[1])) {
    throw new Error(`BatchAugment: ${name} must be [min, max] with ${low} <= min <= max <= ${high}, got ${JSON.stringify(range)}`);
  }
}

function perChannel(name: string, value: number | number[], channels: number): number[] {
  const values = typeof value === 'number' ? new Array<number>(channels).fill(value) : value;
  if (values.length !== channels || !values.every(Number.isFinite)) {
    throw new Error(`BatchAugment: ${name} needs one finite value or ${channels} (one per channel), got ${JSON.stringify(value)}`);
  }
  return values;
}

/**
 * Seeded augmentation of [N, C, H, W] float batches that keeps their shape: each sample gets its
 * own crop offset, flip and erased rectangle. The draws come from a small JS generator (sfc32), so
 * a seed fixes them whatever else uses libtorch's generator, and getState()/setState() resume them.
 */
export class BatchAugment {
  readonly padding: number;
  readonly flip: boolean;
  readonly erasing: number;
  readonly erasingScale: [number, number];
  readonly erasingRatio: [number, number];
  private readonly fill: number | number[];
  private readonly erasingValue: number | number[];
  private readonly random: Random;

  /** An augmentation with the given pieces switched on. */
  constructor(options: BatchAugmentOptions = {}) {
    this.padding = options.padding ?? 0;
    if (!Number.isInteger(this.padding) || this.padding < 0) throw new Error(`BatchAugment: padding must be a non-negative integer, got ${this.padding}`);
    this.flip = options.flip ?? false;
    this.erasing = options.erasing ?? 0;
    if (!(this.erasing >= 0 && this.erasing <= 1)) throw new Error(`BatchAugment: erasing must be a probability in [0, 1], got ${this.erasing}`);
    this.erasingScale = options.erasingScale ?? [0.02, 0.25];
    this.erasingRatio = options.erasingRatio ?? [0.3, 3.3];
    checkRange('erasingScale', this.erasingScale, 0, 1);
    checkRange('erasingRatio', this.erasingRatio, Number.MIN_VALUE, Infinity);
    this.fill = options.fill ?? 0;
    this.erasingValue = options.erasingValue ?? 0;
    this.random = new Random(options.seed ?? 0);
  }

  /** Whether it changes anything at all. */
  get active(): boolean { return this.padding > 0 || this.flip || this.erasing > 0; }

  /**
   * Draws the next batch's parameters for `n` samples of `height` x `width`. Per sample, in this
   * order: crop row and column offsets, flip, then erasing (whether, area, log-ratio, top, left);
   * a piece that is off draws nothing.
   */
  draw(n: number, height: number, width: number): AugmentDraws {
    const rng = this.random;
    const span = 2 * this.padding + 1;
    const out: AugmentDraws = {
      dy: new Int32Array(n), dx: new Int32Array(n), flip: new Uint8Array(n),
      erase: { top: new Int32Array(n), left: new Int32Array(n), height: new Int32Array(n), width: new Int32Array(n) },
    };
    const [logLow, logHigh] = this.erasingRatio.map(Math.log);
    for (let i = 0; i < n; i++) {
      if (this.padding > 0) { out.dy[i] = rng.int(span); out.dx[i] = rng.int(span); }
      if (this.flip) out.flip[i] = rng.next() < 0.5 ? 1 : 0;
      if (this.erasing > 0 && rng.next() < this.erasing) {
        const area = (this.erasingScale[0] + rng.next() * (this.erasingScale[1] - this.erasingScale[0])) * height * width;
        const ratio = Math.exp(logLow + rng.next() * (logHigh - logLow));
        const h = Math.min(height, Math.max(1, Math.round(Math.sqrt(area * ratio))));
        const w = Math.min(width, Math.max(1, Math.round(Math.sqrt(area / ratio))));
        out.erase.top[i] = rng.int(height - h + 1);
        out.erase.left[i] = rng.int(width - w + 1);
        out.erase.height[i] = h;
        out.erase.width[i] = w;
      }
    }
    return out;
  }

  /** A new, augmented copy of `x` [N, C, H, W] (x itself is left alone); draws the next parameters. */
  apply(x: Tensor): Tensor {
    if (x.rank !== 4) throw new Error(`BatchAugment: inputs must be [N, C, H, W], got [${x.shape.join(', ')}]`);
    const [n, , height, width] = x.shape;
    return this.applyDraws(x, this.draw(n, height, width));
  }

  /** Applies given draws to `x` (a new tensor): crop and flip by two gathers, erasing by one masked write. */
  applyDraws(x: Tensor, draws: AugmentDraws): Tensor {
    const [n, channels, height, width] = x.shape;
    return noGrad(() => tidy(() => {
      let out = x;
      if (this.padding > 0 || this.flip) {
        const p = this.padding;
        const padded = p > 0 ? padConstant(x, p, perChannel('fill', this.fill, channels)) : x;
        const rows = new Int32Array(n * height);
        const cols = new Int32Array(n * width);
        for (let i = 0; i < n; i++) {
          for (let r = 0; r < height; r++) rows[i * height + r] = r + draws.dy[i];
          for (let c = 0; c < width; c++) cols[i * width + c] = (draws.flip[i] ? width - 1 - c : c) + draws.dx[i];
        }
        // NOTE: a crop plus a mirror is a choice of source row per output row and source column per
        // output column: two gathers with broadcast (expanded) indices do every sample at once.
        const rowIndex = tensor(rows, [n, 1, height, 1]).long().expand([n, channels, height, width + 2 * p]);
        const colIndex = tensor(cols, [n, 1, 1, width]).long().expand([n, channels, height, width]);
        out = padded.gather(2, rowIndex).gather(3, colIndex);
      }
      if (this.erasing > 0) {
        const mask = new Uint8Array(n * height * width);
        const { top, left, height: h, width: w } = draws.erase;
        for (let i = 0; i < n; i++) {
          for (let r = top[i]; r < top[i] + h[i]; r++) mask.fill(1, (i * height + r) * width + left[i], (i * height + r) * width + left[i] + w[i]);
        }
        const value = tensor(Float32Array.from(perChannel('erasingValue', this.erasingValue, channels)), [1, channels, 1, 1]).to(out.dtype);
        out = where(tensor(mask, [n, 1, height, width], { dtype: 'bool' }), value, out);
      }
      return out === x ? x.clone() : out;
    }));
  }

  /** The generator's state (to resume the same draws). */
  getState(): number[] { return this.random.getState(); }

  /** Restores a state from getState(). */
  setState(state: readonly number[]): void { this.random.setState(state); }

  /** One line naming the pieces that are on. */
  toString(): string {
    const parts: string[] = [];
    if (this.padding > 0) parts.push(`random crop (padding ${this.padding})`);
    if (this.flip) parts.push('horizontal flip');
    if (this.erasing > 0) parts.push(`random erasing (p ${this.erasing}, area ${this.erasingScale.join('-')})`);
    return parts.length ? parts.join(', ') : 'none';
  }
}

/** `x` padded by `p` pixels on every side with a value per channel. */
function padConstant(x: Tensor, p: number, fill: number[]): Tensor {
  const pad = [p, p, p, p];
  const padded = op('aten::constant_pad_nd', '', [x.handle, pad, fill[0]]);
  if (fill.every((v) => v === fill[0])) return padded;
  // NOTE: constant_pad_nd takes one value: the border of the other channels is written by a mask, exactly.
  const [, , height, width] = x.shape;
  const inside = op('aten::constant_pad_nd', '', [ones([1, 1, height, width], { dtype: 'bool' }).handle, pad, 0]);
  return where(inside, padded, tensor(Float32Array.from(fill), [1, fill.length, 1, 1]).to(x.dtype));
}
