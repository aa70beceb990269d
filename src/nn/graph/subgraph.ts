/** Cutting a graph model: a new GraphModel sharing the same layers, between chosen inputs and outputs. */
import { GraphModel } from './model.js';
import { collectNodes } from './plan.js';
import type { SymbolicTensor } from './symbolic.js';

/** Options of subgraph(). */
export interface SubgraphOptions {
  /** The new inputs: layer names or symbolic tensors of the model (default: the model's inputs). */
  inputs?: string | SymbolicTensor | (string | SymbolicTensor)[];
  /** The new outputs: layer names (a layer called once) or symbolic tensors (default: the model's outputs). */
  outputs?: string | SymbolicTensor | (string | SymbolicTensor)[];
  /** Name of the new model. */
  name?: string;
}

/**
 * A GraphModel cut out of `model`, sharing its layers (the same Parameter objects, the same layer
 * names): from its inputs to the outputs of named layers (a pretrained body without its head), or
 * from a layer's output to the model's outputs (the head, e.g. for Grad-CAM). Inputs that the new
 * outputs do not need are dropped.
 */
export function subgraph(model: GraphModel, options: SubgraphOptions): GraphModel {
  const list = (refs: SubgraphOptions['outputs'], fallback: readonly SymbolicTensor[]) =>
    refs === undefined ? fallback.slice() : (Array.isArray(refs) ? refs : [refs]).map((ref) => model.tensorOf(ref));
  const outputs = list(options.outputs, model.outputs);
  if (outputs.length === 0) throw new Error('subgraph: needs at least one output');
  const given = list(options.inputs, model.inputs);
  const { inputs } = collectNodes(given, outputs, { pruneInputs: true });
  return new GraphModel({ inputs, outputs, name: options.name });
}
