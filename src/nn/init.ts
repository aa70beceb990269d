/** Weight initialisers (PyTorch's nn.init), drawing from the global seeded generator. */
import { type Tensor, empty, noGrad, tidy } from '../tensor/index.js';

// NOTE: random fills draw in storage order; for channels-last weights, draw in logical (NCHW)
// order into a temporary so a seeded model gets the same values as PyTorch's.
function fill(t: Tensor, draw: (target: Tensor) => void): Tensor {
  noGrad(() => {
    if (t.isContiguous) { draw(t); return; }
    tidy(() => { const tmp = empty(t.shape, { dtype: t.dtype }); draw(tmp); t.copy_(tmp); });
  });
  return t;
}

/** Fan-in and fan-out of a weight shaped [out, in, ...kernel]. */
export function fans(shape: number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`fan in/out needs a weight with 2+ dims, got [${shape.join(', ')}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** Gain for a nonlinearity (nn.init.calculate_gain). */
export function calculateGain(nonlinearity: 'linear' | 'relu' | 'leaky_relu' | 'tanh' | 'sigmoid', param = 0.01): number {
  switch (nonlinearity) {
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': return Math.sqrt(2 / (1 + param * param));
    case 'tanh': return 5 / 3;
    default: return 1;
  }
}

/** In place U(-bound, bound) with bound = gain * sqrt(3 / fan) (He uniform). */
export function kaimingUniform(t: Tensor, options: { a?: number; mode?: 'fanIn' | 'fanOut'; nonlinearity?: 'relu' | 'leaky_relu' } = {}): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  const fan = options.mode === 'fanOut' ? fanOut : fanIn;
  const gain = calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0);
  const bound = Math.sqrt(3) * (gain / Math.sqrt(fan));
  return fill(t, (x) => x.uniform_(-bound, bound));
}

/** In place N(0, std) with std = gain / sqrt(fan) (He normal). */
export function kaimingNormal(t: Tensor, options: { a?: number; mode?: 'fanIn' | 'fanOut'; nonlinearity?: 'relu' | 'leaky_relu' } = {}): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  const fan = options.mode === 'fanOut' ? fanOut : fanIn;
  const std = calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0) / Math.sqrt(fan);
  return fill(t, (x) => x.normal_(0, std));
}

/** In place Glorot/Xavier uniform. */
export function xavierUniform(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = fans(t.shape);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return fill(t, (x) => x.uniform_(-bound, bound));
}

/** In place U(low, high). */
export function uniform(t: Tensor, low: number, high: number): Tensor {
  return fill(t, (x) => x.uniform_(low, high));
}

/** In place constant. */
export function constant(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}
