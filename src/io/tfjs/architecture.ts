/** The `keras` bundle architecture: an imported Keras graph rebuilt from the topology kept in model.json. */
import type { Module } from '../../nn/index.js';
import { buildKerasGraph } from './graph.js';
import type { TfjsModel } from './load.js';
import { parseKerasTopology } from './topology.js';

/** Name of the bundle architecture of imported Keras / TF.js layers models. */
export const KERAS_ARCHITECTURE = 'keras';

/**
 * Rebuilds an imported Keras graph (fresh weights) from bundle options `{topology, inputShape,
 * logits, outputs?}`; saveModel/loadModel store the weights under Kestrel's names in model.safetensors.
 */
export function kerasArchitecture(options: Record<string, unknown>): Module {
  const { topology, inputShape, logits, outputs } = options;
  if (outputs !== undefined && !(Array.isArray(outputs) && outputs.every((o) => typeof o === 'string'))) {
    throw new Error(`option 'outputs' must be a list of layer names, got ${JSON.stringify(outputs)}`);
  }
  if (inputShape !== undefined && !(Array.isArray(inputShape) && inputShape.every((d) => Number.isSafeInteger(d) && d > 0))) {
    throw new Error(`option 'inputShape' must be a list of positive integers, got ${JSON.stringify(inputShape)}`);
  }
  if (logits !== undefined && typeof logits !== 'boolean') throw new Error(`option 'logits' must be true or false, got ${JSON.stringify(logits)}`);
  return buildKerasGraph(parseKerasTopology(topology), { inputShape: inputShape as number[] | undefined, logits, outputs: outputs as string[] | undefined }).model;
}

/** The bundle architecture ({name, options}) that rebuilds a model returned by loadTfjsModel. */
export function kerasArchitectureOf(loaded: TfjsModel): { name: string; options: Record<string, unknown> } {
  const cut = loaded.outputs !== undefined ? { outputs: loaded.outputs } : {};
  return { name: KERAS_ARCHITECTURE, options: { topology: loaded.topology, inputShape: loaded.inputShape, logits: loaded.logits, ...cut } };
}
