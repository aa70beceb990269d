/** Hyper-parameter checks shared by the optimizers (clear Errors instead of NaN training). */

/** Throws unless `value` is a number >= 0 (NaN fails). */
export function checkNonNegative(where: string, name: string, value: unknown): void {
  if (typeof value !== 'number' || !(value >= 0)) throw new Error(`${where}: invalid ${name} ${String(value)} (must be a number >= 0)`);
}

/** Throws unless `value` is a boolean. */
export function checkBoolean(where: string, name: string, value: unknown): void {
  if (typeof value !== 'boolean') throw new Error(`${where}: ${name} must be true or false, got ${String(value)}`);
}
