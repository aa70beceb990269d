/** Turning a graph of calls into a flat list of steps: reachability checks, order, value slots. */
import type { Module } from '../module.js';
import { type GraphNode, type SymbolicShape, SymbolicTensor, describeLayer } from './symbolic.js';

/** One call of a layer in a graph model, in execution order. */
export interface GraphStep {
  /** The layer's name (state-dict prefix). */
  readonly name: string;
  /** The layer. */
  readonly module: Module;
  /** Which call of this layer in the model this is (0 for the first; > 0 for a shared layer's later calls). */
  readonly call: number;
  /** The symbolic tensors this call reads. */
  readonly inputs: readonly SymbolicTensor[];
  /** The symbolic tensors it produces. */
  readonly outputs: readonly SymbolicTensor[];
  /** Output shapes (batch dim null). */
  readonly outputShapes: readonly SymbolicShape[];
  /** Value slots read (model inputs are slots 0..n-1, then each step's outputs in order). */
  readonly inputSlots: readonly number[];
  /** Value slots written. */
  readonly outputSlots: readonly number[];
}

/** The executable form of a graph. */
export interface GraphPlan {
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];
  steps: GraphStep[];
  /** Distinct layers in first-use order. */
  layers: Module[];
  /** Slot of each output. */
  outputSlots: number[];
  /** Number of value slots. */
  slotCount: number;
  /** Slots no later step reads, per step: freed after it in inference (unless returned). */
  freeAfter: number[][];
  /** Slot of every symbolic tensor in the graph. */
  slotOf: Map<SymbolicTensor, number>;
}

/** Options of planGraph. */
export interface PlanOptions {
  /** Drop inputs that no output needs instead of rejecting them (subgraph()). */
  pruneInputs?: boolean;
}

/** Walks back from the outputs, rejects a disconnected graph, and orders the calls. */
export function collectNodes(inputs: SymbolicTensor[], outputs: SymbolicTensor[], options: PlanOptions = {}): { nodes: GraphNode[]; inputs: SymbolicTensor[] } {
  const inputSet = new Set(inputs);
  const reachedInputs = new Set<SymbolicTensor>();
  const nodes = new Set<GraphNode>();
  for (const out of outputs) {
    const stack = [out];
    while (stack.length > 0) {
      const t = stack.pop()!;
      if (inputSet.has(t)) { reachedInputs.add(t); continue; }
      if (!t.producer) {
        throw new Error(`GraphModel: graph disconnected: output ${out.toString()} depends on input ${t.toString()}, which is not among the model's inputs (${inputs.map((i) => `'${i.name}'`).join(', ')})`);
      }
      const node = t.producer.node;
      if (nodes.has(node)) continue;
      nodes.add(node);
      stack.push(...node.inputs);
    }
  }
  const unused = inputs.filter((t) => !reachedInputs.has(t));
  if (unused.length > 0 && !options.pruneInputs) {
    throw new Error(`GraphModel: graph disconnected: input ${unused.map((t) => t.toString()).join(', ')} is not used by any output`);
  }
  // NOTE: a node is created after the nodes it reads, so creation order is a topological order, and
  // the one the user wrote (it decides first-use order, hence the automatic layer names).
  return { nodes: [...nodes].sort((a, b) => a.id - b.id), inputs: inputs.filter((t) => reachedInputs.has(t)) };
}

/** Checks the inputs and outputs given to a GraphModel. */
export function checkEnds(inputs: unknown[], outputs: unknown[]): void {
  if (inputs.length === 0) throw new Error('GraphModel: needs at least one input (from nn.input())');
  if (outputs.length === 0) throw new Error('GraphModel: needs at least one output');
  for (const [what, list] of [['input', inputs], ['output', outputs]] as const) {
    list.forEach((t, i) => {
      if (!(t instanceof SymbolicTensor)) throw new Error(`GraphModel: ${what} ${i} is not a SymbolicTensor (build the graph from nn.input() and layer.apply()), got ${String(t)}`);
    });
  }
  const seen = new Set<unknown>();
  for (const t of inputs) {
    if (seen.has(t)) throw new Error(`GraphModel: input ${String(t)} is listed twice`);
    seen.add(t);
  }
}

/** Builds steps and value slots from ordered nodes whose layers are already named. */
export function planSteps(inputs: SymbolicTensor[], outputs: SymbolicTensor[], nodes: GraphNode[]): GraphPlan {
  const slotOf = new Map<SymbolicTensor, number>();
  inputs.forEach((t, i) => slotOf.set(t, i));
  const calls = new Map<Module, number>();
  const layers: Module[] = [];
  const steps: GraphStep[] = nodes.map((node) => {
    const call = calls.get(node.module) ?? 0;
    calls.set(node.module, call + 1);
    if (call === 0) layers.push(node.module);
    const inputSlots = node.inputs.map((t) => slotOf.get(t)!);
    const outputSlots = node.outputs.map((t) => { slotOf.set(t, slotOf.size); return slotOf.size - 1; });
    return {
      name: node.module.name ?? describeLayer(node.module), module: node.module, call,
      inputs: node.inputs, outputs: node.outputs, outputShapes: node.outputs.map((t) => t.shape.slice()),
      inputSlots, outputSlots,
    };
  });
  const lastReader = new Array<number>(slotOf.size).fill(-1);
  steps.forEach((step, i) => { for (const slot of step.inputSlots) lastReader[slot] = i; });
  // NOTE: an output no step reads (only possible when it is a model output) is freed right after its step.
  const freeAfter = steps.map(() => [] as number[]);
  lastReader.forEach((reader, slot) => { if (reader >= 0) freeAfter[reader].push(slot); });
  steps.forEach((step, i) => { for (const slot of step.outputSlots) if (lastReader[slot] === -1) freeAfter[i].push(slot); });
  return { inputs, outputs, steps, layers, outputSlots: outputs.map((t) => slotOf.get(t)!), slotCount: slotOf.size, freeAfter, slotOf };
}
