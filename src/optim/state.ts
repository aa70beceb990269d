/** Optimizer state dicts: snapshotting state to named tensors plus JSON meta, and validating loads. */
import { type Tensor, isFloating, noGrad, scalar } from '../tensor/index.js';
import type { ParamGroup, ParamState } from './optimizer.js';

/** A JSON-serialisable hyper-parameter value. */
export type HyperValue = number | boolean | string | null | number[];

/** A parameter group in saved meta: hyper-parameters plus the indices of its parameters. */
export interface GroupMeta {
  /** Indices of the group's parameters, numbered across groups in order (as PyTorch does). */
  params: number[];
  /** Hyper-parameters by name (lr, weightDecay, betas, ...). */
  [hyper: string]: HyperValue;
}

/** The JSON part of an optimizer state dict. */
export interface OptimizerMeta {
  /** Format version of this layout. */
  version: 1;
  /** The optimizer's type name (`SGD`, `Adam`, `AdamW`). */
  type: string;
  /** Parameter groups with their hyper-parameters. */
  groups: GroupMeta[];
  /** Step count of each parameter by index (null when it has none). */
  steps: (number | null)[];
}

/** An optimizer snapshot: `state.<paramIndex>.<name>` tensors and JSON meta. */
export interface OptimizerStateDict {
  /** State tensors by name (`state.0.exp_avg`, `state.3.momentum_buffer`, `state.0.step`). */
  tensors: Map<string, Tensor>;
  /** Type, groups and step counts (JSON-serialisable). */
  meta: OptimizerMeta;
}

/** A validated load: group hyper-parameters and state by (current) parameter index. */
export interface LoadedState {
  /** Hyper-parameters of each group (without params). */
  groups: Record<string, HyperValue>[];
  /** State by flat parameter index; tensors still belong to the caller of loadStateDict. */
  states: Map<number, { step: number | undefined; tensors: Map<string, Tensor> }>;
}

/** Copies state and hyper-parameters into a snapshot the caller owns. */
export function exportState(type: string, groups: ParamGroup[], state: Map<Tensor, ParamState>): OptimizerStateDict {
  const tensors = new Map<string, Tensor>();
  const steps: (number | null)[] = [];
  let next = 0;
  const metaGroups = groups.map((group, g) => {
    const meta: GroupMeta = { params: group.params.map(() => next++) };
    for (const [key, value] of Object.entries(group)) {
      if (key === 'params') continue;
      if (!isHyperValue(value)) throw new Error(`${type}.stateDict: hyper-parameter ${key} of group ${g} is not JSON-serialisable (${String(value)})`);
      meta[key] = Array.isArray(value) ? [...value] : value;
    }
    return meta;
  });
  noGrad(() => {
    groups.flatMap((g) => g.params).forEach((param, index) => {
      const entry = state.get(param);
      steps.push(entry?.step ?? null);
      if (entry === undefined) return;
      for (const [name, value] of entry.tensors) tensors.set(`state.${index}.${name}`, value.clone());
      // NOTE: PyTorch keeps step as a float32 scalar tensor; saving one too eases conversion.
      if (entry.step !== undefined) tensors.set(`state.${index}.step`, scalar(entry.step, { dtype: 'float32' }));
    });
  });
  return { tensors, meta: { version: 1, type, groups: metaGroups, steps } };
}

/** Checks a snapshot against this optimizer's type, groups and parameter shapes; throws on any mismatch. */
export function importState(saved: { tensors: Map<string, Tensor> | Record<string, Tensor>; meta: OptimizerMeta }, type: string, groups: ParamGroup[], stateNames: Set<string>): LoadedState {
  const where = `${type}.loadStateDict`;
  if (saved === null || typeof saved !== 'object' || typeof saved.meta !== 'object' || saved.meta === null) {
    throw new Error(`${where}: expected { tensors, meta } from stateDict()`);
  }
  const { meta } = saved;
  const source: Map<string, Tensor> = saved.tensors instanceof Map ? saved.tensors : new Map(Object.entries(saved.tensors ?? {}));
  if (meta.version !== 1) throw new Error(`${where}: unknown state format version ${String(meta.version)}`);
  if (meta.type !== type) throw new Error(`${where}: the state was saved by a ${String(meta.type)} optimizer, not ${type}`);
  if (!Array.isArray(meta.groups) || meta.groups.length !== groups.length) {
    throw new Error(`${where}: the state has ${Array.isArray(meta.groups) ? meta.groups.length : 'no'} parameter groups, the optimizer has ${groups.length}`);
  }
  const params = groups.flatMap((g) => g.params);
  const indexOf = new Map<number, number>();
  const hyper = meta.groups.map((savedGroup, g) => {
    const count = groups[g].params.length;
    if (!Array.isArray(savedGroup.params) || savedGroup.params.length !== count) {
      throw new Error(`${where}: parameter group ${g} has ${Array.isArray(savedGroup.params) ? savedGroup.params.length : 'no'} parameters in the state, ${count} in the optimizer`);
    }
    const firstIndex = indexOf.size;
    savedGroup.params.forEach((savedIndex, j) => {
      if (!Number.isInteger(savedIndex) || indexOf.has(savedIndex)) throw new Error(`${where}: group ${g} has a bad or repeated parameter index ${String(savedIndex)}`);
      indexOf.set(savedIndex, firstIndex + j);
    });
    const values: Record<string, HyperValue> = {};
    for (const [key, value] of Object.entries(savedGroup)) {
      if (key === 'params') continue;
      if (!isHyperValue(value)) throw new Error(`${where}: hyper-parameter ${key} of group ${g} has a bad value ${JSON.stringify(value)}`);
      values[key] = Array.isArray(value) ? [...value] : value;
    }
    return values;
  });

  const states = new Map<number, { step: number | undefined; tensors: Map<string, Tensor> }>();
  const entry = (index: number) => {
    let found = states.get(index);
    if (found === undefined) states.set(index, found = { step: undefined, tensors: new Map() });
    return found;
  };
  const stepTensors = new Map<number, number>();
  for (const [key, value] of source) {
    const match = /^state\.(\d+)\.(\w+)$/.exec(key);
    const index = match ? indexOf.get(Number(match[1])) : undefined;
    if (!match || index === undefined) throw new Error(`${where}: unexpected tensor ${key} (expected state.<paramIndex>.<name> for ${params.length} parameters)`);
    const name = match[2];
    if (name === 'step') {
      if (value.size !== 1) throw new Error(`${where}: ${key} must hold one number, got shape [${value.shape.join(', ')}]`);
      stepTensors.set(index, value.item());
      continue;
    }
    if (!stateNames.has(name)) throw new Error(`${where}: unexpected tensor ${key}; ${type} keeps ${[...stateNames].join(', ')}`);
    const want = params[index].shape;
    if (value.shape.join(',') !== want.join(',')) {
      throw new Error(`${where}: shape mismatch for ${key}: parameter ${index} is [${want.join(', ')}], state is [${value.shape.join(', ')}]`);
    }
    if (!isFloating(value.dtype)) throw new Error(`${where}: ${key} has dtype ${value.dtype}, expected a floating type`);
    entry(index).tensors.set(name, value);
  }

  const steps = meta.steps ?? [];
  if (!Array.isArray(steps)) throw new Error(`${where}: meta.steps must be an array`);
  steps.forEach((step, savedIndex) => {
    if (step === null || step === undefined) return;
    const index = indexOf.get(savedIndex);
    if (index === undefined) throw new Error(`${where}: meta.steps has a step for unknown parameter ${savedIndex}`);
    if (!Number.isInteger(step) || step < 0) throw new Error(`${where}: step of parameter ${savedIndex} must be a non-negative integer, got ${String(step)}`);
    entry(index).step = step;
  });
  for (const [index, value] of stepTensors) {
    const found = entry(index);
    if (found.step === undefined) {
      if (!Number.isInteger(value) || value < 0) throw new Error(`${where}: step tensor of parameter ${index} holds ${value}, not a step count`);
      found.step = value;
    } else if (Math.fround(found.step) !== value) {
      throw new Error(`${where}: parameter ${index} has step ${found.step} in meta but ${value} in its step tensor`);
    }
  }
  return { groups: hyper, states };
}

function isHyperValue(value: unknown): value is HyperValue {
  if (value === null || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') return true;
  return Array.isArray(value) && value.every((v) => typeof v === 'number');
}
