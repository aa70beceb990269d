/** Named model architectures that saved bundles can be rebuilt from. */
import type { Module } from '../nn/index.js';
import { type InputShape, mlp, mnistCnn } from '../vision/simple.js';
import { type ResNet, resnet18, resnet34, resnet50 } from '../vision/resnet.js';
import { mobilenetV2 } from '../vision/mobilenet.js';
import { type TransferArchitecture, buildTransferModel, transferModel } from '../vision/vision-learner.js';
import { SmallResNet } from '../vision/small-resnet.js';
import { KERAS_ARCHITECTURE, kerasArchitecture } from './tfjs/architecture.js';

/** Builds a fresh model from the options stored in a bundle's model.json. */
export type ArchitectureFactory = (options: Record<string, unknown>) => Module;

/** Architecture names to factories (add an entry to support a new architecture). */
export type ArchitectureRegistry = Readonly<Record<string, ArchitectureFactory>>;

function positiveInteger(options: Record<string, unknown>, key: string, fallback?: number, label = key): number {
  const value = options[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`option '${label}' must be a positive integer, got ${String(JSON.stringify(value))}`);
  }
  return value;
}

/** Reads the optional `input` option ({channels, height, width}; default 1x28x28). */
export function inputOption(options: Record<string, unknown>): InputShape {
  const raw = options.input ?? { channels: 1, height: 28, width: 28 };
  if (typeof raw !== 'object' || raw === null) throw new Error(`option 'input' must be {channels, height, width}, got ${JSON.stringify(raw)}`);
  const input = raw as Record<string, unknown>;
  return {
    channels: positiveInteger(input, 'channels', undefined, 'input.channels'),
    height: positiveInteger(input, 'height', undefined, 'input.height'),
    width: positiveInteger(input, 'width', undefined, 'input.width'),
  };
}

function hiddenOption(options: Record<string, unknown>): number[] | undefined {
  const hidden = options.hidden;
  if (hidden === undefined) return undefined;
  if (!Array.isArray(hidden) || !hidden.every((h) => Number.isSafeInteger(h) && h > 0)) {
    throw new Error(`option 'hidden' must be an array of positive integers, got ${JSON.stringify(hidden)}`);
  }
  return hidden as number[];
}

/**
 * The architectures Kestrel ships. Options: `numClasses` (default 10), `input`
 * ({channels, height, width}, default 1x28x28), for `mlp` also `hidden` (layer sizes), and for
 * `small-resnet` also `widths` (three stage widths, default [32, 64, 128]).
 * `keras` (imported TF.js / Keras models) takes `{topology, inputShape, logits}` instead.
 */
export const defaultArchitectures: ArchitectureRegistry = Object.freeze({
  'mnist-cnn': (options: Record<string, unknown>) => mnistCnn(positiveInteger(options, 'numClasses', 10), inputOption(options)),
  mlp: (options: Record<string, unknown>) => mlp(positiveInteger(options, 'numClasses', 10), inputOption(options), hiddenOption(options)),
  resnet18: (options: Record<string, unknown>) => resnetFrom(resnet18, options),
  resnet34: (options: Record<string, unknown>) => resnetFrom(resnet34, options),
  resnet50: (options: Record<string, unknown>) => resnetFrom(resnet50, options),
  mobilenet_v2: (options: Record<string, unknown>) => mobilenetV2(positiveInteger(options, 'numClasses', 1000), { inChannels: inputOption(options).channels }),
  transfer: (options: Record<string, unknown>) => transferFrom(options),
  'small-resnet': (options: Record<string, unknown>) => new SmallResNet(positiveInteger(options, 'numClasses', 10), {
    inChannels: inputOption(options).channels, widths: widthsOption(options),
  }),
  [KERAS_ARCHITECTURE]: kerasArchitecture,
});

/**
 * A visionLearner's model (architecture name 'transfer'): options `base` (e.g. 'resnet34'),
 * `numClasses`, and optionally `head` (HeadOptions) and `cut`, as VisionLearner.architecture holds them;
 * or base 'keras' with `baseOptions` (a keras architecture's options, cut by its `outputs`).
 */
function transferFrom(options: Record<string, unknown>): Module {
  if (options.base === KERAS_ARCHITECTURE) {
    // NOTE: a Keras graph body is rebuilt from its topology, cut where the bundle says (its `outputs`).
    const baseOptions = options.baseOptions;
    if (typeof baseOptions !== 'object' || baseOptions === null || Array.isArray(baseOptions)) {
      throw new Error(`option 'baseOptions' must hold the Keras base's options, got ${JSON.stringify(baseOptions)}`);
    }
    return transferModel(kerasArchitecture(baseOptions as Record<string, unknown>), positiveInteger(options, 'numClasses'), options.head as TransferArchitecture['head'] ?? {});
  }
  if (typeof options.base !== 'string') throw new Error(`option 'base' must name the pretrained architecture (e.g. "resnet34"), got ${JSON.stringify(options.base)}`);
  if (options.head !== undefined && (typeof options.head !== 'object' || options.head === null || Array.isArray(options.head))) {
    throw new Error(`option 'head' must be an object of head options, got ${JSON.stringify(options.head)}`);
  }
  if (options.cut !== undefined && !Number.isInteger(options.cut)) throw new Error(`option 'cut' must be an integer, got ${JSON.stringify(options.cut)}`);
  const spec: TransferArchitecture = { base: options.base, numClasses: positiveInteger(options, 'numClasses'), head: options.head as TransferArchitecture['head'], cut: options.cut as number | undefined };
  return buildTransferModel(spec);
}

function widthsOption(options: Record<string, unknown>): [number, number, number] | undefined {
  const widths = options.widths;
  if (widths === undefined) return undefined;
  if (!Array.isArray(widths) || widths.length !== 3 || !widths.every((w) => Number.isSafeInteger(w) && w > 0)) {
    throw new Error(`option 'widths' must be three positive integers, got ${JSON.stringify(widths)}`);
  }
  return widths as [number, number, number];
}

function resnetFrom(build: (numClasses: number, options: { inChannels?: number }) => ResNet, options: Record<string, unknown>): ResNet {
  return build(positiveInteger(options, 'numClasses', 1000), { inChannels: inputOption(options).channels });
}
