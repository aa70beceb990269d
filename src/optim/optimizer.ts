/** Optimizer: the base of Kestrel's optimizers (parameter groups, per-parameter state, state dicts). */
import { type Tensor, keep, noGrad, tidy, zerosLike } from '../tensor/index.js';
import { type OptimizerMeta, type OptimizerStateDict, exportState, importState } from './state.js';

/** Hyper-parameters shared by every group; optimizer-specific groups add their own. */
export interface ParamGroup {
  /** The tensors this group updates. */
  params: Tensor[];
  /** Learning rate (schedulers set it between steps). */
  lr: number;
  /** Weight decay (L2 for SGD/Adam, decoupled for AdamW). */
  weightDecay: number;
  /** SGD's momentum factor (SGD groups only; schedulers may set it). */
  momentum?: number;
  /** Adam's moment coefficients (Adam/AdamW groups only; schedulers may set betas[0]). */
  betas?: [number, number];
}

/** A parameter group as given to a constructor or addParamGroup: params plus optional overrides. */
export type GroupInit<G extends ParamGroup = ParamGroup> = { params: Tensor[] } & Partial<Omit<G, 'params'>>;

/** What optimizers are built from: tensors (one group) or an array of group inits. */
export type ParamsInput<G extends ParamGroup = ParamGroup> = Tensor[] | GroupInit<G>[];

/** Per-parameter state: a step count (JS number) and persistent tensors by PyTorch's names. */
export interface ParamState {
  /** Steps taken for this parameter (undefined for optimizers that count none). */
  step?: number;
  /** Persistent tensors such as `exp_avg` or `momentum_buffer` (owned by the optimizer). */
  tensors: Map<string, Tensor>;
}

/**
 * Base of the optimizers: holds parameter groups and per-parameter state, runs updates in place
 * under noGrad, and saves/restores state so training resumes bit-identically.
 */
export abstract class Optimizer<G extends ParamGroup = ParamGroup> {
  /** Parameter groups; their hyper-parameters are read afresh on every step. */
  readonly paramGroups: G[] = [];
  /** State by parameter (entries appear on a parameter's first update). */
  protected readonly state = new Map<Tensor, ParamState>();
  /** Defaults filled into groups that leave a hyper-parameter out. */
  protected readonly defaults: Partial<Omit<G, 'params'>>;

  /** Builds the optimizer over tensors or group inits, with defaults for missing hyper-parameters. */
  constructor(params: ParamsInput<G>, defaults: Partial<Omit<G, 'params'>>) {
    this.defaults = defaults;
    if (!Array.isArray(params)) throw new Error(`${this.typeName}: params must be an array of tensors or of parameter groups`);
    if (params.length === 0) throw new Error(`${this.typeName}: got an empty parameter list`);
    const groups = isGroupList(params) ? params : [{ params } as GroupInit<G>];
    for (const init of groups) this.addParamGroup(init);
  }

  /** The optimizer's name, saved in state dicts and checked on load (e.g. `Adam`); subclasses spell it out. */
  get typeName(): string { return this.constructor.name; }

  /** Names of the per-parameter state tensors this optimizer may keep (PyTorch's names). */
  protected abstract get stateNames(): readonly string[];

  /** Throws a clear Error when a group's hyper-parameters are invalid. */
  protected abstract checkGroup(group: G, where: string): void;

  /** Describes what a parameter's state lacks (or null when complete); used to validate loads. */
  protected abstract missingState(state: ParamState, group: G): string | null;

  /** Updates one parameter in place (called under noGrad inside a tidy scope). */
  protected abstract updateParam(param: Tensor, grad: Tensor, state: ParamState, group: G): void;

  /** Adds a group of parameters; missing hyper-parameters come from the optimizer's defaults. */
  addParamGroup(init: GroupInit<G>): void {
    const where = `${this.typeName}: parameter group ${this.paramGroups.length}`;
    if (init === null || typeof init !== 'object' || !Array.isArray(init.params)) throw new Error(`${where} needs a params array`);
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    const own = new Set<Tensor>();
    for (const [i, p] of init.params.entries()) {
      if (p === null || typeof p !== 'object' || typeof (p as Tensor).handle !== 'number') throw new Error(`${where}: params[${i}] is not a tensor`);
      if (p.isDisposed) throw new Error(`${where}: params[${i}] has been disposed`);
      if (!p.isLeaf) throw new Error(`${where}: params[${i}] is not a leaf tensor (it was computed from others); optimize the leaves`);
      if (seen.has(p)) throw new Error(`${where}: params[${i}] already belongs to another parameter group`);
      // NOTE: PyTorch only warns on duplicates within a group; an update applied twice is never wanted.
      if (own.has(p)) throw new Error(`${where}: params[${i}] appears twice in the group`);
      own.add(p);
    }
    const group = { ...copyHyper(this.defaults), ...copyHyper(init), params: [...init.params] } as unknown as G;
    this.checkGroup(group, where);
    this.paramGroups.push(group);
  }

  /** Applies one update to every parameter that requires grad and has a gradient. */
  step(): void {
    noGrad(() => {
      for (const group of this.paramGroups) this.stepGroup(group);
    });
  }

  /** The state of a parameter, created empty on first use. */
  protected paramState(param: Tensor): ParamState {
    let state = this.state.get(param);
    if (state === undefined) {
      state = { tensors: new Map() };
      this.state.set(param, state);
    }
    return state;
  }

  /** Updates one group's parameters, one at a time (subclasses may update a group at once). */
  protected stepGroup(group: G): void {
    for (const param of group.params) {
      // NOTE: one scope per parameter frees its temporaries at once, as PyTorch's refcounting does,
      // so peak memory grows by one parameter's temporaries rather than the whole model's.
      tidy(() => {
        const grad = param.grad;
        if (grad === null || !param.requiresGrad) return;
        this.updateParam(param, grad, this.paramState(param), group);
      });
    }
  }

  /** Clears every parameter's gradient (sets it to null). */
  zeroGrad(): void {
    for (const group of this.paramGroups) for (const p of group.params) p.setGrad(null);
  }

  /** The persistent state tensor `name` of a parameter, created by `make` (and kept) on first use. */
  protected stateTensor(state: ParamState, name: string, make: () => Tensor): Tensor {
    let value = state.tensors.get(name);
    if (value === undefined) {
      value = keep(make());
      state.tensors.set(name, value);
    }
    return value;
  }

  /**
   * A snapshot of the optimizer: state tensors (fresh copies the caller owns, named
   * `state.<paramIndex>.<name>`, with `step` as a float32 scalar like PyTorch) and JSON-ready meta.
   */
  stateDict(): OptimizerStateDict {
    return exportState(this.typeName, this.paramGroups, this.state);
  }

  /**
   * Restores a snapshot from stateDict(): group hyper-parameters, step counts and state tensors
   * (copied in; the given tensors stay the caller's). Validates everything before changing anything.
   */
  loadStateDict(saved: OptimizerStateDict | { tensors: Record<string, Tensor>; meta: OptimizerMeta }): void {
    const loaded = importState(saved, this.typeName, this.paramGroups, new Set(this.stateNames));
    const groups = loaded.groups.map((hyper, g) => ({ ...this.paramGroups[g], ...hyper }) as G);
    groups.forEach((group, g) => this.checkGroup(group, `${this.typeName}.loadStateDict: parameter group ${g}`));
    const params = this.paramGroups.flatMap((g) => g.params);
    const groupOf = groups.flatMap((group) => group.params.map(() => group));
    for (const [index, entry] of loaded.states) {
      const missing = this.missingState(entry, groupOf[index]);
      if (missing !== null) throw new Error(`${this.typeName}.loadStateDict: state of parameter ${index} ${missing}`);
    }
    this.clearState();
    // NOTE: groups are updated in place so references held elsewhere (schedulers) stay valid.
    loaded.groups.forEach((hyper, g) => Object.assign(this.paramGroups[g], hyper));
    noGrad(() => {
      for (const [index, entry] of loaded.states) {
        const param = params[index];
        const tensors = new Map<string, Tensor>();
        for (const [name, value] of entry.tensors) {
          tensors.set(name, keep(tidy(() => zerosLike(param).copy_(value))));
        }
        this.state.set(param, { step: entry.step, tensors });
      }
    });
  }

  /** Frees the optimizer's state tensors (parameters are left alone); steps start afresh after. */
  dispose(): void {
    this.clearState();
  }

  private clearState(): void {
    for (const state of this.state.values()) for (const t of state.tensors.values()) t.dispose();
    this.state.clear();
  }

  /** PyTorch-style listing of the parameter groups and their hyper-parameters. */
  toString(): string {
    const lines = [`${this.typeName} (`];
    this.paramGroups.forEach((group, g) => {
      const elements = group.params.reduce((sum, p) => sum + (p.isDisposed ? 0 : p.size), 0);
      lines.push(`Parameter Group ${g}`, `    params: ${group.params.length} tensors (${elements.toLocaleString('en-US')} elements)`);
      for (const [key, value] of Object.entries(group)) {
        if (key !== 'params') lines.push(`    ${key}: ${Array.isArray(value) ? `[${value.join(', ')}]` : String(value)}`);
      }
    });
    lines.push(')');
    return lines.join('\n');
  }
}


function isGroupList<G extends ParamGroup>(params: ParamsInput<G>): params is GroupInit<G>[] {
  const first = params[0] as unknown;
  return typeof first === 'object' && first !== null && 'params' in first;
}

/** Hyper-parameters of a group or defaults without params or undefined values; arrays copied. */
function copyHyper(source: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    // NOTE: arrays are copied so a scheduler setting group.betas[0] changes that group only.
    if (key !== 'params' && value !== undefined) out[key] = Array.isArray(value) ? [...value] : value;
  }
  return out;
}
