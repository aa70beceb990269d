/** A finished run's directory: its model bundle, its metrics.json and the dataset it was trained on, reopened. */
import { resolve } from 'node:path';
import { type RunMetrics, readRunMetrics } from '../dashboard/index.js';
import type { Module } from '../nn/index.js';
import { type ModelManifest, loadModel } from '../io/index.js';
import { type OpenedDataset, openDataset } from './dataset-arg.js';

export { type RunInfo, type RunMetrics, readRunMetrics } from '../dashboard/index.js';

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
