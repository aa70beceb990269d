/**
 * visionLearner (fastai's vision_learner): a pretrained network cut before its classifier, a new
 * head, parameter groups from the architecture's metadata, the body frozen; optionally training
 * the head on precomputed body features.
 */
import { type Tensor, loadSafetensors } from '../tensor/index.js';
import { GraphModel, Module, Sequential } from '../nn/index.js';
import { AdamW } from '../optim/index.js';
import { type DataPair, Learner, type LearnerOptions, type Splitter, batchNormParameters, isBatchNorm } from '../learn/index.js';
import { type ArchMeta, archMeta, cutGraph, cutModel, defaultSplit, graphSplit, metaOf } from './meta.js';
import { type HeadOptions, createHead } from './head.js';
import { TransferModel, bodyInputChannels, bodyOutputShape } from './transfer-model.js';
import { PrecomputeSource } from './precompute.js';

/** Options of visionLearner: where the body comes from, the head, precompute, and any Learner option. */
export interface VisionLearnerOptions extends LearnerOptions {
  /**
   * Weights of the whole pretrained network by its own names (a torchvision state dict, e.g. from
   * io's .pth reader), or a .safetensors file. Keys of the cut-off classifier (`fc.*`,
   * `classifier.*`) are ignored; the body's must all be there, with matching shapes.
   */
  pretrained?: Map<string, Tensor> | string;
  /** Outputs of the new head (default: the number of classes of the training data). */
  nOut?: number;
  /** Where the body ends: children kept (fastai's cut; negative: all but the last), a graph layer name, or a function. */
  cut?: number | string | ((model: Module) => Module);
  /** Head options (fastai's create_head), or a head of your own taking the body's feature maps. */
  head?: HeadOptions | Sequential;
  /** Train the head on precomputed body features while the body is frozen (fastai 0.7's precompute=True). */
  precompute?: boolean;
  /** Freeze all groups but the head (default: true when the weights are pretrained: `pretrained` given or a model passed). */
  freeze?: boolean;
  /** Seed of the precomputed features' shuffling (default 42). */
  seed?: number;
  /** Where precompute messages go (default console.log; silent when progress is false). */
  log?: (message: string) => void;
  /**
   * Momentum (PyTorch's sense) of every batch norm in the body. Keras imports keep Keras's 0.99 (0.01 here),
   * under which running statistics lag far behind the batches when batch norm trains (fastai's train_bn);
   * 0.1 is torchvision's and fastai's.
   */
  bnMomentum?: number;
}

/** How to rebuild a TransferModel by name (a model bundle's architecture options). */
export interface TransferArchitecture {
  /** The pretrained architecture's name (a key of modelMeta). */
  base: string;
  /** Outputs of the head. */
  numClasses: number;
  /** Head options (fastai's create_head). */
  head?: HeadOptions;
  /** Children of the base kept in the body (default: the metadata's cut). */
  cut?: number;
}

/** A Learner over a TransferModel that knows its architecture and can train on precomputed features. */
export class VisionLearner extends Learner {
  declare readonly model: TransferModel;
  /** How to rebuild the model by name (for bundles: architecture name 'transfer'); undefined for models passed in. */
  architecture: TransferArchitecture | undefined;
  private readonly log: ((message: string) => void) | null;
  private readonly seed: number;
  private readonly imageData: DataPair;
  private precomputed = false;

  /** Prefer visionLearner(); this wires a ready TransferModel to data. */
  constructor(model: TransferModel, data: DataPair, readonly meta: ArchMeta | undefined, options: VisionLearnerOptions = {}) {
    super(model, data, options);
    this.imageData = data;
    this.seed = options.seed ?? 42;
    this.log = options.log ?? (options.progress === false ? null : (message) => console.log(message));
  }

  /** Whether the head trains on precomputed body features. */
  get precompute(): boolean { return this.precomputed; }

  /**
   * Turns precompute on (the body must be frozen) or off. On: the learner's data become sources
   * of cached features, computed on the next pass (for the training and validation data each: a
   * pass of the frozen body in eval mode without augmentation); the model then accepts those
   * features as input and runs the rest of the head. Off: back to images, caches freed.
   */
  setPrecompute(on: boolean): void {
    if (on === this.precomputed) return;
    if (on) {
      const norm = batchNormParameters(this.model.body);
      const trainable = this.model.body.namedParameters().filter(([, p]) => p.requiresGrad && !norm.has(p));
      if (trainable.length > 0) throw new Error(`vision-learner.ts: precompute needs a frozen body (call freeze() first); trainable: ${trainable.slice(0, 3).map(([n]) => `body.${n}`).join(', ')}`);
      const wrap = (source: DataPair['train'], label: string, shuffle: boolean) => new PrecomputeSource(source, this.model, { shuffle, seed: this.seed, label, log: this.log });
      const train = wrap(this.imageData.train, 'training', true);
      const valid = this.imageData.valid ? wrap(this.imageData.valid, 'validation', false) : undefined;
      train.active = true;
      if (valid) valid.active = true;
      this.data = { train, ...(valid ? { valid } : {}) };
      this.log?.('precompute: on (the head trains on cached body features; unfreeze() turns it off)');
    } else {
      for (const source of [this.data.train, this.data.valid]) if (source instanceof PrecomputeSource) source.release();
      this.data = this.imageData;
      this.model.setFeatureInput(null);
      this.log?.('precompute: off (training on images again; cached features freed)');
    }
    this.precomputed = on;
  }

  /** Computes the cached features now rather than on the next pass (precompute must be on); resolves when done. */
  async prepareFeatures(): Promise<void> {
    if (!this.precomputed) throw new Error('vision-learner.ts: prepareFeatures() needs precompute on (setPrecompute(true))');
    for (const source of [this.data.train, this.data.valid]) if (source instanceof PrecomputeSource) await source.featureLoader();
  }

  /** freezeTo that also turns precompute off once body parameters train again. */
  override freezeTo(n: number): void {
    super.freezeTo(n);
    if (!this.precomputed) return;
    const norm = batchNormParameters(this.model.body);
    if (this.model.body.parameters().some((p) => p.requiresGrad && !norm.has(p))) this.setPrecompute(false);
  }
}

/** A body cut from a network, its splitter, and the network's state-dict keys that the body does not hold. */
interface CutResult { body: Module; split: Splitter; headKeys: Set<string> }

/** The body of `arch` cut where its metadata (or `cut`) says, and the splitter that goes with it. */
function cutBody(arch: Module, meta: ArchMeta | undefined, cut: VisionLearnerOptions['cut']): CutResult {
  const asTransfer = (split: (m: TransferModel) => ReturnType<Splitter>): Splitter => (m) => split(m as TransferModel);
  let body: Module;
  let split: Splitter;
  if (arch instanceof GraphModel) {
    if (typeof cut === 'number') throw new Error('vision-learner.ts: cut a graph model at a layer name, not a child count');
    body = typeof cut === 'function' ? cut(arch) : cutGraph(arch, cut);
    split = asTransfer(typeof cut === 'function' ? defaultSplit : graphSplit);
  } else if (typeof cut === 'function') {
    body = cut(arch);
    split = asTransfer(defaultSplit);
  } else {
    if (typeof cut === 'string') throw new Error(`vision-learner.ts: cut '${cut}' names a layer, which only graph models have; give a child count`);
    const count = cut ?? meta?.cut;
    if (count === undefined) throw new Error(`vision-learner.ts: no metadata for ${arch.constructor.name}; pass cut (children to keep, or a function returning the body)`);
    body = cutModel(arch, count);
    // NOTE: the metadata's split assumes its own cut; a different cut falls back to [body, head].
    split = asTransfer(meta && count === meta.cut ? meta.split : defaultSplit);
  }
  const bodyKeys = new Set(body.stateDict().keys());
  return { body, split, headKeys: new Set([...arch.stateDict().keys()].filter((k) => !bodyKeys.has(k))) };
}

/** Builds a named architecture and cuts it; the cut-off classifier's tensors are freed at once. */
function cutNamed(meta: ArchMeta, cut: VisionLearnerOptions['cut']): CutResult {
  const full = meta.build(1000);
  const result = cutBody(full, meta, cut);
  for (const [key, t] of full.stateDict()) if (result.headKeys.has(key)) t.dispose();
  return result;
}

function sameStats(a: { mean: number[]; std: number[] } | null, b: { mean: number[]; std: number[] }): boolean {
  return a !== null && a.mean.length === b.mean.length && a.mean.every((v, i) => Math.abs(v - b.mean[i]) < 1e-3 && Math.abs(a.std[i] - b.std[i]) < 1e-3);
}

/** Loads pretrained weights named after the full network into its body; `headKeys` (the cut-off classifier's) are ignored. */
function loadPretrained(body: Module, headKeys: Set<string>, pretrained: Map<string, Tensor> | string): void {
  let weights: Map<string, Tensor>;
  let owned: Map<string, Tensor> | null = null;
  if (typeof pretrained === 'string') {
    if (!pretrained.endsWith('.safetensors')) {
      throw new Error(`vision-learner.ts: pretrained '${pretrained}': only .safetensors files are read here; read other formats (e.g. .pth) with io's loaders and pass the Map`);
    }
    owned = weights = loadSafetensors(pretrained).tensors;
  } else {
    weights = pretrained;
  }
  try {
    body.loadStateDict(new Map([...weights].filter(([k]) => !headKeys.has(k))));
  } catch (error) {
    const label = typeof pretrained === 'string' ? `'${pretrained}'` : 'the pretrained weights';
    throw new Error(`vision-learner.ts: cannot load ${label} into the body: ${(error as Error).message}`, { cause: error });
  } finally {
    if (owned) for (const t of owned.values()) t.dispose();
  }
}

/** Builds a TransferModel by name, as a bundle's 'transfer' architecture describes it (untrained head, fresh body). */
export function buildTransferModel(spec: TransferArchitecture): TransferModel {
  const { body } = cutNamed(archMeta(spec.base), spec.cut);
  return transferModel(body, spec.numClasses, spec.head ?? {});
}

/** A TransferModel of a body and a new head (fastai's create_vision_model): nOut outputs. */
export function transferModel(body: Module, nOut: number, head: HeadOptions | Sequential = {}): TransferModel {
  if (head instanceof Sequential) return new TransferModel(body, head);
  const inputShape = body instanceof GraphModel && body.inputs[0].shape.slice(1).every((d) => d !== null)
    ? (body.inputs[0].shape.slice(1) as number[]) : [bodyInputChannels(body), 64, 64];
  const out = bodyOutputShape(body, inputShape);
  if (out.length !== 3) throw new Error(`vision-learner.ts: the body must output feature maps [N, C, H, W], got [N, ${out.join(', ')}]`);
  return new TransferModel(body, createHead(out[0], nOut, head));
}

/**
 * fastai's vision_learner: `arch` ('resnet18' | 'resnet34' | 'resnet50' | 'mobilenet_v2', or a
 * built model, e.g. a GraphModel imported from Keras) is cut before its pooling and classifier,
 * `pretrained` weights go into the body, a new head (createHead) gives nOut outputs, parameters
 * are split into the architecture's groups (body in two, head) and all groups but the head are
 * frozen (batch norm stays trainable). Default optimizer: fastai's Adam (AdamW, betas 0.9/0.99,
 * eps 1e-5, weight decay 0.01). The model's state-dict names are `body.<original names>` and
 * `head.<i>.<param>`.
 */
export function visionLearner(data: DataPair, arch: string | Module, options: VisionLearnerOptions = {}): VisionLearner {
  if (typeof arch !== 'string' && !(arch instanceof Module)) throw new Error(`vision-learner.ts: arch must be an architecture name or a Module, got ${String(arch)}`);
  const nOut = options.nOut ?? data.train.dataset?.classes.length;
  if (nOut === undefined || !Number.isInteger(nOut) || nOut < 1) throw new Error(`vision-learner.ts: nOut must be a positive integer (the data has no class list to take it from), got ${String(nOut)}`);
  const meta = typeof arch === 'string' ? archMeta(arch) : metaOf(arch);
  const { body, split, headKeys } = typeof arch === 'string' ? cutNamed(meta!, options.cut) : cutBody(arch, meta, options.cut);
  if (options.pretrained !== undefined) loadPretrained(body, headKeys, options.pretrained);
  if (options.bnMomentum !== undefined) {
    for (const [, module] of body.namedModules()) if (isBatchNorm(module)) (module as unknown as { momentum: number }).momentum = options.bnMomentum;
  }
  const model = transferModel(body, nOut, options.head);
  const learn = new VisionLearner(model, data, meta, {
    optimizer: (params, lr) => new AdamW(params, { lr, betas: [0.9, 0.99], eps: 1e-5, weightDecay: 0.01 }),
    splitter: options.splitter ?? split,
    ...options,
  });
  // NOTE: a built ResNet/MobileNetV2 rebuilds by name too when it is the stock 3-channel network.
  const rebuildable = (typeof arch === 'string' || (meta !== undefined && bodyInputChannels(body) === 3)) && !(arch instanceof GraphModel);
  if (rebuildable && typeof options.cut !== 'function' && !(options.head instanceof Sequential)) {
    learn.architecture = { base: meta!.name, numClasses: nOut, ...(options.head ? { head: options.head } : {}), ...(options.cut !== undefined ? { cut: options.cut as number } : {}) };
  }
  const stats = (data.train as { normalization?: { mean: number[]; std: number[] } | null }).normalization;
  const warn = options.log ?? (options.progress === false ? null : console.warn);
  if (meta && options.pretrained !== undefined && stats !== undefined && !sameStats(stats, meta.normalize) && warn) {
    // NOTE: fastai adds the pretrained statistics to the data itself; Kestrel's loaders are built before, so it says so.
    warn(`visionLearner: the training data are normalised with ${stats ? `mean [${stats.mean.map((v) => v.toFixed(3)).join(', ')}]` : 'no statistics'}, `
      + `but ${meta.name}'s pretrained weights expect ImageNet's (mean [${meta.normalize.mean.join(', ')}], std [${meta.normalize.std.join(', ')}]): build the loaders with normalize: 'imagenet'`);
  }
  if (options.freeze ?? (options.pretrained !== undefined || typeof arch !== 'string')) learn.freeze();
  if (options.precompute) learn.setPrecompute(true);
  return learn;
}
