/** The part of vega-scale Kestrel uses (its package.json exports no types under NodeNext resolution). */
declare module 'vega-scale' {
  /** A named colour scheme's interpolator (t in [0, 1] to a CSS colour), or undefined for unknown names. */
  export function scheme(name: string): ((t: number) => string) | undefined;
}
