/** Seeded randomness: libtorch's global generator and a small JS generator for shuffling. */
import { native } from './native.js';
import { Tensor } from './tensor.js';

/** Seeds libtorch's global CPU generator (weight init, dropout, rand*) like torch.manual_seed. */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}

/** Snapshot of libtorch's generator state (a uint8 tensor). */
export function getRngState(): Tensor {
  return new Tensor(native.getRngState());
}

/** Restores a snapshot taken by getRngState(). */
export function setRngState(state: Tensor): void {
  native.setRngState(state.handle);
}

/** A small seeded generator (sfc32) for data order; its state is four uint32s. */
export class Random {
  private a: number; private b: number; private c: number; private d: number;

  /** Seeds from a number. */
  constructor(seed = 0) {
    // NOTE: splitmix32 spreads small seeds over the whole state.
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next(); this.b = next(); this.c = next(); this.d = next();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** Next uint32. */
  uint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number { return this.uint32() / 4294967296; }

  /** Integer in [0, n). */
  int(n: number): number { return Math.floor(this.next() * n); }

  /** A random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = out[i]; out[i] = out[j]; out[j] = tmp;
    }
    return out;
  }

  /** The state, to save and restore later. */
  getState(): number[] { return [this.a, this.b, this.c, this.d]; }

  /** Restores a state from getState(). */
  setState(state: readonly number[]): void {
    if (state.length !== 4) throw new Error('Random state must have 4 numbers');
    [this.a, this.b, this.c, this.d] = state.map((v) => v >>> 0);
  }
}
