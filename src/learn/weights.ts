/** Model weights as safetensors files, written atomically (learn may not use io's model bundles). */
import { loadSafetensors, saveSafetensors } from '../tensor/index.js';
import type { Module } from '../nn/index.js';

/** `__metadata__` format tag of weight files written here. */
export const WEIGHTS_FORMAT = 'kestrel-weights';

/** Saves a model's parameters and buffers (its state dict) atomically; `metadata` strings go in the header. */
export function saveWeights(path: string, model: Module, metadata: Record<string, string> = {}): void {
  saveSafetensors(path, model.stateDict(), { format: WEIGHTS_FORMAT, ...metadata });
}

/** Loads weights saved by saveWeights (or any safetensors state dict) into a model, strictly by name. */
export function loadWeights(path: string, model: Module): Record<string, string> {
  const { tensors, metadata } = loadSafetensors(path);
  try {
    model.loadStateDict(tensors);
  } catch (error) {
    throw new Error(`weights.ts: cannot load '${path}': ${(error as Error).message}`, { cause: error });
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  return metadata;
}
