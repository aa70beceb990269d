/** Optimizer state files: the state tensors in safetensors, the JSON meta in `__metadata__`. */
import type { Tensor } from './tensor.js';
import { loadSafetensors, saveSafetensors } from './safetensors.js';

/** What optimizers' `stateDict()` returns and `loadStateDict()` takes. */
export interface OptimizerState {
  /** State tensors by name (e.g. `state.0.exp_avg`). */
  tensors: Map<string, Tensor>;
  /** Everything else (hyperparameters, step counts), JSON-serialisable. */
  meta: object;
}

/** `__metadata__` key that marks an optimizer state file. */
export const OPTIMIZER_FORMAT = 'kestrel-optimizer';

// NOTE: JSON has no Infinity/NaN (JSON.stringify silently writes null), yet optimizer and
// scheduler meta can hold them (e.g. best loss = Infinity); tag them so they round-trip.
const NUMBER_TAG = '$kestrelNumber';

function encodeMeta(meta: object, path: string): string {
  return JSON.stringify(meta, (key, value: unknown) => {
    if (typeof value === 'number' && !Number.isFinite(value)) return { [NUMBER_TAG]: String(value) };
    if (typeof value === 'bigint') throw new Error(`cannot save optimizer state to '${path}': meta '${key}' is a bigint`);
    return value;
  });
}

function decodeMeta(text: string, path: string): object {
  try {
    return JSON.parse(text, (_key, value: unknown) => {
      if (typeof value === 'object' && value !== null && NUMBER_TAG in value && Object.keys(value).length === 1) {
        return Number((value as Record<string, string>)[NUMBER_TAG]);
      }
      return value;
    }) as object;
  } catch (error) {
    throw new Error(`optimizer state '${path}': meta is not valid JSON (${(error as Error).message})`);
  }
}

/** Saves optimizer state atomically as safetensors, with the meta JSON-encoded in `__metadata__`. */
export function saveOptimizerState(path: string, state: OptimizerState): void {
  if (typeof state?.meta !== 'object' || state.meta === null || !(state.tensors instanceof Map)) {
    throw new Error(`cannot save optimizer state to '${path}': expected { tensors: Map, meta: object }`);
  }
  saveSafetensors(path, state.tensors, { format: OPTIMIZER_FORMAT, meta: encodeMeta(state.meta, path) });
}

/** Loads optimizer state written by saveOptimizerState (the caller disposes the tensors). */
export function loadOptimizerState(path: string): OptimizerState {
  const { tensors, metadata } = loadSafetensors(path);
  if (metadata.format !== OPTIMIZER_FORMAT || metadata.meta === undefined) {
    for (const t of tensors.values()) t.dispose();
    throw new Error(`'${path}' is not a Kestrel optimizer state file (its __metadata__ lacks format '${OPTIMIZER_FORMAT}' and meta)`);
  }
  try {
    return { tensors, meta: decodeMeta(metadata.meta, path) };
  } catch (error) {
    for (const t of tensors.values()) t.dispose();
    throw error;
  }
}
