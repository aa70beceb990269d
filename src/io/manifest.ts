/** model.json of a saved model bundle: its shape and validation. */
import type { ResizeMode } from '../data/index.js';

/** How images reach the model's input size at prediction time (validation-style, deterministic). */
export interface BundlePreprocess {
  /** 'crop' (fit the aspect ratio by cropping the centre; default), 'squish' (stretch) or 'pad' (letterbox). */
  resize: ResizeMode;
  /** In 'crop' mode, the fraction of the fitted region kept (torchvision's Resize(256) + CenterCrop(224) = 0.875). Default 1. */
  cropFraction?: number;
}

/** What the caller tells saveModel about a model. */
export interface ModelInfo {
  /** Registry name and factory options that rebuild the model. */
  architecture: { name: string; options: Record<string, unknown> };
  /** Class names, in output order. */
  classes: string[];
  /** Input geometry [channels, height, width]. */
  inputShape: [number, number, number];
  /** Per-channel normalisation applied to inputs (null or absent: none). */
  normalize?: { mean: number[]; std: number[] } | null;
  /** Evaluation results to keep with the model (any JSON). */
  metrics?: Record<string, unknown>;
  /** How images are resized for predictions (absent: centre crop, cropFraction 1). */
  preprocess?: BundlePreprocess;
}

/** The parsed model.json of a bundle. */
export interface ModelManifest extends ModelInfo {
  /** Always 'kestrel-model'. */
  format: 'kestrel-model';
  /** Bundle format version (1). */
  version: 1;
  /** Normalisation (null when none). */
  normalize: { mean: number[]; std: number[] } | null;
  /** ISO-8601 time of saving. */
  createdAt: string;
  /** Kestrel version that wrote the bundle. */
  kestrelVersion: string;
}

/** Bundle format name stored in model.json. */
export const MODEL_FORMAT = 'kestrel-model';
/** Bundle format version this Kestrel writes and reads. */
export const MODEL_FORMAT_VERSION = 1;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** Checks the caller-supplied fields; throws naming `label` and the field. */
export function validateModelInfo(info: unknown, label: string): asserts info is ModelInfo {
  const fail = (message: string): never => { throw new Error(`${label}: ${message}`); };
  if (!isObject(info)) fail('model info must be an object');
  const { architecture, classes, inputShape, normalize, metrics } = info as Record<string, unknown>;
  if (!isObject(architecture) || typeof architecture.name !== 'string' || architecture.name === '' || !isObject(architecture.options)) {
    fail(`architecture must be { name: string, options: object }, got ${JSON.stringify(architecture)}`);
  }
  const options = (architecture as { options: Record<string, unknown> }).options;
  if (!Array.isArray(classes) || classes.length === 0 || !classes.every((c) => typeof c === 'string')) fail('classes must be a non-empty array of strings');
  const names = classes as string[];
  if (new Set(names).size !== names.length) fail(`classes contain duplicates: ${JSON.stringify(names)}`);
  if (typeof options.numClasses === 'number' && options.numClasses !== names.length) {
    fail(`architecture option numClasses is ${options.numClasses} but there are ${names.length} classes`);
  }
  if (!Array.isArray(inputShape) || inputShape.length !== 3 || !inputShape.every(isPositiveInteger)) {
    fail(`inputShape must be [channels, height, width] of positive integers, got ${JSON.stringify(inputShape)}`);
  }
  const [channels, height, width] = inputShape as number[];
  // NOTE: Kestrel's architectures take their geometry as option `input`; it must agree with
  // inputShape, which is what predictors resize images to.
  if (isObject(options.input) && (options.input.channels !== channels || options.input.height !== height || options.input.width !== width)) {
    fail(`architecture option input ${JSON.stringify(options.input)} disagrees with inputShape [${channels}, ${height}, ${width}]`);
  }
  if (normalize !== undefined && normalize !== null) {
    if (!isObject(normalize)) fail('normalize must be { mean, std } or null');
    const { mean, std } = normalize as Record<string, unknown>;
    const perChannel = (v: unknown): boolean => Array.isArray(v) && v.length === channels && v.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!perChannel(mean) || !perChannel(std)) fail(`normalize mean and std must each hold ${channels} finite numbers (one per channel)`);
    if ((std as number[]).some((s) => s <= 0)) fail(`normalize std must be positive, got ${JSON.stringify(std)}`);
  }
  if (metrics !== undefined && !isObject(metrics)) fail('metrics must be an object');
  const { preprocess } = info as Record<string, unknown>;
  if (preprocess !== undefined) {
    if (!isObject(preprocess) || !['crop', 'squish', 'pad'].includes(preprocess.resize as string)) fail(`preprocess.resize must be 'crop', 'squish' or 'pad', got ${JSON.stringify(isObject(preprocess) ? preprocess.resize : preprocess)}`);
    const fraction = (preprocess as Record<string, unknown>).cropFraction;
    if (fraction !== undefined && !(typeof fraction === 'number' && fraction > 0 && fraction <= 1)) fail(`preprocess.cropFraction must be in (0, 1], got ${JSON.stringify(fraction)}`);
  }
}

/** Validates parsed model.json content; throws naming `label` and the problem. */
export function validateManifest(value: unknown, label: string): ModelManifest {
  if (!isObject(value)) throw new Error(`${label}: must hold a JSON object`);
  if (value.format !== MODEL_FORMAT) throw new Error(`${label}: format is ${JSON.stringify(value.format)}, expected '${MODEL_FORMAT}' (not a Kestrel model bundle)`);
  if (value.version !== MODEL_FORMAT_VERSION) {
    throw new Error(`${label}: bundle version ${JSON.stringify(value.version)} is not supported (this Kestrel reads version ${MODEL_FORMAT_VERSION})`);
  }
  if (!('normalize' in value)) throw new Error(`${label}: normalize is missing (use null for none)`);
  validateModelInfo(value, label);
  if (typeof value.createdAt !== 'string') throw new Error(`${label}: createdAt must be a string`);
  if (typeof value.kestrelVersion !== 'string') throw new Error(`${label}: kestrelVersion must be a string`);
  return value as unknown as ModelManifest;
}
