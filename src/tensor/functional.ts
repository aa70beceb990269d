/** Neural-network ops on tensors (PyTorch's own kernels via the dispatcher). */
import { Tensor, op, opMany } from './tensor.js';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (Array.isArray(v) ? v : [v, v]);

/** x @ weight.T + bias. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return op('aten::linear', '', [x.handle, weight.handle, bias ? bias.handle : null]);
}

/** Options of conv2d. */
export interface Conv2dOptions {
  stride?: Pair;
  /** Zero padding per side, or 'same' / 'valid'. */
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
}

/** 2-D convolution of NCHW input with OIHW weight. */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, options: Conv2dOptions = {}): Tensor {
  const { stride = 1, padding = 0, dilation = 1, groups = 1 } = options;
  const b = bias ? bias.handle : null;
  if (typeof padding === 'string') {
    return op('aten::conv2d', 'padding', [x.handle, weight.handle, b, pair(stride), padding, pair(dilation), groups]);
  }
  return op('aten::conv2d', '', [x.handle, weight.handle, b, pair(stride), pair(padding), pair(dilation), groups]);
}

/** Options of the pooling ops. */
export interface PoolOptions {
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}

/** 2-D max pooling. */
export function maxPool2d(x: Tensor, kernelSize: Pair, options: PoolOptions & { dilation?: Pair } = {}): Tensor {
  const stride = options.stride ?? kernelSize;
  if (isPool2x2(x, kernelSize, stride, options)) return op('kestrel::max_pool2x2', '', [x.handle]);
  return op('aten::max_pool2d', '', [x.handle, pair(kernelSize), pair(stride), pair(options.padding ?? 0), pair(options.dilation ?? 1), options.ceilMode ?? false]);
}

// NOTE: the dtypes ATen's CPU max_pool2d takes (it has no float16 kernel; its error stays the user's answer).
const POOL_DTYPES: ReadonlySet<string> = new Set(['float32', 'bfloat16', 'float64']);

/**
 * Whether max pooling is the plain 2x2 window with stride 2 on a CPU batch, which Kestrel's own
 * kernel (native/pooling.cc) runs: same values and gradients as ATen's, several times faster in
 * bfloat16. NOTE: ceil mode only differs from floor mode on odd sizes, which stay with ATen.
 */
function isPool2x2(x: Tensor, kernelSize: Pair, stride: Pair, options: PoolOptions & { dilation?: Pair }): boolean {
  const same = (v: Pair | undefined, n: number) => v === undefined || pair(v).every((e) => e === n);
  if (!same(kernelSize, 2) || !same(stride, 2) || !same(options.padding, 0) || !same(options.dilation, 1)) return false;
  if (x.rank !== 4 || x.device !== 'cpu' || !POOL_DTYPES.has(x.dtype) || x.shape[2] < 2 || x.shape[3] < 2) return false;
  return !options.ceilMode || (x.shape[2] % 2 === 0 && x.shape[3] % 2 === 0);
}

/** 2-D average pooling. */
export function avgPool2d(x: Tensor, kernelSize: Pair, options: PoolOptions & { countIncludePad?: boolean } = {}): Tensor {
  const stride = options.stride ?? kernelSize;
  return op('aten::avg_pool2d', '', [x.handle, pair(kernelSize), pair(stride), pair(options.padding ?? 0), options.ceilMode ?? false, options.countIncludePad ?? true, null]);
}

/** Average pooling to a fixed output size. */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  return op('aten::adaptive_avg_pool2d', '', [x.handle, pair(outputSize)]);
}

/** Max pooling to a fixed output size (the indices are dropped). */
export function adaptiveMaxPool2d(x: Tensor, outputSize: Pair): Tensor {
  const [values, indices] = opMany('aten::adaptive_max_pool2d', '', [x.handle, pair(outputSize)]);
  indices.dispose();
  return values;
}

/** Constant padding of the last dims: `pad` = [left, right, top, bottom, ...] (negative crops), like F.pad. */
export function pad(x: Tensor, pad: number[], value = 0): Tensor {
  return op('aten::constant_pad_nd', '', [x.handle, pad, value]);
}

/** Batch normalisation (training mode updates running stats in place). */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null, bias: Tensor | null,
  options: { training: boolean; momentum?: number; eps?: number }): Tensor {
  const h = (t: Tensor | null) => (t ? t.handle : null);
  return op('aten::batch_norm', '', [x.handle, h(weight), h(bias), h(runningMean), h(runningVar), options.training, options.momentum ?? 0.1, options.eps ?? 1e-5, false]);
}

/** Zeroes elements with probability p during training and rescales by 1/(1-p). */
export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout probability must be in [0, 1], got ${p}`); // NOTE: also refuses NaN
  return op('aten::dropout', '', [x.handle, p, training]);
}

/** max(x, 0). */
export function relu(x: Tensor): Tensor { return x.relu(); }

/** x for x > 0, slope * x otherwise. */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor { return op('aten::leaky_relu', '', [x.handle, negativeSlope]); }

/** min(max(x, min), max) (ReLU6 is hardtanh(x, 0, 6)). */
export function hardtanh(x: Tensor, min = -1, max = 1): Tensor { return op('aten::hardtanh', '', [x.handle, min, max]); }

/** x * relu6(x + 3) / 6 (MobileNetV3). */
export function hardswish(x: Tensor): Tensor { return op('aten::hardswish', '', [x.handle]); }

/** x * sigmoid(x) (Swish). */
export function silu(x: Tensor): Tensor { return op('aten::silu', '', [x.handle]); }

/** Softmax along `dim`. */
export function softmax(x: Tensor, dim = -1): Tensor { return x.softmax(dim); }

/** Log-softmax along `dim`. */
export function logSoftmax(x: Tensor, dim = -1): Tensor { return x.logSoftmax(dim); }
