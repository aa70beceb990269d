/** loadTfjsModel: a TF.js layers model (model.json + weight shards) as a Kestrel GraphModel. */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { GraphModel } from '../../nn/index.js';
import type { Tensor } from '../../tensor/index.js';
import { type KerasGraph, type KerasGraphOptions, buildKerasGraph } from './graph.js';
import { decodeWeightsManifest, validateWeightsManifest } from './manifest.js';
import { parseKerasTopology } from './topology.js';
import { kerasStateDict } from './weights.js';

/** Options of loadTfjsModel. */
export type LoadTfjsOptions = KerasGraphOptions;

/** A loaded TF.js model. */
export interface TfjsModel {
  /** The graph in eval mode; it takes NCHW input (channels first) like every Kestrel model. */
  model: GraphModel;
  /** The first input's shape [channels, height, width] (Kestrel's order, no batch dim). */
  inputShape: number[];
  /** Every input's shape. */
  inputShapes: number[][];
  /** The `outputs` option: Keras layer names the model was cut at (undefined: the whole model). */
  outputs?: string[];
  /** Whether a softmax at the outputs was to be dropped (the `logits` option; default true). */
  logits: boolean;
  /** Output layers whose final softmax was dropped, so the model returns logits. */
  droppedSoftmax: string[];
  /** The Keras model config ({class_name, config}): with `inputShape` and `logits`, what rebuilds the graph. */
  topology: Record<string, unknown>;
  /** Keras version that wrote the topology, when recorded. */
  kerasVersion?: string;
}

/** The largest model.json read (the topology is JSON; weights live in the shards). */
const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;

function readModelJson(path: string): Record<string, unknown> {
  let text: string;
  try {
    if (statSync(path).size > MAX_MODEL_JSON_BYTES) throw new Error(`larger than ${MAX_MODEL_JSON_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read TF.js model '${path}': ${(error as Error).message}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`'${path}' is not valid JSON (${(error as Error).message})`, { cause: error });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`'${path}' must hold a JSON object (a TF.js model.json)`);
  const model = json as Record<string, unknown>;
  if (model.format === 'graph-model') {
    throw new Error(`'${path}' is a TF.js graph model (converted from a SavedModel); Kestrel imports TF.js layers models (Keras models)`);
  }
  if (!('modelTopology' in model) || !('weightsManifest' in model)) throw new Error(`'${path}' is not a TF.js model.json (it needs modelTopology and weightsManifest)`);
  return model;
}

/** The `{class_name, config}` part of a modelTopology (Keras's converter nests it in model_config). */
function modelConfigOf(topology: unknown): Record<string, unknown> {
  const t = topology as Record<string, unknown>;
  return (typeof t.model_config === 'object' && t.model_config !== null ? t.model_config : t) as Record<string, unknown>;
}

/**
 * Builds the graph of a Keras topology, then loads into it the Keras weights that `readWeights`
 * decodes (read only once the topology is known to be supported); frees the decoded weights.
 */
export function graphWithWeights(topology: unknown, readWeights: () => Map<string, Tensor>, options: KerasGraphOptions): KerasGraph {
  const graph = buildKerasGraph(parseKerasTopology(topology), options);
  let weights = new Map<string, Tensor>();
  try {
    weights = readWeights();
    const state = kerasStateDict(graph, weights);
    try {
      graph.model.loadStateDict(state);
    } finally {
      for (const t of state.values()) t.dispose();
    }
    graph.model.eval();
    return graph;
  } catch (error) {
    graph.model.dispose();
    throw error;
  } finally {
    for (const t of weights.values()) t.dispose();
  }
}

/**
 * Loads a TF.js layers model: `model.json` (Keras topology + weights manifest) and the weight
 * shards beside it (float32, or quantized uint8/uint16/float16). Layers are named by their Keras
 * names (`Conv1.weight`, `bn_Conv1.running_mean`), kernels converted to PyTorch layouts; the model
 * takes NCHW input. Errors name the file and the layer, weight or shard at fault.
 */
export function loadTfjsModel(modelJsonPath: string, options: LoadTfjsOptions = {}): TfjsModel {
  const json = readModelJson(modelJsonPath);
  const dir = dirname(modelJsonPath);
  try {
    const manifest = validateWeightsManifest(json.weightsManifest);
    const topology = modelConfigOf(json.modelTopology);
    const readShard = (path: string): Uint8Array => {
      try {
        return readFileSync(join(dir, path));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new Error(code === 'ENOENT' ? `weight shard '${path}' is missing (looked for ${join(dir, path)})` : `cannot read weight shard '${path}': ${(error as Error).message}`, { cause: error });
      }
    };
    const graph = graphWithWeights(json.modelTopology, () => decodeWeightsManifest(manifest, readShard), options);
    const version = (json.modelTopology as Record<string, unknown>).keras_version;
    return {
      model: graph.model,
      inputShape: graph.inputShapes[0],
      inputShapes: graph.inputShapes,
      ...(options.outputs !== undefined ? { outputs: [...options.outputs] } : {}),
      logits: options.logits ?? true,
      droppedSoftmax: graph.droppedSoftmax,
      topology,
      ...(typeof version === 'string' ? { kerasVersion: version } : {}),
    };
  } catch (error) {
    throw new Error(`'${modelJsonPath}': ${(error as Error).message}`, { cause: error });
  }
}
