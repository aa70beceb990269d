/** Typed reads of a Keras layer config, with errors that name the option and the value found. */

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** A layer's `config` object as Keras or TF.js wrote it. */
export class KerasConfig {
  /** Wraps the raw config. */
  constructor(readonly raw: Record<string, unknown>) {}

  private value(key: string, fallback: unknown): unknown {
    const value = this.raw[key];
    return value === undefined || value === null ? fallback : value;
  }

  private fail(key: string, expected: string): never {
    throw new Error(`option '${key}' must be ${expected}, got ${show(this.raw[key])}`);
  }

  /** A finite number (default `fallback`). */
  number(key: string, fallback?: number): number {
    const value = this.value(key, fallback);
    if (typeof value !== 'number' || !Number.isFinite(value)) this.fail(key, 'a finite number');
    return value;
  }

  /** A finite number, or null when absent or null. */
  optionalNumber(key: string): number | null {
    return this.value(key, null) === null ? null : this.number(key);
  }

  /** A positive integer (default `fallback`). */
  int(key: string, fallback?: number): number {
    const value = this.value(key, fallback);
    if (!Number.isSafeInteger(value) || (value as number) <= 0) this.fail(key, 'a positive integer');
    return value as number;
  }

  /** An integer, possibly negative (axes). */
  axis(key: string, fallback?: number): number {
    let value = this.value(key, fallback);
    // NOTE: BatchNormalization may write its axis as a one-item list.
    if (Array.isArray(value) && value.length === 1) value = value[0];
    if (!Number.isSafeInteger(value)) this.fail(key, 'an integer axis');
    return value as number;
  }

  /** A boolean (default `fallback`). */
  bool(key: string, fallback: boolean): boolean {
    const value = this.value(key, fallback);
    if (typeof value !== 'boolean') this.fail(key, 'true or false');
    return value;
  }

  /** One of `allowed` (default `fallback`). */
  choice<T extends string>(key: string, allowed: readonly T[], fallback?: T): T {
    const value = this.value(key, fallback);
    if (!allowed.includes(value as T)) this.fail(key, `one of ${allowed.map((a) => `'${a}'`).join(', ')} (others are not supported)`);
    return value as T;
  }

  /** A positive integer or a pair of them, as [height, width] (default `fallback`). */
  pair(key: string, fallback?: [number, number]): [number, number] {
    const value = this.value(key, fallback);
    const ok = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
    if (ok(value)) return [value, value];
    if (Array.isArray(value) && value.length === 2 && value.every(ok)) return [value[0], value[1]];
    return this.fail(key, 'a positive integer or a pair of them');
  }

  /** A list of positive integers, one of which may be -1 (Reshape's target shape). */
  shape(key: string): number[] {
    const value = this.value(key, undefined);
    if (!Array.isArray(value) || !value.every((v) => Number.isSafeInteger(v) && (v > 0 || v === -1)) || value.filter((v) => v === -1).length > 1) {
      this.fail(key, 'a list of positive integers (one may be -1)');
    }
    return value as number[];
  }

  /** Refuses `data_format: channels_first` (Kestrel reads channels-last Keras models). */
  channelsLast(): void {
    this.choice('data_format', ['channels_last'], 'channels_last');
  }
}
