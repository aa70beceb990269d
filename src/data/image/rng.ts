/** Per-sample randomness: a generator derived from (seed, epoch, index), so augmentation does not depend on worker scheduling. */

function mix32(value: number): number {
  // NOTE: murmur3's finaliser; spreads nearby seeds (index 0, 1, 2...) over unrelated states.
  let z = value >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** A small deterministic generator (mulberry32) for one sample's augmentation draws. */
export class SampleRng {
  private state: number;

  /** Derives the stream for one sample of one epoch. */
  constructor(seed: number, epoch: number, index: number) {
    this.state = mix32(mix32(mix32(seed ^ 0x2545f491) ^ Math.imul(epoch + 1, 0x9e3779b9)) ^ Math.imul(index + 1, 0x632be5ab));
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number { return low + (high - low) * this.next(); }

  /** True with probability p. */
  chance(p: number): boolean { return this.next() < p; }
}

/** The order of samples for one epoch: a permutation seeded by (seed, epoch), or 0..n-1 when not shuffling. */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (!shuffle) return order;
  const rng = new SampleRng(seed, epoch, -2);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = order[i]; order[i] = order[j]; order[j] = t;
  }
  return order;
}
