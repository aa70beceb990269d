/**
 * Keras model topologies (as Keras 2.x and TF.js write them in model.json) parsed into one plain
 * form: layers with their calls, and the model's input and output references.
 */

/** A reference to a tensor: output `tensor` of call `node` of layer `layer`. */
export interface TensorRef {
  layer: string;
  node: number;
  tensor: number;
}

/** One Keras layer: its class, config, and the inputs of each call (a shared layer has several). */
export interface KerasLayerSpec {
  name: string;
  className: string;
  config: Record<string, unknown>;
  calls: TensorRef[][];
}

/** A functional Keras model (Sequential models are turned into this form). */
export interface KerasModelSpec {
  name: string;
  layers: KerasLayerSpec[];
  inputs: TensorRef[];
  outputs: TensorRef[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIndex(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** A reference written as [name, node, tensor(, kwargs)] (old format, input_layers, output_layers). */
function listRef(value: unknown, where: string): TensorRef {
  if (!Array.isArray(value) || typeof value[0] !== 'string' || !isIndex(value[1]) || !isIndex(value[2] ?? 0)) {
    throw new Error(`${where}: expected [layerName, nodeIndex, tensorIndex], got ${JSON.stringify(value)}`);
  }
  return { layer: value[0], node: value[1], tensor: (value[2] ?? 0) as number };
}

/** Every Keras tensor in a call's args (newer format), depth first, in order. */
function kerasTensorsIn(value: unknown, where: string, out: TensorRef[]): TensorRef[] {
  if (Array.isArray(value)) {
    for (const item of value) kerasTensorsIn(item, where, out);
  } else if (isObject(value) && value.class_name === '__keras_tensor__') {
    const history = isObject(value.config) ? value.config.keras_history : undefined;
    out.push(listRef(history, `${where} keras_history`));
  }
  return out;
}

/**
 * The inputs of each call of a layer. Keras writes `inbound_nodes` either as lists of
 * [layer, node, tensor, kwargs] per call (Keras 2.x, TF.js) or as {args, kwargs} per call with
 * `__keras_tensor__` objects in args (Keras >= 2.13 and 3).
 */
export function parseInboundNodes(value: unknown, where: string): TensorRef[][] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${where}: inbound_nodes must be an array, got ${JSON.stringify(value)}`);
  return value.map((call, i) => {
    const at = `${where}: inbound_nodes[${i}]`;
    if (Array.isArray(call)) return call.map((ref) => listRef(ref, at));
    if (isObject(call) && 'args' in call) {
      const refs = kerasTensorsIn(call.args, at, []);
      if (refs.length === 0) throw new Error(`${at}: no input tensors in args`);
      return refs;
    }
    throw new Error(`${at}: expected a list of inputs or {args, kwargs}, got ${JSON.stringify(call)}`);
  });
}

function layerSpec(value: unknown, index: number): KerasLayerSpec & { rawInbound: unknown } {
  const where = `layer ${index}`;
  if (!isObject(value) || typeof value.class_name !== 'string' || !isObject(value.config)) {
    throw new Error(`${where}: expected {class_name, config, ...}, got ${JSON.stringify(value)?.slice(0, 200)}`);
  }
  const name = typeof value.name === 'string' ? value.name : value.config.name;
  if (typeof name !== 'string' || name === '') throw new Error(`${where} (${value.class_name}) has no name`);
  return { name, className: value.class_name, config: value.config, calls: [], rawInbound: value.inbound_nodes };
}

/** The layer that a Sequential model starts with when its first layer carries the input shape. */
function sequentialInput(first: KerasLayerSpec): KerasLayerSpec {
  const shape = first.config.batch_input_shape ?? first.config.batch_shape;
  if (!Array.isArray(shape)) throw new Error(`Sequential model: its first layer '${first.name}' (${first.className}) has no batch_input_shape, so the input shape is unknown`);
  // NOTE: Keras names the implicit input layer of a Sequential model '<first layer>_input'.
  return { name: `${first.name}_input`, className: 'InputLayer', config: { batch_input_shape: shape, dtype: first.config.dtype ?? 'float32' }, calls: [] };
}

function parseSequential(config: unknown): KerasModelSpec {
  // NOTE: Keras 2.0-2.1 wrote a Sequential config as the bare list of layers.
  const layersValue = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  const name = isObject(config) && typeof config.name === 'string' ? config.name : 'sequential';
  if (!Array.isArray(layersValue) || layersValue.length === 0) throw new Error('Sequential model has no layers');
  const layers: KerasLayerSpec[] = layersValue.map((value, i) => {
    const { rawInbound: _, ...spec } = layerSpec(value, i);
    return spec;
  });
  if (layers[0].className !== 'InputLayer') layers.unshift(sequentialInput(layers[0]));
  for (let i = 1; i < layers.length; i++) {
    if (layers[i].className === 'InputLayer') throw new Error(`Sequential model: InputLayer '${layers[i].name}' is not the first layer`);
    layers[i].calls = [[{ layer: layers[i - 1].name, node: 0, tensor: 0 }]];
  }
  const last = layers[layers.length - 1].name;
  return { name, layers, inputs: [{ layer: layers[0].name, node: 0, tensor: 0 }], outputs: [{ layer: last, node: 0, tensor: 0 }] };
}

function refList(value: unknown, where: string): TensorRef[] {
  if (!Array.isArray(value) || value.length === 0) throw new Error(`${where} must be a non-empty list of [layerName, nodeIndex, tensorIndex]`);
  // NOTE: a single reference may be written unwrapped ([name, 0, 0] instead of [[name, 0, 0]]).
  if (typeof value[0] === 'string') return [listRef(value, where)];
  return value.map((ref) => listRef(ref, where));
}

function parseFunctional(config: unknown): KerasModelSpec {
  if (!isObject(config) || !Array.isArray(config.layers)) throw new Error('functional model config has no layers list');
  const names = new Set<string>();
  const layers = config.layers.map((value, i) => {
    const { rawInbound, ...spec } = layerSpec(value, i);
    if (names.has(spec.name)) throw new Error(`two layers are named '${spec.name}'`);
    names.add(spec.name);
    spec.calls = parseInboundNodes(rawInbound, `layer '${spec.name}' (${spec.className})`);
    return spec;
  });
  const inputs = refList(config.input_layers, 'input_layers');
  const outputs = refList(config.output_layers, 'output_layers');
  for (const ref of [...inputs, ...outputs]) if (!names.has(ref.layer)) throw new Error(`model input/output names layer '${ref.layer}', which is not in the model`);
  return { name: typeof config.name === 'string' ? config.name : 'model', layers, inputs, outputs };
}

/**
 * Parses model.json's `modelTopology` (`{model_config: {class_name, config}}` as Keras's converter
 * writes it, or `{class_name, config}` as TF.js's model.save() does) into a KerasModelSpec.
 */
export function parseKerasTopology(modelTopology: unknown): KerasModelSpec {
  if (!isObject(modelTopology)) throw new Error('modelTopology must be an object (is this a TF.js graph model? only layers models are supported)');
  const modelConfig = isObject(modelTopology.model_config) ? modelTopology.model_config : modelTopology;
  const className = modelConfig.class_name;
  if (className === 'Sequential') return parseSequential(modelConfig.config);
  if (className === 'Model' || className === 'Functional') return parseFunctional(modelConfig.config);
  throw new Error(`model class ${JSON.stringify(className)} is not supported (Sequential, Model or Functional layers models)`);
}

/**
 * The part of `spec` that computes the outputs of the layers named in `outputs` (Keras names):
 * those layers become the model's outputs and every layer they do not need is left out (e.g.
 * a classifier's head, to use its body as a backbone). Returns the cut spec and the names of
 * the layers left out, whose weights the caller may then ignore.
 */
export function cutKerasModel(spec: KerasModelSpec, outputs: string[]): { spec: KerasModelSpec; removed: string[] } {
  const byName = new Map(spec.layers.map((l) => [l.name, l]));
  for (const name of outputs) {
    if (!byName.has(name)) throw new Error(`outputs: the model has no layer '${name}'`);
    if (byName.get(name)!.calls.length > 1) throw new Error(`outputs: layer '${name}' is called ${byName.get(name)!.calls.length} times (a shared layer); name a layer called once`);
  }
  const needed = new Set<string>();
  const visit = (name: string): void => {
    if (needed.has(name) || !byName.has(name)) return;
    needed.add(name);
    for (const call of byName.get(name)!.calls) for (const ref of call) visit(ref.layer);
  };
  outputs.forEach(visit);
  return {
    spec: {
      name: spec.name,
      layers: spec.layers.filter((l) => needed.has(l.name)),
      inputs: spec.inputs.filter((r) => needed.has(r.layer)),
      outputs: outputs.map((layer) => ({ layer, node: 0, tensor: 0 })),
    },
    removed: spec.layers.filter((l) => !needed.has(l.name)).map((l) => l.name),
  };
}
