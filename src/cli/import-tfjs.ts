/** The TF.js entry of `kestrel import`: a TF.js layers model (model.json + shards, or the folder holding them). */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { KERAS_ARCHITECTURE, kerasArchitectureOf, loadTfjsModel } from '../io/index.js';
import type { ImportRequest, ImportedModel, Importer } from './importers.js';

/** The model.json a path names (the file itself, or model.json inside a directory). */
export function tfjsModelJson(path: string): string {
  return existsSync(path) && statSync(path).isDirectory() ? join(path, 'model.json') : path;
}

/** Loads a TF.js layers model for `kestrel import`; a model that is not a one-output image classifier is refused. */
export async function importTfjs(request: ImportRequest): Promise<ImportedModel & { inputShape: [number, number, number] }> {
  if (request.arch !== undefined && request.arch !== KERAS_ARCHITECTURE) {
    throw new Error(`--arch ${request.arch} does not apply to TF.js models: their architecture is the Keras topology in model.json`);
  }
  const path = tfjsModelJson(request.path);
  // NOTE: open sizes take --size; fixed sizes are the model's own (its Flatten/Dense layers depend on them).
  const loaded = loadTfjsModel(path, { openSize: request.size });
  try {
    const [input] = loaded.inputShapes;
    if (loaded.inputShapes.length !== 1 || input.length !== 3) {
      throw new Error(`'${path}': kestrel import takes image classifiers with one image input; this model's inputs are ${JSON.stringify(loaded.inputShapes)} (channels first)`);
    }
    const outputs = loaded.model.outputs;
    const out = outputs[0]?.shape;
    if (outputs.length !== 1 || out.length !== 2 || typeof out[1] !== 'number') {
      throw new Error(`'${path}': kestrel import takes classifiers with one output [batch, classes]; this model's outputs are ${outputs.map((o) => `[${o.shape.map(String).join(', ')}]`).join(', ')}`);
    }
    const numClasses = out[1];
    const head = `the output layer '${outputs[0].name}' of TF.js model '${path}'`;
    return {
      model: loaded.model,
      architecture: kerasArchitectureOf(loaded),
      numClasses,
      inChannels: input[0],
      inputShape: [input[0], input[1], input[2]],
      head,
      description: `TF.js layers model '${path}' (Keras ${loaded.kerasVersion ?? 'version unknown'}, ${loaded.model.layers.length} layers, output '${outputs[0].name}'${loaded.droppedSoftmax.length > 0 ? ', softmax dropped: logits out' : ''})`,
    };
  } catch (error) {
    loaded.model.dispose();
    throw error;
  }
}

/** The TF.js row of the importer table. */
export const tfjsImporter: Importer = {
  name: 'TF.js',
  files: 'model.json or its folder (TF.js layers model with its weight shards)',
  /** model.json files (by name) and folders that hold one. */
  matches: (path: string): boolean => /\.json$/i.test(path) || (existsSync(path) && statSync(path).isDirectory() && existsSync(join(path, 'model.json'))),
  load: importTfjs,
};
