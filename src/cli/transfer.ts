/** Transfer learning in `kestrel train`: --pretrained weights (a .pth/.safetensors file or URL, a TF.js model.json, a bundle), --fine-tune, --precompute. */
import { existsSync, statSync } from 'node:fs';
import type { Module } from '../nn/index.js';
import { GraphModel } from '../nn/index.js';
import type { Tensor } from '../tensor/index.js';
import { type DataPair, type EpochRecord, type LearnerOptions, fitOneCycle } from '../learn/index.js';
import { type VisionLearner, archMeta, graphCutLayer, modelMeta, visionLearner } from '../vision/index.js';
import { progressPrinter } from '../data/index.js';
import { KERAS_ARCHITECTURE, kerasArchitecture, kerasArchitectureOf, loadModel, loadTfjsModel, openWeights, resolveWeights } from '../io/index.js';
import { type OptionSpec, type ParsedOptions, UsageError } from './args.js';

/** The flags of transfer learning (added to `kestrel train`). */
export const TRANSFER_OPTIONS: Record<string, OptionSpec> = {
  pretrained: {
    type: 'string',
    description: 'start from pretrained weights: a .pth/.safetensors file or URL for --model (resnet18/34/50, mobilenet_v2), a TF.js model.json, or a model bundle DIR (kestrel import); the body is cut, a new head added, the body frozen',
  },
  'fine-tune': { type: 'integer', description: "with --pretrained: fastai's fine_tune, --freeze-epochs with the body frozen, then EPOCHS with everything trainable at discriminative lrs (--lr: base lr, default 2e-3)", min: 1 },
  'freeze-epochs': { type: 'integer', description: 'with --fine-tune: epochs with the body frozen first (default 1)', min: 0 },
  precompute: { type: 'boolean', description: 'with --pretrained: run the frozen body once over the images and train the head on the cached features' },
  cut: { type: 'string', description: "with --pretrained model.json or a Keras bundle: the layer the body ends at (default: the last spatial layer, e.g. MobileNetV2's out_relu)" },
};

/** The transfer flags other than --pretrained that need it. */
const NEEDS_PRETRAINED = ['fine-tune', 'freeze-epochs', 'precompute', 'cut'] as const;

/** Pretrained weights opened for a run: what to build from, and what the data must look like. */
export interface PretrainedSource {
  /** What it is, for the log. */
  description: string;
  /** Image side the network was trained at (the default --size). */
  size: number;
  /** Normalisation the weights expect (0..1 pixels when mean 0, std 1). */
  normalize: { mean: number[]; std: number[] };
  /** Builds the learner on `data` (the body cut, a new head, frozen). */
  learner(data: DataPair, options: LearnerOptions & { precompute: boolean; nOut: number }): VisionLearner;
  /** The bundle architecture that rebuilds the learner's model (`numClasses` outputs). */
  architecture(learn: VisionLearner, numClasses: number): { name: string; options: Record<string, unknown> };
}

/** Checks the transfer flags before anything is read. */
export function checkTransferFlags(options: ParsedOptions, given: ReadonlySet<string>): void {
  if (options.pretrained === undefined) {
    const stray = NEEDS_PRETRAINED.find((name) => given.has(name));
    if (stray) throw new UsageError(`--${stray} only applies with --pretrained`);
    return;
  }
  if (options['freeze-epochs'] !== undefined && options['fine-tune'] === undefined) throw new UsageError('--freeze-epochs only applies with --fine-tune');
  if (given.has('schedule') && options['fine-tune'] !== undefined) throw new UsageError('--fine-tune runs its own one-cycle schedules; leave --schedule out');
  if (given.has('epochs') && options['fine-tune'] !== undefined) throw new UsageError('--fine-tune EPOCHS sets the epochs; leave --epochs out');
}

const unit = (channels = 3) => ({ mean: Array<number>(channels).fill(0), std: Array<number>(channels).fill(1) });

/** Opens --pretrained: a bundle folder, a TF.js model.json, or a weights file/URL for the --model architecture. */
export async function openPretrained(pathOrUrl: string, model: string, modelGiven: boolean, size?: number, cut?: string): Promise<PretrainedSource> {
  const isUrl = /^https?:\/\//i.test(pathOrUrl);
  if (!isUrl && existsSync(pathOrUrl) && statSync(pathOrUrl).isDirectory()) return fromBundle(pathOrUrl, size, cut);
  if (!isUrl && pathOrUrl.endsWith('.json')) return fromTfjs(pathOrUrl, size, cut);
  if (cut !== undefined) throw new UsageError(`--cut names a layer of a Keras graph (a model.json or a Keras bundle); ${pathOrUrl} holds ${model}'s weights, cut where its metadata says`);
  if (!modelGiven || !(model in modelMeta)) {
    throw new UsageError(`--pretrained ${pathOrUrl}: say which network the weights are for with --model (${Object.keys(modelMeta).join(', ')})`);
  }
  const meta = archMeta(model);
  const path = await resolveWeights(pathOrUrl, { onProgress: progressPrinter(`downloading ${pathOrUrl}`) });
  const weights = await readAll(path);
  return {
    description: `${model} weights from ${pathOrUrl}`,
    size: 224,
    normalize: meta.normalize,
    learner(data, options) {
      try {
        return visionLearner(data, model, { ...options, pretrained: weights });
      } catch (error) {
        throw new Error(`--pretrained ${pathOrUrl}: ${(error as Error).message}`, { cause: error });
      } finally {
        for (const t of weights.values()) t.dispose();
      }
    },
    architecture: (learn) => transferEntry(learn),
  };
}

/** Every tensor of a weights file, by its own names. */
async function readAll(path: string): Promise<Map<string, Tensor>> {
  const source = await openWeights(path);
  try {
    return new Map(source.keys().map((key) => [key, source.get(key)]));
  } finally {
    source.close();
  }
}

function transferEntry(learn: VisionLearner): { name: string; options: Record<string, unknown> } {
  if (!learn.architecture) throw new Error('transfer.ts: this model cannot be rebuilt by name');
  return { name: 'transfer', options: { ...learn.architecture } };
}

/** A TF.js layers model (e.g. a Keras MobileNetV2 converted with tensorflowjs): pixels in 0..1 unless imported with other statistics. */
function fromTfjs(path: string, size: number | undefined, given: string | undefined): PretrainedSource {
  let loaded = loadTfjsModel(path);
  const [channels, height] = loaded.inputShape;
  if (channels !== 3) throw new UsageError(`--pretrained ${path}: the model takes ${channels}-channel input; transfer learning here needs 3 (RGB)`);
  console.log(`kestrel: ${path} is a TF.js model; its input is taken as pixels in 0..1 (nsfwjs's). For other statistics, import it first: kestrel import ${path} --normalize inception --out DIR, then --pretrained DIR`);
  const cut = given ?? graphCutLayer(loaded.model);
  if (given !== undefined) checkLayer(loaded.model, given, path);
  // NOTE: the body alone is convolutional, so it takes other image sizes: built again without the head, at --size.
  if (size !== undefined && size !== height) {
    loaded.model.dispose();
    loaded = loadTfjsModel(path, { inputShape: [channels, size, size], outputs: [cut] });
  }
  return kerasSource(`TF.js model ${path}`, loaded.model, kerasArchitectureOf(loaded).options, cut, size ?? height, unit());
}

/** A model bundle written by `kestrel import` or `kestrel train`. */
function fromBundle(dir: string, size: number | undefined, given: string | undefined): PretrainedSource {
  const loaded = loadModel(dir);
  const { manifest } = loaded;
  const [channels, height] = manifest.inputShape;
  if (channels !== 3) throw new UsageError(`--pretrained ${dir}: the bundle's model takes ${channels}-channel input; transfer learning here needs 3 (RGB)`);
  const normalize = manifest.normalize ?? unit(channels);
  const name = manifest.architecture.name;
  if (name === KERAS_ARCHITECTURE) {
    let graph = loaded.model as GraphModel;
    if (given !== undefined) checkLayer(graph, given, dir);
    const cut = given ?? graphCutLayer(graph);
    let options = manifest.architecture.options;
    if (size !== undefined && size !== height) {
      // NOTE: as for TF.js files: the body alone, rebuilt at --size from the topology, takes the bundle's weights.
      options = { ...options, inputShape: [channels, size, size], outputs: [cut] };
      const body = kerasArchitecture(options) as GraphModel;
      const keys = new Set(body.stateDict().keys());
      body.loadStateDict(new Map([...graph.stateDict()].filter(([key]) => keys.has(key))));
      graph.dispose();
      graph = body;
    }
    return kerasSource(`model bundle ${dir} (Keras graph)`, graph, options, cut, size ?? height, normalize);
  }
  if (given !== undefined) throw new UsageError(`--cut names a layer of a Keras graph; the bundle ${dir} holds a ${name}, cut where its metadata says`);
  if (!(name in modelMeta)) throw new UsageError(`--pretrained ${dir}: its architecture '${name}' has no transfer metadata (known: ${Object.keys(modelMeta).join(', ')}, ${KERAS_ARCHITECTURE})`);
  return {
    description: `model bundle ${dir} (${name})`,
    size: height,
    normalize,
    learner: (data, options) => visionLearner(data, loaded.model, options),
    architecture: (learn) => transferEntry(learn),
  };
}

/** A Keras graph as the body: cut at its last spatial layer; the bundle rebuilds it from the topology, cut there. */
function kerasSource(description: string, graph: GraphModel, kerasOptions: Record<string, unknown>, cut: string, size: number, normalize: { mean: number[]; std: number[] }): PretrainedSource {
  return {
    description: `${description}, cut at '${cut}'`,
    size,
    normalize,
    // NOTE: Keras's batch-norm momentum (0.99, i.e. 0.01 here) leaves the running statistics far behind the batches
    // when batch norm trains, as fastai's recipe has it; 0.1 is torchvision's and fastai's (see bench/transfer.ts).
    learner: (data, options) => visionLearner(data, graph as Module, { ...options, cut, bnMomentum: 0.1 }),
    architecture: (_learn, numClasses) => ({
      name: 'transfer',
      options: { base: KERAS_ARCHITECTURE, baseOptions: { ...kerasOptions, outputs: [cut] }, numClasses },
    }),
  };
}

/** Trains a transfer learner as the flags say: fineTune, or the head alone (one-cycle) for --epochs. */
export async function runTransfer(learn: VisionLearner, options: ParsedOptions, given: ReadonlySet<string>, resume?: { stage: string | null; epoch: number }): Promise<EpochRecord[]> {
  const fineTuneEpochs = options['fine-tune'] as number | undefined;
  const lr = given.has('lr') ? options.lr as number : undefined;
  if (fineTuneEpochs !== undefined) {
    return learn.fineTune(fineTuneEpochs, lr ?? 2e-3, {
      freezeEpochs: options['freeze-epochs'] as number | undefined ?? 1,
      ...(resume ? { resume } : {}),
    });
  }
  return fitOneCycle(learn, options.epochs as number, lr ?? 2e-3, { startEpoch: resume?.epoch ?? 0 });
}

/** A --cut that the graph has, or a usage error listing a few of its layers. */
function checkLayer(graph: GraphModel, layer: string, source: string): void {
  if (graph.steps.some((step) => step.name === layer)) return;
  const names = graph.steps.filter((step) => step.outputShapes[0]?.length === 4).map((step) => step.name);
  throw new UsageError(`--cut ${layer}: ${source} has no layer of that name (layers with feature maps include ${names.slice(-6).join(', ')})`);
}
