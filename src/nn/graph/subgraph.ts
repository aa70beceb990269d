/** Cutting a graph model: a new GraphModel sharing the same layers up to chosen outputs. */
import { GraphModel } from './model.js';
import { collectNodes } from './plan.js';
import type { SymbolicTensor } from './symbolic.js';

/** Options of subgraph(). */
export interface SubgraphOptions {
  /** The new outputs: layer names (a layer called once) or symbolic tensors of the model. */
  outputs: string | SymbolicTensor | (string | SymbolicTensor)[];
  /** Name of the new model. */
  name?: string;
}

/**
 * A GraphModel from `model`'s inputs to the outputs of the named layers, sharing its layers (the
 * same Parameter objects, the same layer names): e.g. a pretrained body cut before its head.
 * Inputs that the new outputs do not need are dropped.
 */
export function subgraph(model: GraphModel, options: SubgraphOptions): GraphModel {
  const refs = Array.isArray(options.outputs) ? options.outputs : [options.outputs];
  if (refs.length === 0) throw new Error('subgraph: needs at least one output');
  const outputs = refs.map((ref) => model.tensorOf(ref));
  const { inputs } = collectNodes(model.inputs.slice(), outputs, { pruneInputs: true });
  return new GraphModel({ inputs, outputs, name: options.name });
}
