/** Keras weight layouts to PyTorch/Kestrel layouts, all in one place. */
import { type Tensor, tidy } from '../../tensor/index.js';

/** How a Keras weight becomes a Kestrel parameter. */
export type LayoutConversion = 'conv' | 'depthwise' | 'dense' | 'none';

/**
 * Converts a Keras weight to Kestrel's layout (a new contiguous tensor; the input is kept):
 * - `conv`: Conv2D kernel [kh, kw, in, out] (HWIO) -> [out, in, kh, kw] (OIHW);
 * - `depthwise`: DepthwiseConv2D kernel [kh, kw, C, m] -> [C*m, 1, kh, kw] (a grouped
 *   convolution with groups = C; output channel c*m + j in both frameworks);
 * - `dense`: Dense kernel [in, out] -> Linear weight [out, in];
 * - `none`: vectors (biases, batch-norm gamma/beta/moving_mean/moving_variance) as they are.
 */
export function toKestrelLayout(weight: Tensor, conversion: LayoutConversion): Tensor {
  const s = weight.shape;
  const expectRank = (rank: number): void => {
    if (s.length !== rank) throw new Error(`a ${conversion} kernel must have ${rank} dimensions, got shape [${s.join(', ')}]`);
  };
  switch (conversion) {
    case 'conv':
      expectRank(4);
      return tidy(() => weight.permute(3, 2, 0, 1).contiguous());
    case 'depthwise':
      expectRank(4);
      return tidy(() => weight.permute(2, 3, 0, 1).reshape(s[2] * s[3], 1, s[0], s[1]));
    case 'dense':
      expectRank(2);
      return tidy(() => weight.t().contiguous());
    case 'none':
      return weight.clone();
  }
}

/** The Keras shape that a Kestrel parameter of shape `shape` is converted from. */
export function kerasShapeOf(shape: readonly number[], conversion: LayoutConversion, depthMultiplier = 1): number[] {
  switch (conversion) {
    case 'conv': return [shape[2], shape[3], shape[1], shape[0]];
    case 'depthwise': return [shape[2], shape[3], shape[0] / depthMultiplier, depthMultiplier];
    case 'dense': return [shape[1], shape[0]];
    case 'none': return [...shape];
  }
}

/** Keras batch-norm weight names to Kestrel's (PyTorch's) parameter and buffer names. */
export const BATCH_NORM_NAMES: Readonly<Record<string, string>> = Object.freeze({
  gamma: 'weight',
  beta: 'bias',
  moving_mean: 'running_mean',
  moving_variance: 'running_var',
});
