/**
 * Architecture metadata for transfer learning (fastai's model_meta): where to cut the pretrained
 * body from its head, how to split parameters into groups, the input size and normalisation the
 * weights were trained with, and torchvision's weight files.
 */
import { GraphModel, type Module, NamedSequential, type Parameter, Sequential, subgraph } from '../nn/index.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/index.js';
import { Bottleneck, ResNet, resnet18, resnet34, resnet50 } from './resnet.js';
import { MobileNetV2, mobilenetV2 } from './mobilenet.js';
import type { TransferModel } from './transfer-model.js';

/** A pretrained weight file: where to download it and the start of its SHA-256 (in its name). */
export interface WeightsFile {
  /** Download URL. */
  url: string;
  /** File name (torchvision's `<arch>-<sha256 prefix>.pth`). */
  file: string;
  /** First 8 hex digits of the file's SHA-256. */
  sha256Prefix: string;
}

/** What transfer learning needs to know about an architecture. */
export interface ArchMeta {
  /** Registry name (`resnet34`). */
  name: string;
  /** Builds the full network (with its classifier), initialised as torchvision does. */
  build(numClasses?: number): Module;
  /** The body is the model's first `cut` children (negative: all but the last -cut), as fastai's cut. */
  cut: number;
  /** Parameter groups of a TransferModel with this body, earliest layers first, the head last. */
  split(model: TransferModel): Parameter[][];
  /** Side of the square images the weights were trained on. */
  inputSize: number;
  /** Per-channel normalisation of the pretrained weights' inputs (0-1 scale). */
  normalize: { mean: number[]; std: number[] };
  /** torchvision's ImageNet weights. */
  weights: WeightsFile;
}

const params = (modules: Module[]): Parameter[] => modules.flatMap((m) => m.parameters());

/** The body's children (a NamedSequential made by cutModel), in order. */
function bodyChildren(model: TransferModel): Module[] {
  const body = model.body;
  if (!(body instanceof NamedSequential)) throw new Error(`meta.ts: expected a body cut by cutModel (a NamedSequential), got ${body.constructor.name}`);
  return body.entries.map(([, m]) => m);
}

/** fastai's _resnet_split: body[:6] (stem, layer1, layer2), body[6:] (layer3, layer4), head. */
export function resnetSplit(model: TransferModel): Parameter[][] {
  const children = bodyChildren(model);
  return [params(children.slice(0, 6)), params(children.slice(6)), model.head.parameters()];
}

/**
 * MobileNetV2: features[:7] (stem and the blocks down to stride 8: 16, 24 and 32 channels),
 * features[7:] (stride 16 and 32 blocks and the 1x1 conv to 1280), head. The cut sits where
 * fastai's ResNet split does (after the last stride-8 stage, before the stride-16 ones), so
 * generic low-level filters get the smallest learning rate and the deeper, more ImageNet-specific
 * stages a middle one; it also puts ~2% of the body's parameters in the first group, as in ResNets.
 */
export function mobilenetV2Split(model: TransferModel): Parameter[][] {
  const features = bodyChildren(model)[0];
  if (!(features instanceof Sequential)) throw new Error('meta.ts: a MobileNetV2 body holds `features` (a Sequential)');
  return [params(features.layers.slice(0, 7)), params(features.layers.slice(7)), model.head.parameters()];
}

/** fastai's default_split: body, head. */
export function defaultSplit(model: TransferModel): Parameter[][] {
  return [model.body.parameters(), model.head.parameters()];
}

/**
 * For a GraphModel body: its layers with parameters in execution order, cut in two halves
 * (by layer count), then the head: three groups, as for ResNets.
 */
export function graphSplit(model: TransferModel): Parameter[][] {
  const body = model.body;
  if (!(body instanceof GraphModel)) throw new Error(`meta.ts: graphSplit needs a GraphModel body, got ${body.constructor.name}`);
  const layers = body.layers.filter((layer) => layer.parameters().length > 0);
  if (layers.length < 2) return defaultSplit(model);
  const half = Math.ceil(layers.length / 2);
  return [params(layers.slice(0, half)), params(layers.slice(half)), model.head.parameters()];
}

const IMAGENET = { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] };

function torchvisionWeights(file: string): WeightsFile {
  const match = /-([0-9a-f]{8})\.pth$/.exec(file)!;
  return { url: `https://download.pytorch.org/models/${file}`, file, sha256Prefix: match[1] };
}

const resnetMeta = (name: string, build: (n?: number) => Module, file: string): ArchMeta => ({
  name, build, cut: -2, split: resnetSplit, inputSize: 224, normalize: IMAGENET, weights: torchvisionWeights(file),
});

/** Metadata of the architectures Kestrel ships with torchvision weights. */
export const modelMeta: Readonly<Record<string, ArchMeta>> = Object.freeze({
  resnet18: resnetMeta('resnet18', resnet18, 'resnet18-f37072fd.pth'),
  resnet34: resnetMeta('resnet34', resnet34, 'resnet34-b627a593.pth'),
  resnet50: resnetMeta('resnet50', resnet50, 'resnet50-0676ba61.pth'),
  mobilenet_v2: {
    name: 'mobilenet_v2', build: mobilenetV2, cut: -1, split: mobilenetV2Split, inputSize: 224, normalize: IMAGENET,
    weights: torchvisionWeights('mobilenet_v2-b0353104.pth'),
  },
});

/** The metadata of an architecture by name; an unknown name is an error listing the known ones. */
export function archMeta(name: string): ArchMeta {
  const meta = Object.hasOwn(modelMeta, name) ? modelMeta[name] : undefined;
  if (!meta) throw new Error(`meta.ts: unknown architecture '${name}' (known: ${Object.keys(modelMeta).join(', ')})`);
  return meta;
}

/** The metadata matching a built model (ResNet-18/34/50 told apart by their blocks), if any. */
export function metaOf(model: Module): ArchMeta | undefined {
  if (model instanceof ResNet) {
    if (model.layer1[0] instanceof Bottleneck) return modelMeta.resnet50;
    return model.layer3.length === 2 ? modelMeta.resnet18 : modelMeta.resnet34;
  }
  if (model instanceof MobileNetV2) return modelMeta.mobilenet_v2;
  return undefined;
}

/** Names of a model's direct children split at `cut` (fastai's children[:cut]): [body names, head names]. */
export function cutNames(model: Module, cut: number): [string[], string[]] {
  const names = model.namedChildren().map(([name]) => name);
  if (!Number.isInteger(cut) || cut === 0 || Math.abs(cut) >= names.length + (cut > 0 ? 1 : 0)) {
    throw new Error(`meta.ts: cut must be a non-zero integer that keeps some of ${model.constructor.name}'s ${names.length} children (${names.join(', ')}), got ${cut}`);
  }
  return [names.slice(0, cut), names.slice(cut)];
}

/** The body of `model`: its first `cut` children (negative: all but the last -cut) under their own names. */
export function cutModel(model: Module, cut: number): NamedSequential {
  const [keep] = cutNames(model, cut);
  const children = new Map(model.namedChildren());
  return new NamedSequential(keep.map((name) => [name, children.get(name)!]));
}

/**
 * The body of a graph model: the subgraph up to `layer` (default: the last layer whose output is
 * 4-D and still spatial, i.e. not pooled to 1x1, so before pooling and the classifier), sharing
 * the same layers. For Keras's MobileNetV2 that is `out_relu`, before its AveragePooling2D(7x7).
 */
export function cutGraph(model: GraphModel, layer?: string): GraphModel {
  return subgraph(model, { outputs: layer ?? graphCutLayer(model), name: `${model.name ?? 'graph'}_body` });
}

/** Where cutGraph cuts by default: the last layer with a spatial (4-D, larger than 1x1) output. */
export function graphCutLayer(model: GraphModel): string {
  const spatial = model.steps.filter((step) => {
    const shape = step.outputShapes[0];
    return shape?.length === 4 && !(shape[2] === 1 && shape[3] === 1);
  });
  if (spatial.length === 0) throw new Error('meta.ts: the graph model has no layer with a 4-D (spatial) output to cut at; pass cut: <layer name>');
  return spatial[spatial.length - 1].name;
}
