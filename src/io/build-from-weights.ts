/** Building the Kestrel model a state dict describes (detected or named) and loading it strictly. */
import type { Module } from '../nn/index.js';
import { type ArchitectureRegistry, defaultArchitectures } from './architectures.js';
import { type DetectedArchitecture, detectArchitecture } from './detect-architecture.js';
import { loadWeightsFrom } from './load-weights.js';
import type { WeightSource } from './weight-source.js';

/** Options of {@link buildFromWeights}. */
export interface BuildFromWeightsOptions {
  /** Registry name of the architecture (default: the one detected from names and shapes). */
  arch?: string;
  /** Image size the model is described with (default 224). */
  size?: number;
  /** Class count to use when the source's head cannot be recognised. */
  numClasses?: number;
  /** Architectures to build from (default Kestrel's). */
  registry?: ArchitectureRegistry;
}

/** A model built and loaded from a weight source. */
export interface BuiltModel {
  /** The model, weights loaded, in eval mode (dispose it when done). */
  model: Module;
  /** Registry name and factory options (what a bundle's model.json stores). */
  architecture: { name: string; options: Record<string, unknown> };
  /** What the names and shapes looked like (undefined when unrecognised). */
  detected: DetectedArchitecture | undefined;
  /** Classes of the head. */
  numClasses: number;
  /** Input channels. */
  inChannels: number;
}

/**
 * Builds the architecture `options.arch` (default: detected from the source) with the source's
 * class count and loads the weights strictly: a wrong architecture is one error listing the names
 * that differ and what the file looks like.
 */
export function buildFromWeights(source: WeightSource, options: BuildFromWeightsOptions = {}): BuiltModel {
  const registry = options.registry ?? defaultArchitectures;
  const known = Object.keys(registry).join(', ');
  const detected = detectArchitecture(source);
  const name = options.arch ?? detected?.name;
  if (name === undefined) {
    throw new Error(`cannot tell the architecture of ${source.label} from its ${source.keys().length} tensor names (first: ${source.keys().slice(0, 3).join(', ')}); give its architecture (known: ${known})`);
  }
  if (!Object.hasOwn(registry, name)) {
    const what = options.arch === undefined ? `${source.label} looks like ${detected!.description}, which this Kestrel cannot build` : `unknown architecture '${name}'`;
    throw new Error(`${what} (known architectures: ${known})`);
  }
  const numClasses = detected?.numClasses ?? options.numClasses;
  if (numClasses === undefined) throw new Error(`cannot tell the class count of ${source.label} (no recognised classifier head); give the class names`);
  const inChannels = detected?.inChannels ?? 3;
  const size = options.size ?? 224;
  const architecture = { name, options: { numClasses, input: { channels: inChannels, height: size, width: size } } };
  const model = registry[name](architecture.options);
  try {
    loadWeightsFrom(model, source, { strict: true, architecture: name });
  } catch (error) {
    model.dispose();
    throw error;
  }
  model.eval();
  return { model, architecture, detected, numClasses, inChannels };
}
