/** Batch-norm folding: in eval mode a convolution followed by a batch norm is one convolution with adjusted weights. */
import { type DType, type Tensor, keep, noGrad, op, tidy } from '../tensor/index.js';
import { BatchNorm2d } from './batchnorm.js';
import { Conv2d } from './conv.js';
import type { Module } from './module.js';
import { Sequential } from './sequential.js';
import { GraphModel } from './graph/model.js';
import type { SymbolicTensor } from './graph/symbolic.js';

/**
 * A module that says which of its convolutions feed straight into a batch norm (and nothing else),
 * for modules whose forward is not a Sequential chain (ResNet blocks). Sequential needs nothing.
 */
export interface DeclaresConvBatchNormPairs {
  /** Each convolution whose output only goes into the batch norm paired with it. */
  convBatchNormPairs(): [Conv2d, BatchNorm2d][];
}

/**
 * Whether a layer computes exactly what its base class does, so folding stays exact: a subclass that
 * overrides forward (a fused activation, say) is left alone unless it says `canFoldBatchNorm`.
 */
function plain(layer: Module, base: { prototype: { forward: unknown } }): boolean {
  const own = (layer as { canFoldBatchNorm?: unknown }).canFoldBatchNorm;
  return typeof own === 'boolean' ? own : layer.forward === base.prototype.forward;
}

function declaresPairs(module: Module): module is Module & DeclaresConvBatchNormPairs {
  return typeof (module as Partial<DeclaresConvBatchNormPairs>).convBatchNormPairs === 'function';
}

/**
 * Calls of a graph model where a convolution's output goes only into a batch norm: each layer called
 * once, the convolution's output read by nothing else and not a model output.
 */
function graphPairs(model: GraphModel): [Module, Module][] {
  const calls = new Map<Module, number>();
  const readers = new Map<SymbolicTensor, number>();
  for (const step of model.steps) {
    calls.set(step.module, (calls.get(step.module) ?? 0) + 1);
    for (const t of step.inputs) readers.set(t, (readers.get(t) ?? 0) + 1);
  }
  const outputs = new Set(model.outputs);
  const pairs: [Module, Module][] = [];
  for (const step of model.steps) {
    if (!(step.module instanceof BatchNorm2d) || step.inputs.length !== 1 || calls.get(step.module) !== 1) continue;
    const input = step.inputs[0];
    const producer = model.steps.find((s) => s.outputs.includes(input));
    if (!producer || producer.outputs.length !== 1 || calls.get(producer.module) !== 1 || readers.get(input) !== 1 || outputs.has(input)) continue;
    pairs.push([producer.module, step.module]);
  }
  return pairs;
}

/**
 * The (Conv2d, BatchNorm2d) pairs of a model that can be folded: adjacent layers of every
 * Sequential, convolutions feeding only a batch norm in graph models, plus the pairs modules
 * declare (DeclaresConvBatchNormPairs). A pair needs a batch norm with running statistics and as
 * many features as the convolution has output channels, and layers that compute just the
 * convolution and the normalisation (see `plain`).
 */
export function convBatchNormPairs(model: Module): [Conv2d, BatchNorm2d][] {
  const pairs: [Conv2d, BatchNorm2d][] = [];
  const used = new Set<Module>();
  for (const [, module] of model.namedModules()) {
    const candidates: [Module, Module][] = [];
    if (module instanceof Sequential) for (let i = 0; i + 1 < module.length; i++) candidates.push([module[i], module[i + 1]]);
    if (module instanceof GraphModel) candidates.push(...graphPairs(module));
    if (declaresPairs(module)) candidates.push(...module.convBatchNormPairs());
    for (const [conv, bn] of candidates) {
      if (!(conv instanceof Conv2d) || !(bn instanceof BatchNorm2d) || used.has(conv) || used.has(bn)) continue;
      if (!plain(conv, Conv2d) || !plain(bn, BatchNorm2d)) continue;
      if (!bn.running_mean || !bn.running_var || bn.numFeatures !== conv.outChannels) continue;
      pairs.push([conv, bn]);
      used.add(conv).add(bn);
    }
  }
  return pairs;
}

/** The folded weight and bias of one pair: w * g / sqrt(var + eps) and (b - mean) * g / sqrt(var + eps) + beta. */
function foldPair(conv: Conv2d, bn: BatchNorm2d, dtype: DType | undefined): { weight: Tensor; bias: Tensor } {
  return noGrad(() => tidy(() => {
    let scale = op('aten::rsqrt', '', [bn.running_var!.add(bn.eps).handle]);
    if (bn.weight) scale = scale.mul(bn.weight);
    const weight = conv.weight.mul(scale.reshape(-1, 1, 1, 1)).contiguous('channels-last');
    let bias = (conv.bias ? conv.bias.sub(bn.running_mean!) : bn.running_mean!.neg()).mul(scale);
    if (bn.bias) bias = bias.add(bn.bias);
    return dtype ? { weight: keep(weight.to(dtype)), bias: keep(bias.to(dtype)) } : { weight: keep(weight), bias: keep(bias) };
  }));
}

/** The tensors a pair's folded weights are computed from, for staleness checks. */
function sources(conv: Conv2d, bn: BatchNorm2d): Tensor[] {
  return [conv.weight, conv.bias, bn.weight, bn.bias, bn.running_mean, bn.running_var].filter((t): t is Tensor => t !== null);
}

/**
 * Folds a model's batch norms into the convolutions before them for eval mode, caching the folded
 * weights and recomputing them when any source tensor changed (version counters), so it is safe
 * across training. `run(fn)` applies the fold only while `fn` runs; outside it the model is untouched.
 * In training mode the layers ignore the fold (batch norm needs batch statistics there).
 */
export class BatchNormFolder {
  private readonly pairs: [Conv2d, BatchNorm2d][];
  private folded: { weight: Tensor; bias: Tensor }[] | null = null;
  private versions: number[] = [];

  /**
   * A folder over the pairs convBatchNormPairs finds in `model` (none: run() just calls fn). With
   * `dtype` (the autocast type of bf16/fp16 inference) the folded weights are stored in it.
   * NOTE: autocast would cast float32 weights to bfloat16 on every batch (its cast cache keeps only
   * leaves that require grad, and only until the region ends): cast once here, same bits.
   */
  constructor(readonly model: Module, readonly dtype?: DType) {
    this.pairs = convBatchNormPairs(model);
  }

  /** Pairs folded. */
  get size(): number { return this.pairs.length; }

  private currentVersions(): number[] {
    return this.pairs.flatMap(([conv, bn]) => sources(conv, bn).map((t) => t.version));
  }

  /** Installs the fold (recomputing stale weights); returns a function that removes it. */
  install(): () => void {
    if (this.pairs.length === 0) return () => {};
    const versions = this.currentVersions();
    if (!this.folded || versions.some((v, i) => v !== this.versions[i])) {
      this.release();
      this.folded = this.pairs.map(([conv, bn]) => foldPair(conv, bn, this.dtype));
      this.versions = versions;
    }
    // NOTE: pairs already folded by an enclosing fold (a server's foldBatchNorm) are left as they are.
    const mine = this.pairs.map(([conv]) => !conv.hasEvalWeights);
    this.pairs.forEach(([conv, bn], i) => {
      if (!mine[i]) return;
      conv.setEvalWeights(this.folded![i]);
      bn.setFoldedAway(true);
    });
    return () => this.pairs.forEach(([conv, bn], i) => {
      if (!mine[i]) return;
      conv.setEvalWeights(null);
      bn.setFoldedAway(false);
    });
  }

  /** Runs `fn` with the fold installed. */
  run<T>(fn: () => T): T {
    const remove = this.install();
    try {
      return fn();
    } finally {
      remove();
    }
  }

  /** Frees the cached folded weights. */
  release(): void {
    for (const { weight, bias } of this.folded ?? []) { weight.dispose(); bias.dispose(); }
    this.folded = null;
  }
}

/** A fold that stays installed until restore() (see foldBatchNorm). */
export interface FoldedBatchNorm {
  /** Number of (convolution, batch norm) pairs folded. */
  readonly pairs: number;
  /** Removes the fold and frees its weights. */
  restore(): void;
}

/**
 * Folds every foldable batch norm of `model` into the convolution before it, for eval mode, until
 * restore(): for serving fixed weights. The folded weights are computed now; call restore() and fold
 * again after the weights change (the Learner folds per call instead and checks for changes).
 */
export function foldBatchNorm(model: Module): FoldedBatchNorm {
  const folder = new BatchNormFolder(model);
  const remove = folder.install();
  return { pairs: folder.size, restore: () => { remove(); folder.release(); } };
}
