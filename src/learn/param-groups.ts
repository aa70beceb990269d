/**
 * Parameter groups of a Learner (fastai's splitter) and freezing by group (fastai's freeze_to),
 * with batch-norm layers kept trainable (fastai's train_bn) or fully frozen.
 */
import { BatchNorm1d, BatchNorm2d, type Module, type Parameter } from '../nn/index.js';

/** Splits a model's parameters into groups, earliest layers first (the last group is the head). */
export type Splitter = (model: Module) => Parameter[][];

/** Whether a module is a batch-norm layer (what train_bn keeps trainable). */
export function isBatchNorm(module: Module): boolean {
  return module instanceof BatchNorm1d || module instanceof BatchNorm2d;
}

/** Parameters of every batch-norm layer of a model (fastai's norm_bias_params without biases). */
export function batchNormParameters(model: Module): Set<Parameter> {
  const out = new Set<Parameter>();
  for (const [, module] of model.namedModules()) {
    if (!isBatchNorm(module)) continue;
    for (const [, p] of module.namedParameters()) out.add(p);
  }
  return out;
}

/**
 * Runs `splitter` and checks its result: non-empty groups of the model's own parameters, each
 * parameter in exactly one group, none left out (a parameter in no group would never train).
 */
export function splitParameters(model: Module, splitter: Splitter): Parameter[][] {
  const groups = splitter(model);
  if (!Array.isArray(groups) || groups.length === 0 || !groups.every(Array.isArray)) {
    throw new Error('param-groups.ts: the splitter must return a non-empty array of parameter arrays');
  }
  const names = new Map(model.namedParameters().map(([name, p]) => [p, name]));
  const seen = new Set<Parameter>();
  groups.forEach((group, g) => {
    if (group.length === 0) throw new Error(`param-groups.ts: parameter group ${g} of ${groups.length} is empty`);
    for (const p of group) {
      if (!names.has(p)) throw new Error(`param-groups.ts: parameter group ${g} holds a tensor that is not a parameter of the model`);
      if (seen.has(p)) throw new Error(`param-groups.ts: parameter ${names.get(p)} is in more than one group`);
      seen.add(p);
    }
  });
  const left = [...names].filter(([p]) => !seen.has(p)).map(([, name]) => name);
  if (left.length > 0) {
    throw new Error(`param-groups.ts: the splitter left ${left.length} parameter(s) out of every group (they would never train): ${left.slice(0, 5).join(', ')}${left.length > 5 ? ', ...' : ''}`);
  }
  return groups;
}

/** fastai's freeze_to index: negative n counts from the end; checked against the number of groups. */
export function frozenIndex(n: number, groups: number): number {
  if (!Number.isInteger(n) || n < -groups || n > groups) {
    throw new Error(`freezeTo: n must be an integer in [${-groups}, ${groups}] for ${groups} parameter group(s), got ${n}`);
  }
  return n >= 0 ? n : groups + n;
}

/**
 * Groups before `frozenIdx` stop receiving gradients, except the parameters in `keepTrainable`
 * (batch norm with train_bn); the other groups train. Applied to every parameter, so it also
 * undoes freezes made by hand (as fastai's freeze_to does).
 */
export function applyFreeze(groups: Parameter[][], frozenIdx: number, keepTrainable: ReadonlySet<Parameter>): void {
  groups.forEach((group, g) => {
    for (const p of group) p.setRequiresGrad(g >= frozenIdx || keepTrainable.has(p));
  });
}

/**
 * Puts every batch-norm layer whose parameters are all frozen into eval mode, so its running
 * statistics stay fixed (fastai's BnFreeze; what a Learner does when trainBn is false).
 */
export function freezeBatchNormStatistics(model: Module): void {
  for (const [, module] of model.namedModules()) {
    if (!isBatchNorm(module)) continue;
    const params = module.namedParameters();
    if (params.length > 0 && params.every(([, p]) => !p.requiresGrad)) module.training = false;
  }
}
