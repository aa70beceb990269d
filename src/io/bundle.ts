/** Saved models as self-describing directories: model.safetensors (weights) + model.json (how to rebuild). */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Module } from '../nn/index.js';
import { loadSafetensors, saveSafetensors, writeTextFileAtomic } from '../tensor/index.js';
import type { Preprocessing } from '../data/index.js';
import { type ArchitectureRegistry, defaultArchitectures } from './architectures.js';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, type ModelInfo, type ModelManifest, validateManifest, validateModelInfo } from './manifest.js';
import { ImageClassifier } from './predict.js';

/** File name of a bundle's weights. */
export const MODEL_WEIGHTS_FILE = 'model.safetensors';
/** File name of a bundle's description. */
export const MODEL_MANIFEST_FILE = 'model.json';

let version: string | undefined;

/** The version in Kestrel's package.json ('unknown' if it cannot be found). */
export function kestrelVersion(): string {
  if (version !== undefined) return version;
  version = 'unknown';
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'kestrel' && typeof pkg.version === 'string') { version = pkg.version; break; }
      } catch { /* keep looking */ }
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return version;
}

/**
 * Saves `model` into directory `dir` (created if needed): weights first, then model.json, each
 * written atomically. Returns the manifest written.
 */
export function saveModel(dir: string, model: Module, info: ModelInfo): ModelManifest {
  validateModelInfo(info, `cannot save model bundle '${dir}'`);
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    architecture: { name: info.architecture.name, options: info.architecture.options },
    classes: [...info.classes],
    inputShape: [...info.inputShape],
    normalize: info.normalize ? { mean: [...info.normalize.mean], std: [...info.normalize.std] } : null,
    createdAt: new Date().toISOString(),
    kestrelVersion: kestrelVersion(),
    ...(info.metrics !== undefined ? { metrics: info.metrics } : {}),
    ...(info.preprocess !== undefined ? { preprocess: { ...info.preprocess } } : {}),
  };
  mkdirSync(dir, { recursive: true });
  // NOTE: model.json goes last, so a crash between the two writes leaves no manifest pointing
  // at weights that were never written.
  saveSafetensors(join(dir, MODEL_WEIGHTS_FILE), model.stateDict(), { format: 'pt', architecture: info.architecture.name });
  writeTextFileAtomic(join(dir, MODEL_MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/** Reads and validates a bundle's model.json without loading weights. */
export function readModelManifest(dir: string): ModelManifest {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`model bundle '${dir}' is not a directory`);
  const path = join(dir, MODEL_MANIFEST_FILE);
  if (!existsSync(path)) throw new Error(`model bundle '${dir}' has no ${MODEL_MANIFEST_FILE}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`'${path}' is not valid JSON (${(error as Error).message})`);
  }
  return validateManifest(raw, `'${path}'`);
}

/** How a bundle's model wants its images: its input size, resize mode, channels and normalisation. */
export function bundlePreprocessing(manifest: ModelManifest): Preprocessing {
  const [channels, height, width] = manifest.inputShape;
  const resize = manifest.preprocess?.resize ?? 'crop';
  return {
    transforms: { size: [height, width], resize, ...(resize === 'crop' ? { cropFraction: manifest.preprocess?.cropFraction ?? 1 } : {}) },
    decode: { channels: channels === 1 ? 1 : 3 },
    normalize: manifest.normalize ?? 'none',
  };
}

/** A model loaded from a bundle: `model` and `manifest`, and predict() on images with the bundle's preprocessing. */
export class LoadedModel extends ImageClassifier {
  /** Wraps a model built from `manifest` (and read from `dir`). */
  constructor(model: Module, readonly manifest: ModelManifest, readonly dir: string) {
    super(model, manifest.classes, bundlePreprocessing(manifest));
  }
}

/**
 * Rebuilds a saved model: the architecture from `registry` (default: Kestrel's), then the
 * weights, strictly checked. The model is in eval mode and ready to predict(); dispose it when done.
 */
export function loadModel(dir: string, registry: ArchitectureRegistry = defaultArchitectures): LoadedModel {
  const manifest = readModelManifest(dir);
  const manifestPath = join(dir, MODEL_MANIFEST_FILE);
  const { name, options } = manifest.architecture;
  const factory = Object.hasOwn(registry, name) ? registry[name] : undefined;
  if (factory === undefined) {
    throw new Error(`'${manifestPath}': unknown architecture '${name}' (known: ${Object.keys(registry).join(', ') || 'none'})`);
  }
  const weightsPath = join(dir, MODEL_WEIGHTS_FILE);
  if (!existsSync(weightsPath)) throw new Error(`model bundle '${dir}' has no ${MODEL_WEIGHTS_FILE}`);
  let model: Module;
  try {
    model = factory(options);
  } catch (error) {
    throw new Error(`'${manifestPath}': cannot build architecture '${name}': ${(error as Error).message}`, { cause: error });
  }
  try {
    const { tensors } = loadSafetensors(weightsPath);
    try {
      model.loadStateDict(tensors);
    } catch (error) {
      throw new Error(`'${weightsPath}' does not match architecture '${name}' in ${MODEL_MANIFEST_FILE}: ${(error as Error).message}`, { cause: error });
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  } catch (error) {
    model.dispose();
    throw error;
  }
  return new LoadedModel(model, manifest, dir);
}
