/** Deterministic memory: scopes that free every tensor created inside them (like tfjs `tidy`). */
import { native } from './native.js';

/** Anything a scope can free. */
export interface Trackable {
  /** Frees native memory; further use throws. */
  dispose(): void;
  /** Whether dispose() has run. */
  readonly isDisposed: boolean;
}

const scopes: Set<Trackable>[] = [];

/** Registers a new tensor with the innermost scope, if any (called by Tensor's constructor). */
export function track(item: Trackable): void {
  scopes[scopes.length - 1]?.add(item);
}

/** Removes a tensor from every open scope so it survives them; returns it. */
export function keep<T extends Trackable>(item: T): T {
  for (const scope of scopes) scope.delete(item);
  return item;
}

/** Frees tensors (arrays and plain objects of tensors are walked). */
export function dispose(items: unknown): void {
  forEachTrackable(items, (item) => { if (!item.isDisposed) item.dispose(); });
}

function isTrackable(value: unknown): value is Trackable {
  return typeof value === 'object' && value !== null && typeof (value as Trackable).dispose === 'function' && 'isDisposed' in value;
}

function forEachTrackable(value: unknown, fn: (item: Trackable) => void, depth = 0): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  if (isTrackable(value)) { fn(value); return; }
  if (Array.isArray(value)) { for (const item of value) forEachTrackable(item, fn, depth + 1); return; }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value as Record<string, unknown>)) forEachTrackable(item, fn, depth + 1);
  }
}

/**
 * Runs `fn` in a scope: every tensor created inside is freed when it returns, except the
 * tensors it returns (also inside arrays or plain objects) and those passed to `keep()`.
 * Returned tensors move to the enclosing scope. `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Trackable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('tidy() takes a synchronous function; await outside it');
  } catch (error) {
    scopes.pop();
    for (const item of scope) if (!item.isDisposed) item.dispose();
    throw error;
  }
  scopes.pop();
  const survivors = new Set<Trackable>();
  forEachTrackable(result, (item) => survivors.add(item));
  for (const item of scope) {
    if (survivors.has(item)) scopes[scopes.length - 1]?.add(item);
    else if (!item.isDisposed) item.dispose();
  }
  return result;
}

/** Counts of live native tensors and allocator bytes. */
export interface MemoryInfo {
  /** Tensors held by JS handles right now. */
  liveTensors: number;
  /** Bytes held by live tensors (caching allocator). */
  inUseBytes: number;
  /** Bytes freed but kept for reuse by the caching allocator. */
  cachedBytes: number;
  /** Largest inUseBytes so far. */
  peakInUseBytes: number;
}

/** Reports live tensors and allocator bytes. */
export function memory(): MemoryInfo {
  return native.memoryStats();
}

/** Returns cached allocator blocks to the system. */
export function emptyCache(): void {
  native.emptyCache();
}
