/** Graph models (Keras's functional API): symbolic inputs, layer calls, GraphModel, subgraph. */
export { SymbolicTensor, GraphNode, input, snakeCase, formatShape, type SymbolicShape, type Producer, type InputOptions } from './symbolic.js';
export { GraphModel, type GraphModelOptions, type RunOptions } from './model.js';
export type { GraphStep } from './plan.js';
export { subgraph, type SubgraphOptions } from './subgraph.js';
export { inferOutput, type OutputSpec } from './call.js';
