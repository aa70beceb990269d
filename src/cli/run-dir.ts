/** A finished run's directory: its model bundle, its metrics.json and the dataset it was trained on, reopened. */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Module } from '../nn/index.js';
import { type ModelManifest, loadModel } from '../io/index.js';
import { type OpenedDataset, openDataset } from './dataset-arg.js';

/** What `kestrel train` records about itself in metrics.json (`run`). */
export interface RunInfo {
  /** The command line as typed (kestrel train ...). */
  command: string;
  argv: string[];
  /** Every option's value after defaults. */
  settings: Record<string, string | number | boolean | null>;
  /** The dataset argument. */
  dataset: string;
  /** What the dataset was (name and sizes). */
  description?: string;
  kestrelVersion?: string;
  startedAt?: string;
  finishedAt?: string;
}

/** metrics.json as `kestrel train` writes it (fields read loosely: older runs lack some). */
export interface RunMetrics {
  epochs: { epoch: number; trainLoss: number; validLoss: number; accuracy: number; seconds: number; samplesPerSecond: number; lr: number }[];
  schedule?: { name: string; lrMax: number; lrs: number[]; moms: number[]; losses?: number[] };
  perClass?: Record<string, { accuracy: number; precision: number; recall: number; f1: number }>;
  confusionMatrix?: { classes: string[]; counts: number[][] };
  run?: RunInfo;
  stopped?: { epoch: number; batch: number; reason: string };
}

/** Reads DIR/metrics.json, or null when there is none; a broken file is an error naming it. */
export function readRunMetrics(dir: string): RunMetrics | null {
  const path = join(dir, 'metrics.json');
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`'${path}' is not valid JSON (${(error as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || !Array.isArray((raw as RunMetrics).epochs)) throw new Error(`'${path}' is not a Kestrel metrics file (no epochs list)`);
  return raw as RunMetrics;
}

/** A run reopened: model (eval mode), manifest, metrics and its validation data. */
export interface OpenedRun {
  dir: string;
  model: Module;
  manifest: ModelManifest;
  metrics: RunMetrics | null;
  data: OpenedDataset;
  datasetName: string;
  /** Frees the model and stops the loaders. */
  close(): Promise<void>;
}

/**
 * Loads DIR's model bundle and opens `dataset` (default: the one the run recorded, else 'sample') with the
 * bundle's normalisation and input size; checks that shapes and classes agree.
 */
export async function openRun(dirArg: string, dataset?: string, options: { batchSize?: number } = {}): Promise<OpenedRun> {
  const dir = resolve(dirArg);
  const metrics = readRunMetrics(dir);
  const { model, manifest } = loadModel(dir);
  const datasetName = dataset ?? metrics?.run?.dataset ?? 'sample';
  let data: OpenedDataset;
  try {
    data = await openDataset(datasetName, { batchSize: options.batchSize ?? 256, seed: 0, size: manifest.inputShape[1], normalize: manifest.normalize ?? undefined });
  } catch (error) {
    model.dispose();
    throw error;
  }
  const close = async () => { await data.close(); model.dispose(); };
  const expected = manifest.inputShape.join('x');
  if (data.inputShape.join('x') !== expected) {
    await close();
    throw new Error(`${dir}: the model expects ${expected} inputs but ${data.description} has ${data.inputShape.join('x')}`);
  }
  if (data.classes.length !== manifest.classes.length) {
    await close();
    throw new Error(`${dir}: the model has ${manifest.classes.length} classes but ${data.description} has ${data.classes.length}`);
  }
  return { dir, model, manifest, metrics, data, datasetName, close };
}
