/** Builds a Kestrel GraphModel from a parsed Keras topology (no weights: those are loaded after). */
import * as nn from '../../nn/index.js';
import type { Module } from '../../nn/index.js';
import { type BuildContext, KERAS_LAYERS, type WeightBinding } from './builders.js';
import { KerasConfig } from './keras-config.js';
import { type KerasLayerSpec, type KerasModelSpec, type TensorRef, cutKerasModel } from './topology.js';

/** Options of buildKerasGraph and loadTfjsModel. */
export interface KerasGraphOptions {
  /**
   * Input shape [channels, height, width] (Kestrel's order) for the model's single input: needed
   * when the Keras input leaves height or width open, and overrides the Keras one otherwise.
   */
  inputShape?: number[];
  /** Height and width for image inputs that leave them open (when no inputShape is given). */
  openSize?: number;
  /**
   * Keras layer names to make the outputs: only the layers they need are built (e.g. `['out_relu']`
   * for MobileNetV2's body without its head, which also frees the input size from the head's).
   */
  outputs?: string[];
  /**
   * Drop a softmax at the model's outputs so the model returns logits, like every Kestrel
   * classifier (losses and predict apply softmax themselves). Default true.
   */
  logits?: boolean;
}

/** A built layer: its Keras class and weight bindings (InputLayers have none). */
export interface KerasGraphLayer {
  /** The layer's name in Kestrel (the Keras name, '.' replaced by '_'). */
  name: string;
  /** The layer's name in the Keras file (weights are named after it). */
  kerasName: string;
  className: string;
  module: Module;
  weights: WeightBinding[];
}

/** The result of buildKerasGraph. */
export interface KerasGraph {
  model: nn.GraphModel;
  /** Layers with modules, in the Keras config's order. */
  layers: KerasGraphLayer[];
  /** Input shapes in Kestrel's layout without the batch dim ([C, H, W] for images). */
  inputShapes: number[][];
  /** Names of output layers whose softmax was dropped (see `logits`). */
  droppedSoftmax: string[];
  /** Keras names of the layers left out by the `outputs` option (their weights are not needed). */
  removedLayers: string[];
}

const describe = (layer: KerasLayerSpec): string => `layer '${layer.name}' (${layer.className})`;

/**
 * Kestrel's name for a Keras name. NOTE: '.' separates state-dict keys, so it cannot be part of a
 * layer name; Keras allows it (Keras Applications name models 'mobilenetv2_1.00_224').
 */
export function kestrelName(kerasName: string): string {
  return kerasName.replaceAll('.', '_');
}

/** Keras's per-sample shape (channels last) to Kestrel's (channels first for images). */
function kestrelShape(keras: (number | null)[]): (number | null)[] {
  return keras.length === 3 ? [keras[2], keras[0], keras[1]] : keras;
}

function inputShapeOf(layer: KerasLayerSpec, override: number[] | undefined, openSize: number | undefined): number[] {
  const c = layer.config;
  const batchShape = c.batch_input_shape ?? c.batch_shape;
  if (!Array.isArray(batchShape) || batchShape.length < 2 || !batchShape.slice(1).every((d) => d === null || (Number.isSafeInteger(d) && d > 0))) {
    throw new Error(`${describe(layer)}: batch_input_shape must be [null, ...sizes], got ${JSON.stringify(batchShape)}`);
  }
  if (c.dtype !== undefined && c.dtype !== null && c.dtype !== 'float32') throw new Error(`${describe(layer)}: input dtype ${JSON.stringify(c.dtype)} is not supported (float32)`);
  const shape = kestrelShape(batchShape.slice(1) as (number | null)[]);
  if (override !== undefined) {
    const fits = override.length === shape.length && override.every((d, i) => Number.isSafeInteger(d) && d > 0 && (shape[i] === null || shape[i] === d || (shape.length === 3 && i > 0)));
    if (!fits) throw new Error(`inputShape [${override.join(', ')}] does not fit input '${layer.name}' of shape [${shape.map(String).join(', ')}] (Kestrel order, channels first)`);
    return override;
  }
  if (openSize !== undefined && shape.length === 3 && shape[0] !== null) return shape.map((d) => d ?? openSize) as number[];
  if (shape.some((d) => d === null)) {
    throw new Error(`input '${layer.name}' has open sizes [${shape.map(String).join(', ')}] (channels first): give inputShape, e.g. [3, 224, 224]`);
  }
  return shape as number[];
}

/** Refuses the whole model at once if any layer class is unknown, naming each. */
function checkClasses(spec: KerasModelSpec): void {
  const unknown = spec.layers.filter((l) => l.className !== 'InputLayer' && !Object.hasOwn(KERAS_LAYERS, l.className));
  if (unknown.length > 0) {
    const list = unknown.slice(0, 5).map(describe).join(', ') + (unknown.length > 5 ? ` and ${unknown.length - 5} more` : '');
    throw new Error(`unsupported ${list}: Kestrel imports ${Object.keys(KERAS_LAYERS).join(', ')}`);
  }
}

/**
 * Builds the graph of `spec`: one Kestrel module per Keras layer, named by the Keras layer name,
 * called in the order of the topology (a layer whose inputs are not built yet waits, as in Keras).
 */
export function buildKerasGraph(full: KerasModelSpec, options: KerasGraphOptions = {}): KerasGraph {
  const { spec, removed } = options.outputs === undefined ? { spec: full, removed: [] } : cutKerasModel(full, options.outputs);
  checkClasses(spec);
  const built = new Map<string, KerasGraphLayer>();
  try {
    return { ...buildLayers(spec, options, built), removedLayers: removed };
  } catch (error) {
    for (const layer of built.values()) layer.module.dispose();
    throw error;
  }
}

function buildLayers(spec: KerasModelSpec, options: KerasGraphOptions, built: Map<string, KerasGraphLayer>): Omit<KerasGraph, 'removedLayers'> {
  const inputLayers = spec.layers.filter((l) => l.className === 'InputLayer');
  if (options.inputShape !== undefined && inputLayers.length !== 1) throw new Error(`inputShape is given but the model has ${inputLayers.length} inputs`);
  const outputLayers = new Set(spec.outputs.map((r) => r.layer));
  const byName = new Map(spec.layers.map((l) => [l.name, l]));
  const outputs = new Map<string, nn.SymbolicTensor[]>();
  const droppedSoftmax: string[] = [];
  const inputShapes = new Map<string, number[]>();
  for (const layer of inputLayers) {
    const shape = inputShapeOf(layer, options.inputShape, options.openSize);
    inputShapes.set(layer.name, shape);
    outputs.set(layer.name, [nn.input(shape, { name: kestrelName(layer.name) })]);
  }
  const resolve = (ref: TensorRef): nn.SymbolicTensor | undefined => {
    if (ref.tensor !== 0) throw new Error(`input ${JSON.stringify([ref.layer, ref.node, ref.tensor])}: layers have one output`);
    return outputs.get(ref.layer)?.[ref.node];
  };
  const pending = spec.layers.filter((l) => l.className !== 'InputLayer').map((layer) => ({ layer, next: 0 }));
  // NOTE: like Keras's from_config, calls whose inputs do not exist yet wait for a later pass;
  // a pass that makes no progress means a missing layer or a cycle, reported instead of looping.
  for (let progress = true; progress;) {
    progress = false;
    for (const item of pending) {
      const { layer } = item;
      while (item.next < layer.calls.length) {
        const refs = layer.calls[item.next];
        const inputs = refs.map(resolve);
        if (inputs.some((x) => x === undefined)) break;
        const symbolic = inputs as nn.SymbolicTensor[];
        let entry = built.get(layer.name);
        if (entry === undefined) {
          const ctx: BuildContext = {
            config: new KerasConfig(layer.config),
            inputShapes: symbolic.map((x) => x.shape.slice(1) as number[]),
            dropSoftmax: (options.logits ?? true) && outputLayers.has(layer.name),
          };
          let made;
          try {
            made = KERAS_LAYERS[layer.className](ctx);
          } catch (error) {
            throw new Error(`${describe(layer)}: ${(error as Error).message}`, { cause: error });
          }
          const name = kestrelName(layer.name);
          if (ctx.droppedSoftmax) droppedSoftmax.push(name);
          entry = { name, kerasName: layer.name, className: layer.className, module: made.module.named(name), weights: made.weights };
          built.set(layer.name, entry);
        }
        const out = entry.module.apply(symbolic);
        outputs.set(layer.name, [...(outputs.get(layer.name) ?? []), out]);
        item.next++;
        progress = true;
      }
    }
  }
  const stuck = pending.find((item) => item.next < item.layer.calls.length);
  if (stuck) {
    const missing = stuck.layer.calls[stuck.next].find((ref) => resolve(ref) === undefined) as TensorRef;
    const why = byName.has(missing.layer) ? `call ${missing.node} of '${missing.layer}' is never made (a cycle or a missing call)` : `there is no layer '${missing.layer}'`;
    throw new Error(`${describe(stuck.layer)} reads ${JSON.stringify([missing.layer, missing.node, missing.tensor])}, but ${why}`);
  }
  const pick = (ref: TensorRef, role: string): nn.SymbolicTensor => {
    const t = resolve(ref);
    if (t === undefined) throw new Error(`model ${role} ${JSON.stringify([ref.layer, ref.node, ref.tensor])} is never computed`);
    return t;
  };
  const model = new nn.GraphModel({ inputs: spec.inputs.map((r) => pick(r, 'input')), outputs: spec.outputs.map((r) => pick(r, 'output')), name: kestrelName(spec.name) });
  return {
    model,
    layers: spec.layers.flatMap((l) => built.get(l.name) ?? []),
    inputShapes: spec.inputs.map((r) => inputShapes.get(r.layer) ?? []),
    droppedSoftmax,
  };
}
