/**
 * Per-group learning rates ("discriminative learning rates"): one number for every group, one
 * number per group, or fastai's `slice(lo, hi)` / `slice(hi)` written `lrSlice(lo, hi)` / `lrSlice(hi)`.
 */

/** fastai's `slice(start, stop)` of learning rates, resolved against the number of parameter groups. */
export interface LrSlice {
  readonly kind: 'lrSlice';
  /** Learning rate of the first group (absent: every group but the last gets stop / 10). */
  readonly start?: number;
  /** Learning rate of the last group (the head). */
  readonly stop: number;
}

/** A learning rate for every parameter group: one number, one per group, or an lrSlice. */
export type LrSpec = number | readonly number[] | LrSlice;

/**
 * fastai's `slice(hi)`: every group gets hi / 10 except the last, which gets hi. With two
 * arguments, `slice(lo, hi)`: rates grow geometrically from lo (first group) to hi (last group).
 */
export function lrSlice(stop: number): LrSlice;
/** `slice(lo, hi)`: geometric steps from `start` (first group) to `stop` (last group). */
export function lrSlice(start: number, stop: number): LrSlice;
export function lrSlice(a: number, b?: number): LrSlice {
  const [start, stop] = b === undefined ? [undefined, a] : [a, b];
  if (!(typeof stop === 'number' && stop > 0 && Number.isFinite(stop))) throw new Error(`lr-spec.ts: lrSlice needs a positive finite upper learning rate, got ${String(stop)}`);
  // NOTE: fastai treats slice(0, hi) like slice(hi) (`if v.start:`); a zero start is almost always a typo, so it is refused.
  if (start !== undefined && !(typeof start === 'number' && start > 0 && Number.isFinite(start))) {
    throw new Error(`lr-spec.ts: lrSlice(lo, hi) needs a positive finite lo, got ${String(start)}`);
  }
  return start === undefined ? { kind: 'lrSlice', stop } : { kind: 'lrSlice', start, stop };
}

/** Whether a value is an LrSlice. */
export function isLrSlice(value: unknown): value is LrSlice {
  return typeof value === 'object' && value !== null && (value as LrSlice).kind === 'lrSlice';
}

/** fastai's even_mults: `n` values from `start` to `stop` in equal ratios (start * step^i); one value is `stop`. */
export function evenMults(start: number, stop: number, n: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`lr-spec.ts: evenMults needs a positive integer count, got ${n}`);
  if (n === 1) return [stop];
  const step = (stop / start) ** (1 / (n - 1));
  return Array.from({ length: n }, (_, i) => start * step ** i);
}

/** The learning rate of each of `groups` parameter groups for `spec` (fastai's set_hyper('lr', ...)). */
export function resolveLrs(spec: LrSpec, groups: number, where = 'lr'): number[] {
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`lr-spec.ts: need at least one parameter group, got ${groups}`);
  let lrs: number[];
  if (typeof spec === 'number') {
    lrs = new Array<number>(groups).fill(spec);
  } else if (isLrSlice(spec)) {
    lrs = spec.start !== undefined
      ? evenMults(spec.start, spec.stop, groups)
      : [...new Array<number>(groups - 1).fill(spec.stop / 10), spec.stop];
  } else if (Array.isArray(spec)) {
    const values = spec as readonly number[];
    if (values.length !== 1 && values.length !== groups) {
      throw new Error(`${where}: got ${values.length} learning rates for ${groups} parameter groups (give one, one per group, or lrSlice)`);
    }
    lrs = values.length === 1 ? new Array<number>(groups).fill(values[0]) : [...values];
  } else {
    throw new Error(`${where}: expected a number, an array of numbers or lrSlice(...), got ${JSON.stringify(spec)}`);
  }
  lrs.forEach((lr, i) => {
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) throw new Error(`${where}: learning rate of group ${i} must be a finite number >= 0, got ${String(lr)}`);
  });
  return lrs;
}

/** Short text for a spec (progress lines and errors): `3e-3`, `[1e-5, 1e-4, 1e-3]`, `lrSlice(1e-5, 1e-3)`. */
export function describeLrSpec(spec: LrSpec): string {
  const f = (x: number) => x.toExponential(2).replace(/\.?0+e/, 'e').replace('e+', 'e');
  if (typeof spec === 'number') return f(spec);
  if (isLrSlice(spec)) return spec.start === undefined ? `lrSlice(${f(spec.stop)})` : `lrSlice(${f(spec.start)}, ${f(spec.stop)})`;
  return `[${(spec as readonly number[]).map(f).join(', ')}]`;
}
