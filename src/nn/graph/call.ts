/** Module.apply: forward on real tensors, a recorded call with an inferred output shape on symbolic ones. */
import { type DType, Tensor, noGrad, tidy, zeros } from '../../tensor/index.js';
import type { Module } from '../module.js';
import { GraphNode, type SymbolicShape, SymbolicTensor, describeLayer, describeSource, formatShape } from './symbolic.js';

/** The shape and dtype of a call's output. */
export interface OutputSpec {
  shape: SymbolicShape;
  dtype: DType;
}

/** A module that knows its output without running (a GraphModel given its own input shapes). */
interface KnowsOutput {
  knownOutput(inputs: readonly SymbolicTensor[]): OutputSpec | undefined;
}

const callCounts = new WeakMap<Module, number>();
// NOTE: libtorch 1.13's C++ meta kernels cover linear, pooling, cat and arithmetic but not conv, batch
// norm or relu (PyTorch adds those from Python). A class that once failed on 'meta' but ran on a real
// zero batch goes straight to the zero batch next time.
const needsRealBatch = new WeakSet<object>();

/** Module.apply's body: forward on Tensors, a graph call on SymbolicTensors (never a mix). */
export function applyModule(module: Module, inputs: unknown[]): Tensor | SymbolicTensor {
  if (inputs.length === 0) throw new Error(`${describeLayer(module)}.apply() needs at least one input`);
  if (inputs.every((x) => x instanceof Tensor)) return module.forward(...(inputs as [Tensor, ...Tensor[]]));
  if (inputs.every((x) => x instanceof SymbolicTensor)) return callSymbolic(module, inputs as SymbolicTensor[]);
  const kinds = inputs.map((x) => (x instanceof Tensor ? 'Tensor' : x instanceof SymbolicTensor ? 'SymbolicTensor' : typeof x)).join(', ');
  throw new Error(`${describeLayer(module)}.apply() takes either Tensors or SymbolicTensors (from nn.input()), got ${kinds}`);
}

/** Records one call of `module` on symbolic inputs and returns its symbolic output. */
export function callSymbolic(module: Module, inputs: SymbolicTensor[]): SymbolicTensor {
  const spec = inferOutput(module, inputs);
  const callIndex = callCounts.get(module) ?? 0;
  const node = new GraphNode(module, inputs.slice(), callIndex);
  callCounts.set(module, callIndex + 1);
  const out = new SymbolicTensor(spec.shape, spec.dtype, { node, index: 0 });
  node.outputs.push(out);
  return out;
}

/**
 * Runs the module on stand-ins for its inputs ('meta' tensors, which hold no data, else a zero
 * batch of one) in eval mode without gradients, and reads the output's shape and dtype.
 */
export function inferOutput(module: Module, inputs: readonly SymbolicTensor[]): OutputSpec {
  const known = 'knownOutput' in module ? (module as unknown as KnowsOutput).knownOutput(inputs) : undefined;
  if (known) return known;
  // NOTE: eval mode so batch norm neither updates its statistics nor refuses a batch of one; every
  // module's own mode is restored afterwards.
  const modes = module.namedModules().map(([, m]) => [m, m.training] as const);
  module.eval();
  try {
    return noGrad(() => tidy(() => {
      if (!needsRealBatch.has(module.constructor)) {
        try {
          return run(module, inputs, 'meta');
        } catch {
          // fall through to a real batch, whose error (if any) is the one to report
        }
      }
      const parameter = module.parameters()[0];
      const spec = run(module, inputs, parameter ? parameter.device : 'cpu');
      needsRealBatch.add(module.constructor);
      return spec;
    }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const given = inputs.map((t) => `${formatShape(t.shape)} from ${describeSource(t)}`).join(', ');
    throw new Error(`layer ${describeLayer(module)} cannot take input ${given}: ${message}`);
  } finally {
    for (const [m, training] of modes) m.training = training;
  }
}

// NOTE: free sizes (null) are tried at two sizes; an output size that follows them is free too.
const PROBE_SIZES = [32, 48];

function run(module: Module, inputs: readonly SymbolicTensor[], device: string): OutputSpec {
  const free = inputs.some((t) => t.shape.slice(1).includes(null));
  const [first, ...others] = (free ? PROBE_SIZES : PROBE_SIZES.slice(0, 1)).map((size) => runAt(module, inputs, device, size));
  for (const other of others) {
    if (other.shape.length !== first.shape.length) throw new Error(`output rank depends on the free input sizes (${formatShape(first.shape)} vs ${formatShape(other.shape)})`);
    other.shape.forEach((d, i) => { if (d !== first.shape[i]) first.shape[i] = null; });
  }
  return first;
}

function runAt(module: Module, inputs: readonly SymbolicTensor[], device: string, freeSize: number): OutputSpec {
  const stand = inputs.map((t) => zeros(t.shape.map((d, i) => d ?? (i === 0 ? 1 : freeSize)), { dtype: t.dtype, device }));
  const out: unknown = module.forward(...(stand as [Tensor, ...Tensor[]]));
  if (!(out instanceof Tensor)) throw new Error(`forward returned ${String(out)}, not a Tensor`);
  const shape: SymbolicShape = out.shape;
  if (shape.length > 0) shape[0] = null;
  return { shape, dtype: out.dtype };
}
