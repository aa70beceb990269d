/** Loading a WeightSource into a model by name, strictly or leniently, with a report of what fitted. */
import type { Module } from '../nn/index.js';
import { noGrad, tidy } from '../tensor/index.js';
import { detectArchitecture } from './detect-architecture.js';
import { type RemapOptions, type WeightSource, remapWeights } from './weight-source.js';

/** Options of {@link loadWeightsFrom}. */
export interface LoadWeightsOptions {
  /** Missing or unexpected names are an error (default true); nothing is loaded then. */
  strict?: boolean;
  /** Leave out tensors whose shape differs from the model's (default: true when not strict). */
  skipMismatched?: boolean;
  /** Renames the source's tensors first (timm/HF names to Kestrel's, prefixes). */
  remap?: RemapOptions;
  /** The model's architecture name, for messages (e.g. 'resnet18'). */
  architecture?: string;
}

/** A tensor whose shape differs between the model and the source. */
export interface ShapeMismatch {
  /** Parameter or buffer name. */
  name: string;
  /** Shape in the model. */
  expected: number[];
  /** Shape in the source. */
  got: number[];
}

/** What {@link loadWeightsFrom} did. */
export interface LoadReport {
  /** Names copied into the model. */
  loaded: string[];
  /** Model names the source lacks (they keep their values). */
  missing: string[];
  /** Source names the model lacks (ignored). */
  unexpected: string[];
  /** Names whose shapes differ (not loaded). */
  mismatched: ShapeMismatch[];
}

/** `a, b, c` of at most `limit` items, then "and N more". */
export function clipList(items: readonly string[], limit = 10): string {
  const shown = items.slice(0, limit).join(', ');
  return items.length > limit ? `${shown}, and ${items.length - limit} more` : shown;
}

const shapeText = (shape: number[]): string => `[${shape.join(', ')}]`;

/** Compares names and shapes only (nothing is read). */
export function compareWeights(model: Module, source: WeightSource): LoadReport {
  const own = model.stateDict();
  const keys = source.keys();
  const present = new Set(keys);
  const mismatched: ShapeMismatch[] = [];
  const loaded: string[] = [];
  for (const [name, target] of own) {
    if (!present.has(name)) continue;
    const got = source.shape(name);
    if (got.join(',') === target.shape.join(',')) loaded.push(name);
    else mismatched.push({ name, expected: target.shape, got });
  }
  return { loaded, missing: [...own.keys()].filter((k) => !present.has(k)), unexpected: keys.filter((k) => !own.has(k)), mismatched };
}

function failure(model: Module, source: WeightSource, report: LoadReport, options: LoadWeightsOptions, strict: boolean, skipMismatched: boolean): Error {
  const target = options.architecture ? `${options.architecture} (${model.constructor.name})` : model.constructor.name;
  const counts: string[] = [];
  const lines: string[] = [];
  if (strict && report.missing.length > 0) {
    counts.push(`${report.missing.length} missing`);
    lines.push(`missing in the file (${report.missing.length}): ${clipList(report.missing)}`);
  }
  if (strict && report.unexpected.length > 0) {
    counts.push(`${report.unexpected.length} unexpected`);
    lines.push(`not in the model (${report.unexpected.length}): ${clipList(report.unexpected)}`);
  }
  if (!skipMismatched && report.mismatched.length > 0) {
    counts.push(`${report.mismatched.length} of another shape`);
    const shown = report.mismatched.map((m) => `${m.name} (model ${shapeText(m.expected)}, file ${shapeText(m.got)})`);
    lines.push(`shape mismatch (${report.mismatched.length}): ${clipList(shown, 5)}`);
  }
  const detected = detectArchitecture(source);
  if (detected !== undefined && detected.name !== options.architecture) lines.push(`the file looks like ${detected.description} with ${detected.numClasses} classes`);
  if (report.mismatched.length > 0 && !skipMismatched) lines.push('to fine-tune with a new head, load with { strict: false } (tensors of other shapes are then skipped)');
  return new Error(`cannot load ${source.label} into ${target}: ${counts.join(', ')}\n  ${lines.join('\n  ')}`);
}

/**
 * Copies a source's tensors into a model's parameters and buffers by name (dtype converted) and
 * reports what fitted. Strict (default): any missing, unexpected or differently shaped name is
 * one error listing them (and which architecture the file looks like); nothing is loaded.
 * Lenient (`strict: false`): loads what fits, e.g. an ImageNet body into a model with a new head.
 */
export function loadWeightsFrom(model: Module, source: WeightSource, options: LoadWeightsOptions = {}): LoadReport {
  const strict = options.strict ?? true;
  const skipMismatched = options.skipMismatched ?? !strict;
  const renamed = options.remap ? remapWeights(source, options.remap) : source;
  const report = compareWeights(model, renamed);
  const blocked = (strict && (report.missing.length > 0 || report.unexpected.length > 0)) || (!skipMismatched && report.mismatched.length > 0);
  if (blocked) throw failure(model, renamed, report, options, strict, skipMismatched);
  const own = model.stateDict();
  noGrad(() => {
    for (const name of report.loaded) {
      tidy(() => {
        const value = renamed.get(name);
        try {
          own.get(name)!.copy_(value);
        } finally {
          value.dispose();
        }
      });
    }
  });
  return report;
}
