/** Named model architectures that saved bundles can be rebuilt from. */
import type { Module } from '../nn/index.js';
import { type InputShape, mlp, mnistCnn } from '../vision/simple.js';
import { type ResNet, resnet18, resnet34, resnet50 } from '../vision/resnet.js';
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
 * ({channels, height, width}, default 1x28x28), and for `mlp` also `hidden` (layer sizes).
 * `keras` (imported TF.js / Keras models) takes `{topology, inputShape, logits}` instead.
 */
export const defaultArchitectures: ArchitectureRegistry = Object.freeze({
  'mnist-cnn': (options: Record<string, unknown>) => mnistCnn(positiveInteger(options, 'numClasses', 10), inputOption(options)),
  mlp: (options: Record<string, unknown>) => mlp(positiveInteger(options, 'numClasses', 10), inputOption(options), hiddenOption(options)),
  resnet18: (options: Record<string, unknown>) => resnetFrom(resnet18, options),
  resnet34: (options: Record<string, unknown>) => resnetFrom(resnet34, options),
  resnet50: (options: Record<string, unknown>) => resnetFrom(resnet50, options),
  [KERAS_ARCHITECTURE]: kerasArchitecture,
});

function resnetFrom(build: (numClasses: number, options: { inChannels?: number }) => ResNet, options: Record<string, unknown>): ResNet {
  return build(positiveInteger(options, 'numClasses', 1000), { inChannels: inputOption(options).channels });
}
