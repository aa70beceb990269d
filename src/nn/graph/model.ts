/** GraphModel: Keras's functional model; layers called on symbolic inputs, run as a flat list of steps. */
import { Tensor } from '../../tensor/index.js';
import { Module } from '../module.js';
import { type Summary, summarizeGraph } from '../summary.js';
import type { OutputSpec } from './call.js';
import { assignNames } from './naming.js';
import { type GraphPlan, type GraphStep, checkEnds, collectNodes, planSteps } from './plan.js';
import { SymbolicTensor, describeSource, formatShape } from './symbolic.js';

/** What a GraphModel is built from. */
export interface GraphModelOptions {
  /** The model's input(s), made with nn.input(). */
  inputs: SymbolicTensor | SymbolicTensor[];
  /** The output(s): symbolic tensors computed from the inputs by layer.apply(). */
  outputs: SymbolicTensor | SymbolicTensor[];
  /** The model's own name (its layer name when used inside another graph). */
  name?: string;
}

/** Options of GraphModel.run(). */
export interface RunOptions {
  /** Intermediate values to return too (kept alive), by layer name or symbolic tensor. */
  capture?: (string | SymbolicTensor)[];
}

/**
 * A model defined by calling layers on symbolic tensors (Keras's functional API): skip
 * connections, shared layers, several inputs and outputs. Parameters are named
 * `<layerName>.<param>`. In inference each intermediate is freed as soon as its last reader ran.
 */
export class GraphModel extends Module {
  private readonly _plan: GraphPlan;
  private readonly _byName: Map<string, Module>;

  /** Sorts the graph from `inputs` to `outputs` once; rejects disconnected graphs and duplicate names. */
  constructor(options: GraphModelOptions) {
    super();
    const inputs = Array.isArray(options.inputs) ? options.inputs.slice() : [options.inputs];
    const outputs = Array.isArray(options.outputs) ? options.outputs.slice() : [options.outputs];
    checkEnds(inputs, outputs);
    if (options.name !== undefined) this.named(options.name);
    const collected = collectNodes(inputs, outputs);
    assignNames([...new Set(collected.nodes.map((n) => n.module))], collected.inputs);
    this._plan = planSteps(collected.inputs, outputs, collected.nodes);
    this._byName = new Map(this._plan.layers.map((m) => [m.name!, m]));
  }

  /** The symbolic inputs, in the order forwardAll() takes them. */
  get inputs(): readonly SymbolicTensor[] { return this._plan.inputs; }
  /** The symbolic outputs, in the order forwardAll() returns them. */
  get outputs(): readonly SymbolicTensor[] { return this._plan.outputs; }
  /** Every call in execution order. */
  get steps(): readonly GraphStep[] { return this._plan.steps; }
  /** The distinct layers in first-use order. */
  get layers(): Module[] { return this._plan.layers.slice(); }

  /** The layer called `name`; an unknown name is an error listing the known ones. */
  layer(name: string): Module {
    const found = this._byName.get(name);
    if (!found) throw new Error(`GraphModel${this.name ? ` '${this.name}'` : ''} has no layer '${name}'; layers: ${[...this._byName.keys()].join(', ')}`);
    return found;
  }

  /** The distinct layers by name, in first-use order (so state-dict keys are `<layerName>.<param>`). */
  override namedChildren(): [string, Module][] {
    return this._plan.layers.map((m) => [m.name!, m]);
  }

  /** One input, one output (more inputs as `rest`). */
  override forward(x: Tensor, ...rest: Tensor[]): Tensor {
    if (this._plan.outputs.length !== 1) {
      throw new Error(`GraphModel${this.name ? ` '${this.name}'` : ''} has ${this._plan.outputs.length} outputs; use forwardAll()`);
    }
    return this.forwardAll([x, ...rest])[0];
  }

  /** Runs the graph on one tensor per input and returns one tensor per output. */
  forwardAll(inputs: Tensor[]): Tensor[] {
    return this.run(inputs).outputs;
  }

  /**
   * forwardAll() that also returns intermediate values (`capture`: layer names or symbolic
   * tensors), e.g. the activations Grad-CAM needs.
   */
  run(inputs: Tensor[], options: RunOptions = {}): { outputs: Tensor[]; captured: Tensor[] } {
    const plan = this._plan;
    this.checkInputs(inputs);
    const captureSlots = (options.capture ?? []).map((c) => this.slotOf(c));
    const kept = new Set([...plan.outputSlots, ...captureSlots]);
    const values = new Array<Tensor | undefined>(plan.slotCount);
    // NOTE: a layer may return its input (Identity) or one tensor may fill several slots, so tensors
    // are counted per slot and freed when no live slot holds them; the caller's inputs never are.
    const holders = new Map<Tensor, number>();
    const callerOwned = new Set(inputs);
    const hold = (slot: number, t: Tensor) => { values[slot] = t; holders.set(t, (holders.get(t) ?? 0) + 1); };
    const release = (slot: number) => {
      const t = values[slot]!;
      values[slot] = undefined;
      const left = holders.get(t)! - 1;
      if (left > 0) { holders.set(t, left); return; }
      holders.delete(t);
      if (!callerOwned.has(t)) t.dispose();
    };
    inputs.forEach((t, i) => hold(i, t));
    try {
      plan.steps.forEach((step, i) => {
        const args = step.inputSlots.map((s) => values[s]!);
        hold(step.outputSlots[0], callStep(step, args));
        // NOTE: free what no later step reads, as soon as possible: inference memory stays at the
        // size of the live activations (PyTorch's level); autograd keeps its own references in training.
        for (const slot of plan.freeAfter[i]) if (!kept.has(slot)) release(slot);
      });
    } catch (error) {
      for (const t of holders.keys()) if (!callerOwned.has(t)) t.dispose();
      throw error;
    }
    return { outputs: plan.outputSlots.map((s) => values[s]!), captured: captureSlots.map((s) => values[s]!) };
  }

  /** A GraphModel called on symbolic inputs of its own input shapes has its known output shape. */
  knownOutput(inputs: readonly SymbolicTensor[]): OutputSpec | undefined {
    const own = this._plan.inputs;
    const same = inputs.length === own.length && inputs.every((t, i) => t.dtype === own[i].dtype && formatShape(t.shape) === formatShape(own[i].shape));
    if (!same || this._plan.outputs.length !== 1) return undefined;
    const out = this._plan.outputs[0];
    return { shape: out.shape.slice(), dtype: out.dtype };
  }

  /** Prints and returns a Keras-style table with one row per call (and "Connected to" unless a plain chain). */
  override summary(inputShapeOrOptions?: number[] | { print?: boolean }, options: { print?: boolean } = {}): Summary {
    const opts = Array.isArray(inputShapeOrOptions) ? options : (inputShapeOrOptions ?? options);
    if (Array.isArray(inputShapeOrOptions)) this.checkInputs([inputShapeOrOptions]);
    const result = summarizeGraph(this);
    if (opts.print ?? true) console.log(result.text);
    return result;
  }

  override extraRepr(): string {
    const ends = (list: readonly SymbolicTensor[]) => list.map((t) => `${t.name}: ${formatShape(t.shape)}`).join(', ');
    return `inputs=[${ends(this._plan.inputs)}], outputs=[${ends(this._plan.outputs)}]`;
  }

  /**
   * The symbolic tensor `ref` names: a layer's output (a layer called once; for a shared layer
   * pass the call's SymbolicTensor from `steps`), or `ref` itself when it belongs to this model.
   */
  tensorOf(ref: string | SymbolicTensor): SymbolicTensor {
    if (ref instanceof SymbolicTensor) {
      if (!this._plan.slotOf.has(ref)) throw new Error(`GraphModel: ${ref.toString()} is not part of this model`);
      return ref;
    }
    const calls = this._plan.steps.filter((s) => s.name === ref);
    if (calls.length === 0) this.layer(ref); // NOTE: throws the error that lists the layer names
    if (calls.length > 1) throw new Error(`GraphModel: layer '${ref}' is called ${calls.length} times; pass the SymbolicTensor of the call you want (from steps)`);
    return calls[0].outputs[0];
  }

  private slotOf(ref: string | SymbolicTensor): number {
    return this._plan.slotOf.get(this.tensorOf(ref))!;
  }

  private checkInputs(inputs: (Tensor | number[])[]): void {
    const own = this._plan.inputs;
    const label = `GraphModel${this.name ? ` '${this.name}'` : ''}`;
    if (inputs.length !== own.length) throw new Error(`${label} takes ${own.length} input(s) (${own.map((t) => `'${t.name}'`).join(', ')}), got ${inputs.length}`);
    inputs.forEach((x, i) => {
      const shape = Array.isArray(x) ? [null, ...x] : x.shape;
      const want = own[i].shape;
      if (shape.length !== want.length || want.some((d, k) => d !== null && d !== shape[k])) {
        throw new Error(`${label}: input '${own[i].name}' expects shape ${formatShape(want)}, got ${formatShape(shape)}`);
      }
    });
  }
}

function callStep(step: GraphStep, args: Tensor[]): Tensor {
  try {
    return step.module.forward(...(args as [Tensor, ...Tensor[]]));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message.startsWith('layer ')) throw error;
    const given = args.map((t, i) => `[${t.shape.join(', ')}] from ${describeSource(step.inputs[i])}`).join(', ');
    throw new Error(`layer '${step.name}' (${step.module.constructor.name}) got input ${given}: ${message}`);
  }
}
